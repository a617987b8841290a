//! Commission programs.

use crate::domain::*;
use crate::store::{Page, RepoResult};
use async_trait::async_trait;

/// Commission programs.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProgramRepo: Send + Sync {
    /// Stores a program; `NotFound(Merchant)` if its merchant does not exist.
    async fn create_program(&self, program: NewProgram) -> RepoResult<Program>;
    /// The program with this id.
    async fn program_by_id(&self, id: ProgramId) -> RepoResult<Program>;
    /// A merchant's programs, oldest first.
    async fn programs_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Program>>;
    /// Activates or deactivates a program.
    async fn set_program_active(&self, id: ProgramId, active: bool) -> RepoResult<Program>;
    /// Applies a patch and returns the program as it now is.
    async fn update_program(&self, id: ProgramId, patch: ProgramPatch) -> RepoResult<Program>;
    /// Active programs of active merchants, in id order, one page at a time.
    async fn open_programs(&self, page: Page<ProgramId>) -> RepoResult<Vec<Program>>;
}
