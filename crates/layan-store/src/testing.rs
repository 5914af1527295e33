//! For tests: which database to run on. `LAYAN_TEST_DATABASE=postgres` selects PostgreSQL at
//! `LAYAN_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); each call gets a
//! fresh schema there, so tests run in parallel without seeing each other. Otherwise SQLite.

use std::{path::Path, str::FromStr, sync::OnceLock};

use sqlx::{Connection, PgConnection, postgres::PgConnectOptions};

use crate::{DatabaseConfig, PostgresOptions, SqliteOptions};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend chosen by `LAYAN_TEST_DATABASE`.
pub fn selected() -> Backend {
    match std::env::var("LAYAN_TEST_DATABASE").as_deref() {
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

pub fn postgres_url() -> String {
    std::env::var("LAYAN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A fresh database for one test: a file in `dir`, or a new PostgreSQL schema.
/// Returns `None` only for PostgreSQL when the server is unreachable and not under `CI=true`
/// (after printing why); under CI an unreachable server is a failure.
pub async fn fresh(backend: Backend, dir: &Path) -> Option<(DatabaseConfig, String)> {
    match backend {
        Backend::Sqlite => {
            let path = dir.join("layan.db");
            let url = format!("sqlite://{}", path.display());
            Some((DatabaseConfig::Sqlite(SqliteOptions::new(path)), url))
        }
        Backend::Postgres => {
            let url = fresh_postgres_schema().await?;
            let mut opts = PostgresOptions::new(url.clone());
            opts.max_connections = 4;
            Some((DatabaseConfig::Postgres(opts), url))
        }
    }
}

/// The configuration for a URL [`fresh`] handed out (to open the same database again).
pub fn config_for(url: &str) -> DatabaseConfig {
    match url.strip_prefix("sqlite://") {
        Some(path) => DatabaseConfig::Sqlite(SqliteOptions::new(std::path::PathBuf::from(path))),
        None => {
            let mut opts = PostgresOptions::new(url.to_owned());
            opts.max_connections = 4;
            DatabaseConfig::Postgres(opts)
        }
    }
}

async fn fresh_postgres_schema() -> Option<String> {
    let base = postgres_url();
    let mut conn = match PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("PostgreSQL is not reachable at {base}: {e}");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg} (CI must run the PostgreSQL tests)");
            }
            eprintln!("\n!!! SKIPPING a PostgreSQL test: {msg}\n");
            return None;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    sweep_old_schemas(&mut conn, now).await;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let schema = format!("lt_{now}_{}_{n}", std::process::id());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    let _ = conn.close().await;
    // Check the URL parses before handing it out.
    PgConnectOptions::from_str(&base).expect("valid LAYAN_TEST_POSTGRES_URL");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

/// Drops test schemas older than an hour (left by earlier runs), once per process.
async fn sweep_old_schemas(conn: &mut PgConnection, now: u64) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    if SWEPT.set(()).is_err() {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'lt\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let created: u64 = name
            .split('_')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(u64::MAX);
        if created.saturating_add(3600) < now {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&mut *conn)
                .await;
        }
    }
}
