//! Accounts: registering, logging in and out, and turning a bearer token into an [`Actor`].

use super::{Actor, ServiceError, ServiceResult};
use crate::auth::{NewSession, Password, PasswordHasher, Session, SessionToken};
use crate::domain::{Email, NewUser, Role, User};
use crate::error::{Invalid, ValidationError};
use crate::store::{RepoError, SessionRepo, UserRepo};
use chrono::{DateTime, Duration, Utc};

/// How long a session lasts unless revoked.
pub const SESSION_TTL: Duration = Duration::days(30);

/// A sign-up request.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Login address.
    pub email: Email,
    /// Chosen password (already checked for length by [`Password::parse`]).
    pub password: Password,
    /// [`Role::Influencer`] or [`Role::Merchant`]: administrators are only created by
    /// [`create_admin`], from the server's command line.
    pub role: Role,
}

/// Creates an influencer or merchant account. `Forbidden` for an admin account, `Conflict`
/// if the email is taken.
pub async fn register<S>(
    store: &S,
    hasher: &dyn PasswordHasher,
    registration: Registration,
) -> ServiceResult<User>
where
    S: UserRepo + ?Sized,
{
    if registration.role == Role::Admin {
        return Err(ServiceError::Forbidden(
            "administrators can only be created from the command line",
        ));
    }
    create(store, hasher, registration).await
}

/// Creates an administrator. Only for trusted callers such as the server's `create-admin`
/// command: there is no actor to check.
pub async fn create_admin<S>(
    store: &S,
    hasher: &dyn PasswordHasher,
    email: Email,
    password: Password,
) -> ServiceResult<User>
where
    S: UserRepo + ?Sized,
{
    let registration = Registration {
        email,
        password,
        role: Role::Admin,
    };
    create(store, hasher, registration).await
}

async fn create<S>(
    store: &S,
    hasher: &dyn PasswordHasher,
    registration: Registration,
) -> ServiceResult<User>
where
    S: UserRepo + ?Sized,
{
    let password_hash = hasher
        .hash(registration.password)
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
    Ok(store
        .create_user(NewUser {
            email: registration.email,
            password_hash,
            role: registration.role,
        })
        .await?)
}

/// A successful login: the token to hand to the client (once), and what it opens.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The bearer token; only its hash is stored.
    pub token: SessionToken,
    /// The stored session.
    pub session: Session,
    /// The account.
    pub user: User,
}

