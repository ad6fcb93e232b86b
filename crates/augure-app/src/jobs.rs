//! The durable job queue's worker. Jobs live in the store; the worker claims due ones,
//! runs their handler and records the outcome: done, retried later with backoff, or given
//! up. Handlers are idempotent, since a job whose worker died is run again. Tests call
//! [`JobRunner::run_due`] under the fake clock instead of waiting for the loop.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use augure_domain::Clock;
use augure_store::{Job, OutboxMail, OutboxSms, Store, StoreResult};
use chrono::Duration;
use tokio::sync::watch;

use crate::accounts::{Accounts, RESET_MAIL_JOB};
use crate::credit::{CHECKOUT_EXPIRY_JOB, Credit, CreditError, PaymentError, REFUND_JOB, WEBHOOK_JOB};
use crate::ledger::Ledger;
use crate::mail::{DELIVER_JOB, Mail, MailError, Mailer};
use crate::notifications::Notifications;
use crate::planning::{BACK_ALERTS_JOB, Planning};
use crate::retention::Retention;
use crate::settings::Settings;
use crate::sms::{SMS_JOB, Sms, SmsError, TextMessage};

#[derive(Clone)]
pub struct JobRunner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    settings: Arc<Settings>,
    ledger: Ledger,
    /// Handles webhooks the test-mode checkout queued; absent in bare runners.
    credit: Option<Credit>,
    /// Sends "your expert is back" alerts; absent in bare runners.
    planning: Option<Planning>,
    /// Writes password-reset mails; absent in bare runners.
    accounts: Option<Accounts>,
    /// Sends text messages; absent in bare runners.
    sms: Option<Arc<dyn Sms>>,
    /// Where every mail and SMS handed to a port is listed for its recipient.
    notifications: Notifications,
    retention: Retention,
}

/// What one pass over the due jobs did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub done: usize,
    pub retried: usize,
    pub given_up: usize,
}

enum Failure {
    Retry(String),
    GiveUp(String),
}

