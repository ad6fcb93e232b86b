//! Grants that fall due together, written in one transaction. Every grant writes the same
//! clearing account, so grants cannot overlap; one at a time, each paying its own commit,
//! a node running thousands of consultations spends its whole second committing and its
//! warnings and cuts come late. Batched, a wake-up's grants cost one commit.

use augure_domain::ConsultationId;
use augure_domain::charging::{Due, GrantPlan};
use augure_domain::ledger::{AccountId, TransferRequest};
use augure_store::GrantRecord;
use chrono::{DateTime, Utc};
use tokio::sync::OwnedMutexGuard;

use super::{Inner, Live};

/// Grants per transaction at most: a few hundred rows per statement.
const GRANTS_PER_BATCH: usize = 200;

struct Planned {
    guard: OwnedMutexGuard<Option<Live>>,
    plan: GrantPlan,
    record: GrantRecord,
    available: i64,
}

impl Inner {
    /// Writes in one transaction the grants due at `now` among `ids`. What it wrote is not
    /// due any more when [`Inner::run_one`] comes to it; if the batch was not written (a
    /// refusal, a stale row, a failing store), each grant is made alone there.
    pub(super) async fn grant_together(&self, ids: &[ConsultationId], now: DateTime<Utc>) {
        let mut batch: Vec<Planned> = Vec::new();
        // One grant per client in a batch: two planned from one balance could overspend it
        // together and have the whole batch refused.
        let mut clients: Vec<AccountId> = Vec::new();
        for &id in ids {
            if batch.len() == GRANTS_PER_BATCH {
                self.write_batch(std::mem::take(&mut batch), now).await;
                clients.clear();
            }
            let Ok(slot) = self.slot(id) else { continue };
            let guard = slot.lock_owned().await;
            let Some(live) = guard.as_ref() else { continue };
            let session = &live.session;
            let due = matches!(session.next_due(&self.policy), Some((at, Due::Grant)) if at <= now);
            if !due || clients.contains(&session.accounts.client_credit) {
                continue;
            }
            let Ok(available) = self.port.available_credit(session.accounts.client_credit).await else { continue };
            let Ok((plan, record)) = self.plan_grant(session, available, now) else { continue };
            clients.push(session.accounts.client_credit);
            batch.push(Planned { guard, plan, record, available });
        }
        self.write_batch(batch, now).await;
    }

    async fn write_batch(&self, mut batch: Vec<Planned>, now: DateTime<Utc>) {
        // Alone, a grant is written by `run_one` as it always is.
        if batch.len() < 2 {
            return;
        }
        let records: Vec<GrantRecord> = batch.iter().map(|p| p.record.clone()).collect();
        let requests: Vec<TransferRequest> = batch.iter().flat_map(|p| p.plan.requests.iter().cloned()).collect();
        match self.port.grant_consultations(&records, &requests, now).await {
            Ok(true) => {
                for planned in &mut batch {
                    if let Some(live) = planned.guard.as_mut()
                        && let Err(e) = self.granted(&mut live.session, &planned.plan, planned.available, now)
                    {
                        tracing::error!(consultation = %live.session.id, error = %e, "batched grant not applied");
                    }
                }
            }
            Ok(false) => tracing::debug!(grants = batch.len(), "grants written one by one"),
            Err(e) => tracing::warn!(grants = batch.len(), error = %e, "batched grants failed; one by one"),
        }
    }
}
