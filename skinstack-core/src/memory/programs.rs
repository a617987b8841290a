//! Commission programs.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;

#[async_trait]
impl ProgramRepo for MemoryStore {
    async fn create_program(&self, new: NewProgram) -> RepoResult<Program> {
        let mut state = self.lock();
        if !state.merchants.contains_key(&new.merchant_id) {
            return Err(RepoError::NotFound(Entity::Merchant));
        }
        let now = Utc::now();
        let program = Program {
            id: ProgramId::new(),
            merchant_id: new.merchant_id,
            currency: found(state.merchants.get(&new.merchant_id), Entity::Merchant)?.currency,
            name: new.name,
            network: new.network,
            commission: new.commission,
            cookie_window: new.cookie_window,
            platform_fee_rate: new.platform_fee_rate,
            enrollment_mode: new.enrollment_mode,
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        state.programs.insert(program.id, program.clone());
        Ok(program)
    }

    async fn program_by_id(&self, id: ProgramId) -> RepoResult<Program> {
        found(self.lock().programs.get(&id), Entity::Program)
    }

    async fn programs_by_merchant(&self, merchant: MerchantId) -> RepoResult<Vec<Program>> {
        let state = self.lock();
        let mine = state
            .programs
            .values()
            .filter(|p| p.merchant_id == merchant)
            .cloned()
            .collect();
        Ok(oldest_first(mine, |p: &Program| (p.created_at, p.id)))
    }

    async fn set_program_active(&self, id: ProgramId, active: bool) -> RepoResult<Program> {
        let mut state = self.lock();
        let program = state
            .programs
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        program.is_active = active;
        program.updated_at = Utc::now();
        Ok(program.clone())
    }

    async fn update_program(&self, id: ProgramId, patch: ProgramPatch) -> RepoResult<Program> {
        let mut state = self.lock();
        let program = state
            .programs
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Program))?;
        if let Some(v) = patch.name {
            program.name = v;
        }
        if let Some(v) = patch.network {
            program.network = v;
        }
        if let Some(v) = patch.commission {
            program.commission = v;
        }
        if let Some(v) = patch.cookie_window {
            program.cookie_window = v;
        }
        if let Some(v) = patch.enrollment_mode {
            program.enrollment_mode = v;
        }
        program.updated_at = Utc::now();
        Ok(program.clone())
    }

    async fn open_programs(&self, page: Page<ProgramId>) -> RepoResult<Vec<Program>> {
        let state = self.lock();
        let open = state.programs.values().filter(|p| {
            state
                .merchants
                .get(&p.merchant_id)
                .is_some_and(|m| p.is_open(m))
        });
        Ok(paged(open.cloned(), |p| p.id, page))
    }
}
