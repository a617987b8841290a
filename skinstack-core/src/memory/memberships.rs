//! Program memberships and invitations.

// The store's state, helpers and imports are shared by every file of the store.
use super::*;
use chrono::DateTime;

/// Memberships by id with the (program, influencer) index that makes them unique, and
/// invitations with the hash of their token.
#[derive(Default)]
pub(super) struct Enrollments {
    memberships: HashMap<MembershipId, Membership>,
    by_pair: HashMap<(ProgramId, InfluencerId), MembershipId>,
    invitations: HashMap<InvitationId, Invitation>,
    invitation_tokens: HashMap<TokenHash, InvitationId>,
}

impl Enrollments {
    /// `ON DELETE CASCADE` from programs.
    pub(super) fn remove_programs(&mut self, programs: &[ProgramId]) {
        self.memberships
            .retain(|_, m| !programs.contains(&m.program_id));
        self.by_pair.retain(|(p, _), _| !programs.contains(p));
        self.invitations
            .retain(|_, i| !programs.contains(&i.program_id));
        let invitations = &self.invitations;
        self.invitation_tokens
            .retain(|_, id| invitations.contains_key(id));
    }

    /// `ON DELETE CASCADE` from influencers.
    pub(super) fn remove_influencer(&mut self, influencer: InfluencerId) {
        self.memberships
            .retain(|_, m| m.influencer_id != influencer);
        self.by_pair.retain(|(_, i), _| *i != influencer);
    }

    /// The state of the influencer's membership of the program, for the resolver.
    pub(super) fn state_of(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
    ) -> Option<MembershipState> {
        self.by_pair
            .get(&(program, influencer))
            .and_then(|id| self.memberships.get(id))
            .map(|m| m.state)
    }
}

#[async_trait]
impl MembershipRepo for MemoryStore {
    async fn insert_membership(&self, new: NewMembership) -> RepoResult<Membership> {
        let mut state = self.lock();
        if !state.programs.contains_key(&new.program_id) {
            return Err(RepoError::NotFound(Entity::Program));
        }
        if !state.influencers.contains_key(&new.influencer_id) {
            return Err(RepoError::NotFound(Entity::Influencer));
        }
        let key = (new.program_id, new.influencer_id);
        if state.memberships.by_pair.contains_key(&key) {
            return Err(RepoError::MembershipExists);
        }
        let now = Utc::now();
        let membership = Membership {
            id: MembershipId::new(),
            program_id: new.program_id,
            influencer_id: new.influencer_id,
            state: new.state,
            message: new.message,
            created_at: now,
            updated_at: now,
        };
        state.memberships.by_pair.insert(key, membership.id);
        state
            .memberships
            .memberships
            .insert(membership.id, membership.clone());
        Ok(membership)
    }

    async fn membership_of(
        &self,
        program: ProgramId,
        influencer: InfluencerId,
    ) -> RepoResult<Option<Membership>> {
        let state = self.lock();
        let e = &state.memberships;
        Ok(e.by_pair
            .get(&(program, influencer))
            .and_then(|id| e.memberships.get(id))
            .cloned())
    }

    async fn set_membership_state(
        &self,
        id: MembershipId,
        from: MembershipState,
        to: MembershipState,
    ) -> RepoResult<Option<Membership>> {
        let mut state = self.lock();
        let membership = state
            .memberships
            .memberships
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Membership))?;
        if membership.state != from {
            return Ok(None);
        }
        membership.state = to;
        membership.updated_at = Utc::now();
        Ok(Some(membership.clone()))
    }

    async fn delete_membership(&self, id: MembershipId, from: MembershipState) -> RepoResult<bool> {
        let mut state = self.lock();
        let e = &mut state.memberships;
        match e.memberships.get(&id) {
            Some(m) if m.state == from => {
                e.by_pair.remove(&(m.program_id, m.influencer_id));
                e.memberships.remove(&id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn memberships_of_influencer(
        &self,
        influencer: InfluencerId,
    ) -> RepoResult<Vec<Membership>> {
        let state = self.lock();
        let mine = state
            .memberships
            .memberships
            .values()
            .filter(|m| m.influencer_id == influencer)
            .cloned()
            .collect();
        Ok(oldest_first(mine, |m: &Membership| m.id))
    }

    async fn members_of_program(
        &self,
        program: ProgramId,
        wanted: Option<MembershipState>,
        page: Page<MembershipId>,
    ) -> RepoResult<Vec<MemberStats>> {
        let state = self.lock();
        let members = state
            .memberships
            .memberships
            .values()
            .filter(|m| m.program_id == program && wanted.is_none_or(|s| m.state == s));
        let members = paged(members.cloned(), |m| m.id, page);
        Ok(members
            .into_iter()
            .map(|membership| {
                let links = state.links.values().filter(|l| {
                    l.program_id == membership.program_id
                        && l.influencer_id == membership.influencer_id
                });
                let (mut clicks, mut conversions, mut earnings) = (0, 0, Decimal::ZERO);
                for link in links {
                    clicks += link.total_clicks;
                    conversions += link.total_conversions;
                    earnings += link.total_commission;
                }
                MemberStats {
                    membership,
                    clicks,
                    conversions,
                    earnings,
                }
            })
            .collect())
    }

    async fn insert_invitation(&self, new: NewInvitation) -> RepoResult<Invitation> {
        let mut state = self.lock();
        if !state.programs.contains_key(&new.program_id) {
            return Err(RepoError::NotFound(Entity::Program));
        }
        let invitation = Invitation {
            id: InvitationId::new(),
            program_id: new.program_id,
            email: new.email,
            expires_at: new.expires_at,
            accepted_at: None,
            created_at: Utc::now(),
        };
        let e = &mut state.memberships;
        e.invitation_tokens.insert(new.token_hash, invitation.id);
        e.invitations.insert(invitation.id, invitation.clone());
        Ok(invitation)
    }

    async fn invitation_by_token(&self, hash: &TokenHash) -> RepoResult<Invitation> {
        let state = self.lock();
        let e = &state.memberships;
        found(
            e.invitation_tokens
                .get(hash)
                .and_then(|id| e.invitations.get(id)),
            Entity::Invitation,
        )
    }

    async fn accept_invitation(&self, id: InvitationId, now: DateTime<Utc>) -> RepoResult<bool> {
        let mut state = self.lock();
        let invitation = state
            .memberships
            .invitations
            .get_mut(&id)
            .ok_or(RepoError::NotFound(Entity::Invitation))?;
        if !invitation.is_open_at(now) {
            return Ok(false);
        }
        invitation.accepted_at = Some(now);
        Ok(true)
    }
}