/// Checks an email and password and opens a session valid for `ttl`. Every failure — an
/// email that is malformed or unknown, a wrong password, a deactivated account — costs one
/// password verification and answers the same [`ServiceError::Unauthenticated`]; except an
/// email longer than any account's can be ([`Email::MAX_LEN`] bytes), which is `Invalid`
/// (field `email`) at once, without hashing.
pub async fn login<S>(
    store: &S,
    hasher: &dyn PasswordHasher,
    email: &str,
    password: Password,
    now: DateTime<Utc>,
    ttl: Duration,
) -> ServiceResult<LoggedIn>
where
    S: UserRepo + SessionRepo + ?Sized,
{
    let user = match Email::parse(email) {
        Ok(email) => match store.user_by_email(&email).await {
            Ok(user) => Some(user),
            Err(RepoError::NotFound(_)) => None,
            Err(other) => return Err(other.into()),
        },
        Err(too_long @ Invalid::TooLong { .. }) => {
            return Err(ServiceError::Invalid(ValidationError::new(
                "email", too_long,
            )))
        }
        Err(_) => None,
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let matched = hasher.verify(password, hash).await;
    let user = match user {
        Some(user) if matched && user.is_active => user,
        _ => return Err(ServiceError::Unauthenticated),
    };
    let token = SessionToken::generate().map_err(|e| ServiceError::Internal(e.into()))?;
    let session = store
        .create_session(NewSession {
            token_hash: token.hash(),
            user_id: user.id,
            expires_at: now + ttl,
        })
        .await?;
    Ok(LoggedIn {
        token,
        session,
        user,
    })
}

/// The actor a bearer token stands for: `Unauthenticated` for a malformed, unknown, expired
/// or revoked token, and for a deactivated account (checked on every call, so deactivation
/// takes effect at once).
pub async fn authenticate<S>(store: &S, token: &str, now: DateTime<Utc>) -> ServiceResult<Actor>
where
    S: SessionRepo + ?Sized,
{
    let token = SessionToken::parse(token).map_err(|_| ServiceError::Unauthenticated)?;
    let (session, user) = match store.session_user(&token.hash()).await {
        Ok(found) => found,
        Err(RepoError::NotFound(_)) => return Err(ServiceError::Unauthenticated),
        Err(other) => return Err(other.into()),
    };
    if session.expires_at <= now {
        return Err(ServiceError::Unauthenticated);
    }
    Actor::new(user)
}

/// Revokes the session of `token`; `Unauthenticated` if there is none.
pub async fn logout<S>(store: &S, token: &str) -> ServiceResult<()>
where
    S: SessionRepo + ?Sized,
{
    let token = SessionToken::parse(token).map_err(|_| ServiceError::Unauthenticated)?;
    match store.delete_session(&token.hash()).await {
        Ok(()) => Ok(()),
        Err(RepoError::NotFound(_)) => Err(ServiceError::Unauthenticated),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Argon2Hasher;
    use crate::MemoryStore;

    fn hasher() -> Argon2Hasher {
        Argon2Hasher::with_cost(64, 1, 1).unwrap()
    }

    fn registration(role: Role) -> Registration {
        Registration {
            email: Email::parse("Ana@Example.com").unwrap(),
            password: Password::parse("correct horse battery").unwrap(),
            role,
        }
    }

    #[tokio::test]
    async fn admins_cannot_sign_up() {
        let store = MemoryStore::new();
        let err = register(&store, &hasher(), registration(Role::Admin))
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden(_)));
        let admin = create_admin(
            &store,
            &hasher(),
            Email::parse("root@example.com").unwrap(),
            Password::parse("correct horse battery").unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(admin.role, Role::Admin);
    }

    #[tokio::test]
    async fn a_login_opens_a_session_that_authenticates_until_logout() {
        let store = MemoryStore::new();
        let user = register(&store, &hasher(), registration(Role::Influencer))
            .await
            .unwrap();
        let now = Utc::now();
        let pw = Password::offered("correct horse battery");
        let session = login(&store, &hasher(), "ana@example.com", pw, now, SESSION_TTL)
            .await
            .unwrap();
        let token = session.token.expose();
        assert_eq!(
            authenticate(&store, token, now).await.unwrap().id(),
            user.id
        );
        assert!(matches!(
            authenticate(&store, token, now + SESSION_TTL).await,
            Err(ServiceError::Unauthenticated)
        ));
        logout(&store, token).await.unwrap();
        assert!(matches!(
            authenticate(&store, token, now).await,
            Err(ServiceError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn every_login_failure_is_the_same_error() {
        let store = MemoryStore::new();
        let user = register(&store, &hasher(), registration(Role::Merchant))
            .await
            .unwrap();
        let now = Utc::now();
        let attempt = |email: &'static str, pw: &'static str| {
            let store = store.clone();
            async move {
                login(
                    &store,
                    &hasher(),
                    email,
                    Password::offered(pw),
                    now,
                    SESSION_TTL,
                )
                .await
            }
        };
        for (email, pw) in [
            ("ana@example.com", "wrong password!"),
            ("nobody@example.com", "correct horse battery"),
            ("not an email", "correct horse battery"),
        ] {
            assert!(matches!(
                attempt(email, pw).await,
                Err(ServiceError::Unauthenticated)
            ));
        }
        store.set_user_active(user.id, false).await.unwrap();
        assert!(matches!(
            attempt("ana@example.com", "correct horse battery").await,
            Err(ServiceError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn deactivation_stops_existing_tokens_at_once() {
        let store = MemoryStore::new();
        let user = register(&store, &hasher(), registration(Role::Merchant))
            .await
            .unwrap();
        let now = Utc::now();
        let pw = Password::offered("correct horse battery");
        let session = login(&store, &hasher(), "ana@example.com", pw, now, SESSION_TTL)
            .await
            .unwrap();
        store.set_user_active(user.id, false).await.unwrap();
        assert!(matches!(
            authenticate(&store, session.token.expose(), now).await,
            Err(ServiceError::Unauthenticated)
        ));
    }

    /// A hasher that counts its work, to see what a request cost.
    #[derive(Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl PasswordHasher for Counting {
        async fn hash(&self, p: Password) -> Result<crate::PasswordHash, crate::auth::HashError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            hasher().hash(p).await
        }
        async fn verify(&self, p: Password, h: Option<crate::PasswordHash>) -> bool {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            hasher().verify(p, h).await
        }
    }

    #[tokio::test]
    async fn an_email_over_254_bytes_is_refused_at_login_without_hashing() {
        let store = MemoryStore::new();
        let counting = Counting::default();
        let long = format!("{}@example.com", "a".repeat(1 << 16));
        let pw = Password::offered("correct horse battery");
        match login(
            &store,
            &counting,
            &long,
            pw.clone(),
            Utc::now(),
            SESSION_TTL,
        )
        .await
        {
            Err(ServiceError::Invalid(err)) => assert_eq!(err.field, "email"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        // A merely malformed one still costs a verification, like an unknown account.
        let short = login(
            &store,
            &counting,
            "not an email",
            pw,
            Utc::now(),
            SESSION_TTL,
        )
        .await;
        assert!(matches!(short, Err(ServiceError::Unauthenticated)));
        assert_eq!(counting.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
