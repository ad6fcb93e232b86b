//! The API's `Idempotency-Key`: the first answer given under a key is kept, and a retry
//! with the same key and request gets that answer again instead of acting twice.

use std::sync::Arc;

use augure_domain::{Clock, UserId};
use augure_store::{Store, StoreError, StoredResponse};

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was first used with another request: answering would mislead the caller.
    #[error("this idempotency key was used with another request")]
    Mismatch,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The answer first given to `user` under `key`, if any. `request_hash` identifies the
    /// request: the same key with another request is refused.
    pub async fn replay(
        &self,
        user: UserId,
        key: &str,
        request_hash: &str,
    ) -> Result<Option<StoredResponse>, IdempotencyError> {
        match self.store.stored_response(user, key).await? {
            Some(stored) if stored.request_hash != request_hash => Err(IdempotencyError::Mismatch),
            found => Ok(found),
        }
    }

    /// Keeps the answer given under `key`; a second one for the same key is ignored.
    pub async fn remember(&self, user: UserId, key: &str, response: &StoredResponse) -> Result<(), IdempotencyError> {
        Ok(self.store.store_response(user, key, response, self.clock.now()).await?)
    }
}
