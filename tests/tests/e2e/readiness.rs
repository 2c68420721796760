//! `/readyz` names the part a node lacks, and recovers with it; `/healthz`
//! stays a plain liveness answer throughout.

use sqlx::Connection;
use wysiwys_proto::readiness::{Check, Readiness};
use wysiwys_tests::{Db, TestServer};

async fn readiness(server: &TestServer) -> (u16, Readiness) {
    let response = reqwest::get(format!("{}/readyz", server.origin)).await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    (status, response.json().await.unwrap())
}

async fn alive(server: &TestServer) -> bool {
    reqwest::get(format!("{}/healthz", server.origin)).await.is_ok_and(|r| r.status().is_success())
}

async fn admin(sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(&wysiwys_tests::postgres::admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_node_is_ready_on_sqlite_and_unready_without_its_hsm_token() {
    let mut server = TestServer::start(Db::Sqlite).await;
    assert_eq!(readiness(&server).await, (200, Readiness::of(Check::Ok, Check::Ok, Check::Ok)));
    // The token's files gone (a lost network HSM, an unmounted volume).
    let tokens = server.data_dir().join("softhsm-tokens");
    let moved = server.data_dir().join("softhsm-tokens.gone");
    std::fs::rename(&tokens, &moved).unwrap();
    let (status, gone) = readiness(&server).await;
    assert_eq!((status, gone.hsm, gone.database), (503, Check::Failed, Check::Ok), "{gone:?}");
    assert!(alive(&server).await, "liveness does not depend on the HSM");
    std::fs::rename(&moved, &tokens).unwrap();
    // SoftHSM2 forgets a token whose files vanished, even once they are
    // back: the module must be initialised again, which today takes a
    // restart (the node stays out of the load balancer until then).
    assert_eq!(readiness(&server).await.1.hsm, Check::Failed);
    server.restart();
    assert_eq!(readiness(&server).await, (200, Readiness::of(Check::Ok, Check::Ok, Check::Ok)));
}

#[tokio::test]
async fn a_node_is_unready_while_postgres_refuses_it_and_when_a_migration_is_missing() {
    let server = TestServer::start(Db::Postgres).await;
    let name = server.database_name().unwrap().to_owned();
    assert_eq!(readiness(&server).await, (200, Readiness::of(Check::Ok, Check::Ok, Check::Ok)));
    admin(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")).await;
    admin(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).await;
    let (status, down) = readiness(&server).await;
    assert_eq!(status, 503);
    assert_eq!((down.database, down.migrations, down.hsm), (Check::Failed, Check::NotChecked, Check::Ok), "{down:?}");
    assert!(alive(&server).await);
    admin(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")).await;
    assert_eq!(readiness(&server).await.0, 200, "the pool reconnects by itself");
    // A database a migration short of this build (restored from an old backup).
    let db_url = format!("{}/{name}", wysiwys_tests::postgres::admin_url().rsplit_once('/').unwrap().0);
    let mut conn = sqlx::AnyConnection::connect(&db_url).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(readiness(&server).await, (503, Readiness::of(Check::Ok, Check::Behind, Check::Ok)));
}