impl JobRunner {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        settings: Arc<Settings>,
        ledger: Ledger,
    ) -> Self {
        let retention = Retention::new(
            store.clone(),
            clock.clone(),
            settings.retention.clone(),
            settings.consultations.chat.retention_days,
        );
        let notifications = Notifications::new(store.clone(), clock.clone());
        Self {
            store,
            clock,
            mailer,
            settings,
            ledger,
            credit: None,
            planning: None,
            accounts: None,
            sms: None,
            notifications,
            retention,
        }
    }

    pub fn with_sms(mut self, sms: Arc<dyn Sms>) -> Self {
        self.sms = Some(sms);
        self
    }

    pub fn with_credit(mut self, credit: Credit) -> Self {
        self.credit = Some(credit);
        self
    }

    pub fn with_planning(mut self, planning: Planning) -> Self {
        self.planning = Some(planning);
        self
    }

    pub fn with_accounts(mut self, accounts: Accounts) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// The purge the loop runs every `retention.purge_minutes`.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    pub fn mailer_name(&self) -> &'static str {
        self.mailer.name()
    }

    pub fn sms_name(&self) -> Option<&'static str> {
        self.sms.as_ref().map(|sms| sms.name())
    }

    /// Runs every job due now, until none is left.
    pub async fn run_due(&self) -> StoreResult<RunReport> {
        let mut report = RunReport::default();
        loop {
            let now = self.clock.now();
            let lease_until = now + Duration::seconds(self.settings.jobs.lease_seconds);
            let Some(job) = self.store.claim_job(now, lease_until).await? else {
                return Ok(report);
            };
            // A refund's credit is taken: its check is never given up, only spaced out.
            let policy =
                if job.kind == REFUND_JOB { &self.settings.payments.refund_retry } else { &self.settings.jobs.retry };
            let outcome = if job.attempts > policy.max_attempts {
                // A job that keeps killing its worker would otherwise run forever.
                Err(Failure::GiveUp("too many attempts".into()))
            } else {
                self.execute(&job).await
            };
            let now = self.clock.now();
            let label = match outcome {
                Ok(()) => {
                    self.store.complete_job(job.id, now).await?;
                    report.done += 1;
                    "done"
                }
                Err(Failure::Retry(error)) => match policy.delay_after(job.attempts) {
                    Some(delay) => {
                        tracing::warn!(job = %job.id, kind = job.kind, attempts = job.attempts, error, "job failed, will retry");
                        self.store.fail_job(job.id, &error, Some(now + delay), now).await?;
                        report.retried += 1;
                        "retried"
                    }
                    None => {
                        tracing::error!(job = %job.id, kind = job.kind, error, "job failed for the last time");
                        self.store.fail_job(job.id, &error, None, now).await?;
                        report.given_up += 1;
                        "given_up"
                    }
                },
                Err(Failure::GiveUp(error)) => {
                    tracing::error!(job = %job.id, kind = job.kind, error, "job cannot succeed, given up");
                    self.store.fail_job(job.id, &error, None, now).await?;
                    report.given_up += 1;
                    "given_up"
                }
            };
            metrics::counter!("augure_jobs_total", "kind" => job.kind.clone(), "outcome" => label).increment(1);
        }
    }

    /// Polls for due jobs until `shutdown` turns true; also releases holds whose time ran
    /// out and, every `retention.purge_minutes`, deletes what is past its retention.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let interval = StdDuration::from_millis(self.settings.jobs.poll_interval_ms.max(10));
        tokio::spawn(async move {
            let every = self.retention.every();
            let mut last_purge = self.clock.now() - every;
            loop {
                if let Err(e) = self.run_due().await {
                    tracing::error!(error = %e, "job queue unavailable");
                }
                match self.ledger.expire_holds().await {
                    Ok(n) if n > 0 => tracing::info!(holds = n, "expired holds released"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "hold expiry failed"),
                }
                let now = self.clock.now();
                if now - last_purge >= every {
                    last_purge = now;
                    match self.retention.purge().await {
                        Ok(report) => tracing::info!(?report, "old records purged"),
                        Err(e) => tracing::warn!(error = %e, "purge failed"),
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.changed() => return,
                }
                if *shutdown.borrow() {
                    return;
                }
            }
        })
    }

    async fn execute(&self, job: &Job) -> Result<(), Failure> {
        match job.kind.as_str() {
            DELIVER_JOB => {
                let mail: Mail = serde_json::from_value(job.payload.clone())
                    .map_err(|e| Failure::GiveUp(format!("bad payload: {e}")))?;
                self.deliver(job, mail).await
            }
            SMS_JOB => {
                let message: TextMessage = serde_json::from_value(job.payload.clone())
                    .map_err(|e| Failure::GiveUp(format!("bad payload: {e}")))?;
                self.send_sms(job, message).await
            }
            RESET_MAIL_JOB => {
                let accounts = self.accounts.as_ref().ok_or_else(|| Failure::GiveUp("no accounts here".into()))?;
                let request = serde_json::from_value(job.payload.clone())
                    .map_err(|e| Failure::GiveUp(format!("bad payload: {e}")))?;
                match accounts.reset_mail(&request).await {
                    Ok(Some(mail)) => self.deliver(job, mail).await,
                    Ok(None) => Ok(()),
                    Err(crate::AccountError::Store(e)) => Err(Failure::Retry(e.to_string())),
                    Err(e) => Err(Failure::GiveUp(e.to_string())),
                }
            }
            WEBHOOK_JOB => {
                let credit = self.credit.as_ref().ok_or_else(|| Failure::GiveUp("no payments here".into()))?;
                let body = job
                    .payload
                    .get("body")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| Failure::GiveUp("bad payload".into()))?;
                match credit.deliver_test_webhook(body).await {
                    Ok(_) => Ok(()),
                    // The database may come back: try again later, as a provider would.
                    Err(CreditError::Store(e)) => Err(Failure::Retry(e.to_string())),
                    Err(e) => Err(Failure::GiveUp(e.to_string())),
                }
            }
            CHECKOUT_EXPIRY_JOB => {
                let credit = self.credit.as_ref().ok_or_else(|| Failure::GiveUp("no payments here".into()))?;
                let id = job
                    .payload
                    .get("purchase")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| Failure::GiveUp("bad payload".into()))?;
                match credit.close_checkout(id).await {
                    Ok(_) | Err(CreditError::UnknownPurchase) => Ok(()),
                    Err(CreditError::Store(e)) => Err(Failure::Retry(e.to_string())),
                    Err(e) => Err(Failure::GiveUp(e.to_string())),
                }
            }
            REFUND_JOB => {
                let credit = self.credit.as_ref().ok_or_else(|| Failure::GiveUp("no payments here".into()))?;
                let key = job
                    .payload
                    .get("key")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| Failure::GiveUp("bad payload".into()))?;
                match credit.resume_refund(key).await {
                    Ok(()) => Ok(()),
                    // Still no answer, or the database is away: ask again later.
                    Err(CreditError::Payment(PaymentError::Unavailable(e))) => Err(Failure::Retry(e)),
                    Err(CreditError::Store(e)) => Err(Failure::Retry(e.to_string())),
                    // Refused: the credit was given back and the refund marked failed.
                    Err(e) => Err(Failure::GiveUp(e.to_string())),
                }
            }
            BACK_ALERTS_JOB => {
                let planning = self.planning.as_ref().ok_or_else(|| Failure::GiveUp("no alerts here".into()))?;
                let expert = job
                    .payload
                    .get("expert_id")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| Failure::GiveUp("bad payload".into()))?;
                match planning.send_back_alerts(augure_domain::UserId(expert)).await {
                    Ok(sent) => {
                        if sent > 0 {
                            tracing::info!(expert, sent, "expert-back alerts queued");
                        }
                        Ok(())
                    }
                    Err(e) => Err(Failure::Retry(e.to_string())),
                }
            }
            other => Err(Failure::GiveUp(format!("no handler for job kind {other:?}"))),
        }
    }

    async fn deliver(&self, job: &Job, mail: Mail) -> Result<(), Failure> {
        let outbox = OutboxMail {
            // One key per job: a rerun after a crash records the mail once.
            key: format!("job-{}", job.id),
            to: mail.to,
            subject: mail.subject,
            text_body: mail.text_body,
            html_body: mail.html_body,
            created_at: self.clock.now(),
        };
        // Listed before it goes: a failure to list retries before anything was sent (SMTP
        // would send twice otherwise), and a mail that bounces is still on the dashboard.
        self.notifications
            .record_mail(&outbox, mail.notice.as_ref())
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        self.mailer.deliver(&outbox).await.map_err(|e| match e {
            MailError::Transient(m) => Failure::Retry(m),
            MailError::Permanent(m) => Failure::GiveUp(m),
        })
    }

    async fn send_sms(&self, job: &Job, message: TextMessage) -> Result<(), Failure> {
        let sms = self.sms.as_ref().ok_or_else(|| Failure::GiveUp("no sms here".into()))?;
        // One key per job, as for mail: a rerun after a crash sends once.
        let outbox = OutboxSms {
            key: format!("job-{}", job.id),
            to: message.to,
            text: message.text,
            created_at: self.clock.now(),
        };
        self.notifications
            .record_sms(message.user_id, &outbox, message.link)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        sms.send(&outbox).await.map_err(|e| match e {
            SmsError::Transient(m) => Failure::Retry(m),
            SmsError::Permanent(m) => Failure::GiveUp(m),
        })
    }
}
