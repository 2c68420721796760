//! A fresh PostgreSQL database per test server, dropped afterwards.

use sqlx::Connection;

/// Base URL of the PostgreSQL server used by the tests. It must be reachable:
/// a missing PostgreSQL fails the tests rather than skipping them.
pub fn admin_url() -> String {
    std::env::var("WYSIWYS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug)]
pub struct FreshDatabase {
    pub name: String,
    pub url: String,
}

impl FreshDatabase {
    pub async fn create() -> anyhow::Result<FreshDatabase> {
        sqlx::any::install_default_drivers();
        let admin = admin_url();
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .map_err(|e| anyhow::anyhow!("PostgreSQL at {admin} is required for these tests: {e}"))?;
        let mut suffix = [0u8; 8];
        getrandom_fill(&mut suffix);
        let name = format!("wysiwys_test_{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await?;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Ok(FreshDatabase { url: format!("{base}/{name}"), name })
    }

    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let mut conn = sqlx::AnyConnection::connect(&admin_url()).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

fn getrandom_fill(buf: &mut [u8]) {
    use sha2::{Digest, Sha256};
    // Uniqueness, not secrecy: time, process id and a counter suffice.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    #[allow(clippy::disallowed_methods)]
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let digest = Sha256::new()
        .chain_update(t.to_be_bytes())
        .chain_update(std::process::id().to_be_bytes())
        .chain_update(n.to_be_bytes())
        .finalize();
    buf.copy_from_slice(&digest[..buf.len()]);
}
