use std::sync::Arc;

use async_trait::async_trait;
use augure_app::sms::{Sms, SmsError};
use augure_store::Store;

/// The local default: text messages are kept in the database and read on the admin's
/// outbox page. There is no production SMS adapter yet.
pub struct OutboxSmsSender {
    store: Arc<dyn Store>,
}

impl OutboxSmsSender {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Sms for OutboxSmsSender {
    async fn send(&self, sms: &augure_store::OutboxSms) -> Result<(), SmsError> {
        self.store.record_sms(sms).await.map(|_| ()).map_err(|e| SmsError::Transient(e.to_string()))
    }

    fn name(&self) -> &'static str {
        "outbox"
    }
}
