//! The schema, as numbered migrations embedded in the binary. They are applied at start in
//! one transaction under an advisory lock, so that instances starting together apply each
//! exactly once, and they only ever add: an older instance keeps working on a database a
//! newer one has migrated, which is what a rolling deploy needs.

use super::{Result, StoreError};

/// (number, SQL), in order. Never edit one that has shipped; add the next.
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_catalogue.sql")),
    (2, include_str!("migrations/0002_check_schedule.sql")),
];

/// The transaction-scoped advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x7665_6976_0001;

/// Applies every migration the database lacks; returns how many it applied.
pub async fn apply(client: &mut tokio_postgres::Client) -> Result<usize> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if let Some(newest) = applied.iter().max() {
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if *newest > known {
            tracing::warn!(
                database = newest,
                binary = known,
                "the database has migrations this binary does not know; running on them"
            );
        }
    }
    let mut count = 0;
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::Backend(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        count += 1;
    }
    tx.commit().await?;
    if count > 0 {
        tracing::info!(applied = count, "database migrated");
    }
    Ok(count)
}
