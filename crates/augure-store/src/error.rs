use std::error::Error as StdError;

/// What can go wrong in a store, in the domain's words. Backends map their constraint
/// violations to these; nothing here knows about HTTP.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the payload names what was duplicated.
    #[error("already exists: {0}")]
    Conflict(&'static str),
    #[error("this link has expired")]
    TokenExpired,
    #[error("this link has already been used")]
    TokenUsed,
    /// Stored data that no longer parses: a bug or a manual edit, never user input.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;
