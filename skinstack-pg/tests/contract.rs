//! The storage contract, run against PostgreSQL: every case in its own fresh, migrated
//! database.

fn test_cipher() -> skinstack_pg::Cipher {
    // A fixed test key (bytes 0..32); production keys come from SKINSTACK_SECRET_KEY.
    skinstack_pg::Cipher::from_key_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .expect("valid test key")
}

skinstack_core::contract_suite! {
    #[sqlx::test(migrator = "skinstack_pg::MIGRATOR")]
    fn setup(pool: sqlx::PgPool) -> skinstack_pg::PgStore {
        skinstack_pg::PgStore::new(pool, Some(test_cipher()))
    }
}
