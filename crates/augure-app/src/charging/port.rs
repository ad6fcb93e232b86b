//! What the engine needs of storage: consultations and their money, and a client's
//! credit. The real store provides it ([`StorePort`]); the simulation runs the engine on
//! an in-memory one built on the ledger's own rules ([`super::memory::MemoryPort`]).

use std::sync::Arc;

use async_trait::async_trait;
use augure_domain::ConsultationId;
use augure_domain::consultation::EndReason;
use augure_domain::ledger::{AccountId, TransferRequest};
use augure_store::{
    Checkpoint, Consultation, ConsultationWrite, GrantRecord, NewConsultation, SettlementRecord, Store, StoreResult,
};
use chrono::{DateTime, Utc};

#[async_trait]
pub trait ChargingPort: Send + Sync + 'static {
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation>;
    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation>;
    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite>;
    /// Many grants in one write, all or nothing (`false`).
    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite>;
    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>>;
    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>>;
    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// What the client can still spend from this credit account.
    async fn available_credit(&self, account: AccountId) -> StoreResult<i64>;
}

/// The engine on the real store.
pub struct StorePort(pub Arc<dyn Store>);

#[async_trait]
impl ChargingPort for StorePort {
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation> {
        self.0.create_consultation(new).await
    }

    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation> {
        self.0.consultation(id).await
    }

    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        self.0.grant_consultation(grant, requests, now).await
    }

    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.0.grant_consultations(grants, requests, now).await
    }

    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite> {
        self.0.settle_consultation(settlement, requests, now).await
    }

    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.0.checkpoint_consultations(node, checkpoints, lease_until, now).await
    }

    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.0.mark_consultation_lost(id, reason, at).await
    }

    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>> {
        self.0.node_consultations(node).await
    }

    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>> {
        self.0.lapsed_consultations(now, limit).await
    }

    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.0.take_over_consultation(id, node, lease_until, now).await
    }

    async fn available_credit(&self, account: AccountId) -> StoreResult<i64> {
        Ok(self.0.ledger_account_by_id(account).await?.0.balances.available())
    }
}
