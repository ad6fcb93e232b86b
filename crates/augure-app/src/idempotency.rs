//! The API's `Idempotency-Key`: the first answer given under a key is kept, and a retry
//! with the same key and request gets that answer again instead of acting twice. The key
//! is reserved before the request acts, so two concurrent requests with one key never
//! both act.

use std::sync::Arc;

use augure_domain::{Clock, UserId};
use augure_store::{ResponseReservation, Store, StoreError, StoredResponse};
use chrono::Duration;

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was first used with another request: answering would mislead the caller.
    #[error("this idempotency key was used with another request")]
    Mismatch,
    /// A request with this key is still being answered: retry shortly.
    #[error("a request with this idempotency key is still in progress")]
    InFlight,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a request carrying a key should do.
#[derive(Debug)]
pub enum Begin {
    /// The key is reserved for it: act, then [`Idempotency::finish`] or
    /// [`Idempotency::abandon`].
    Proceed,
    /// Answer this, as the first request under the key was answered.
    Replay(StoredResponse),
}

#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// How long a reservation may stay unanswered before it is taken to have died.
    reservation: Duration,
}

impl Idempotency {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, reservation_seconds: u64) -> Self {
        let reservation = Duration::seconds(i64::try_from(reservation_seconds).unwrap_or(i64::MAX / 1_000_000));
        Self { store, clock, reservation }
    }

    /// Reserves `key` for `user`'s request (`request_hash` identifies it): the same key
    /// with another request is refused, and one still in flight is answered "retry".
    pub async fn begin(&self, user: UserId, key: &str, request_hash: &str) -> Result<Begin, IdempotencyError> {
        let now = self.clock.now();
        match self.store.reserve_response(user, key, request_hash, now, now - self.reservation).await? {
            ResponseReservation::Reserved => Ok(Begin::Proceed),
            ResponseReservation::InFlight { request_hash: first } if first != request_hash => {
                Err(IdempotencyError::Mismatch)
            }
            ResponseReservation::InFlight { .. } => Err(IdempotencyError::InFlight),
            ResponseReservation::Answered(stored) if stored.request_hash != request_hash => {
                Err(IdempotencyError::Mismatch)
            }
            ResponseReservation::Answered(stored) => Ok(Begin::Replay(stored)),
        }
    }

    /// Keeps the answer given under a reserved `key`.
    pub async fn finish(&self, user: UserId, key: &str, response: &StoredResponse) -> Result<(), IdempotencyError> {
        Ok(self.store.complete_response(user, key, response).await?)
    }

    /// Frees `key` after its request failed: nothing was done, so a retry may act.
    pub async fn abandon(&self, user: UserId, key: &str) -> Result<(), IdempotencyError> {
        Ok(self.store.release_response(user, key).await?)
    }
}
