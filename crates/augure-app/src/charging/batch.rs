//! Grants that fall due together, written in one transaction. Every grant writes the same
//! clearing account, so grants cannot overlap; one at a time, each paying its own commit,
//! a node running thousands of consultations spends its whole second committing and its
//! warnings and cuts come late. Batched, a wake-up's grants cost one commit.

use augure_domain::ConsultationId;
use augure_domain::charging::{Due, GrantPlan};
use augure_domain::ledger::{AccountId, TransferRequest};
use augure_store::GrantRecord;
use chrono::{DateTime, Utc};

use super::{Inner, Live};

/// Grants per transaction at most: a few hundred rows per statement.
const GRANTS_PER_BATCH: usize = 200;

struct Planned<'a> {
    live: &'a mut Live,
    plan: GrantPlan,
    record: GrantRecord,
    available: i64,
}

impl Inner {
    /// Writes in one transaction the grants due at `now` among `ids`. What it wrote is not
    /// due any more when [`Inner::run_one`] comes to it; if the batch was not written (a
    /// refusal, a stale row, a failing store), each grant is made alone there.
    pub(super) async fn grant_together(&self, ids: &[ConsultationId], now: DateTime<Utc>) {
        // The grants due, one per client: two planned from one balance could overspend it
        // together and have the whole batch refused.
        let mut due = Vec::new();
        let mut clients: Vec<AccountId> = Vec::new();
        for &id in ids {
            let Ok(slot) = self.slot(id) else { continue };
            let guard = slot.lock_owned().await;
            let Some(live) = guard.as_ref() else { continue };
            let session = &live.session;
            let grant_due = matches!(session.next_due(&self.policy), Some((at, Due::Grant)) if at <= now);
            if grant_due && !clients.contains(&session.accounts.client_credit) {
                clients.push(session.accounts.client_credit);
                due.push(guard);
            }
        }
        // Alone, a grant is written by `run_one` as it always is, reading the credit once.
        if due.len() < 2 {
            return;
        }
        for chunk in due.chunks_mut(GRANTS_PER_BATCH) {
            let mut batch = Vec::with_capacity(chunk.len());
            for guard in chunk.iter_mut() {
                let Some(live) = guard.as_mut() else { continue };
                let session = &live.session;
                let Ok(available) = self.port.available_credit(session.accounts.client_credit).await else { continue };
                let Ok((plan, record)) = self.plan_grant(session, available, now) else { continue };
                batch.push(Planned { live, plan, record, available });
            }
            self.write_batch(batch, now).await;
        }
    }

    async fn write_batch(&self, batch: Vec<Planned<'_>>, now: DateTime<Utc>) {
        if batch.len() < 2 {
            return;
        }
        let records: Vec<GrantRecord> = batch.iter().map(|p| p.record.clone()).collect();
        let requests: Vec<TransferRequest> = batch.iter().flat_map(|p| p.plan.requests.iter().cloned()).collect();
        match self.port.grant_consultations(&records, &requests, now).await {
            Ok(true) => {
                for planned in batch {
                    let session = &mut planned.live.session;
                    if let Err(e) = self.granted(session, &planned.plan, planned.available, now) {
                        tracing::error!(consultation = %session.id, error = %e, "batched grant not applied");
                    }
                }
            }
            Ok(false) => tracing::debug!(grants = batch.len(), "grants written one by one"),
            Err(e) => tracing::warn!(grants = batch.len(), error = %e, "batched grants failed; one by one"),
        }
    }
}
