//! How values are stored, the same on both engines: instants as integer microseconds, and
//! one way to read a column whatever the engine's row type.

use augure_store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

use crate::err;

/// A column type both engines decode. As a supertrait bundle its bounds are implied
/// wherever it is named, which is what keeps decoders free of per-engine bounds.
pub trait Column:
    Sized + for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

/// A row of either engine, read by column name: what the decoders take.
pub trait Columns {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T>;
}

impl Columns for SqliteRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(err)
    }
}

impl Columns for PgRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(err)
    }
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn instant(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("instant {us}")))
}

/// Which uniqueness rule a backend's violation message or constraint name is about.
pub fn conflict_target(text: &str) -> &'static str {
    const TARGETS: [(&str, &str); 7] = [
        // The partial unique index on open consultations: PostgreSQL names it, SQLite
        // names its column (before "expert_code" and "email" could match anything).
        ("consultations_live_expert", "live_consultation"),
        ("consultations.expert_id", "live_consultation"),
        ("expert_code", "expert_code"),
        ("email", "email"),
        ("sites", "site_code"),
        ("unique_key", "job"),
        ("mail_outbox", "mail"),
    ];
    TARGETS.iter().find(|(needle, _)| text.contains(needle)).map_or("record", |(_, target)| target)
}
