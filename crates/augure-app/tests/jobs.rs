//! The job queue under the fake clock: retries with backoff, giving up, idempotent reruns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use augure_app::mail::{Mail, MailError, Mailer};
use augure_app::{JobRunner, Ledger, Settings};
use augure_domain::{Clock, FakeClock};
use augure_store::{JobStatus, NewJob, OutboxMail, Store};
use chrono::{DateTime, Duration, Utc};

/// Fails transiently `failures` times, then records mail like the outbox.
struct FlakyMailer {
    store: Arc<dyn Store>,
    failures: u32,
    calls: AtomicU32,
    permanent: bool,
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn deliver(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.permanent {
            return Err(MailError::Permanent("550 no such user".into()));
        }
        if call < self.failures {
            return Err(MailError::Transient("421 try later".into()));
        }
        self.store.record_mail(mail).await.map(|_| ()).map_err(|e| MailError::Transient(e.to_string()))
    }

    fn name(&self) -> &'static str {
        "flaky"
    }
}

struct Harness {
    store: Arc<dyn Store>,
    clock: FakeClock,
    mailer: Arc<FlakyMailer>,
    runner: JobRunner,
    _dir: tempfile::TempDir,
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

async fn harness(failures: u32, permanent: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(&url).await.unwrap());
    let clock = FakeClock::new(t0());
    let mailer = Arc::new(FlakyMailer { store: store.clone(), failures, calls: AtomicU32::new(0), permanent });
    let clock_port: Arc<dyn Clock> = Arc::new(clock.clone());
    let ledger = Ledger::new(store.clone(), clock_port.clone());
    let runner = JobRunner::new(store.clone(), clock_port, mailer.clone(), Arc::new(Settings::default()), ledger);
    Harness { store, clock, mailer, runner, _dir: dir }
}

fn mail() -> Mail {
    Mail {
        to: "marie@example.fr".into(),
        subject: "Bonjour".into(),
        text_body: "t".into(),
        html_body: "<p>t</p>".into(),
        notice: None,
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried_with_growing_delays() {
    let h = harness(2, false).await;
    mail().enqueue(&*h.store, None, h.clock.now()).await.unwrap();
    assert_eq!(h.runner.run_due().await.unwrap().retried, 1);
    // Not due again until the backoff has passed: 30 s, then 60 s.
    h.clock.advance(Duration::seconds(29));
    assert_eq!(h.runner.run_due().await.unwrap().retried, 0);
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.runner.run_due().await.unwrap().retried, 1);
    h.clock.advance(Duration::seconds(59));
    assert_eq!(h.runner.run_due().await.unwrap().done, 0);
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.runner.run_due().await.unwrap().done, 1);
    assert_eq!(h.mailer.calls.load(Ordering::SeqCst), 3);
    assert_eq!(h.store.mail_to("marie@example.fr").await.unwrap().len(), 1);
    let job = &h.store.list_jobs(None, 1).await.unwrap()[0];
    assert_eq!((job.status, job.attempts), (JobStatus::Done, 3));
}

#[tokio::test]
async fn a_job_is_given_up_after_its_last_attempt() {
    let h = harness(u32::MAX, false).await;
    mail().enqueue(&*h.store, None, h.clock.now()).await.unwrap();
    let mut given_up = 0;
    for _ in 0..20 {
        given_up += h.runner.run_due().await.unwrap().given_up;
        h.clock.advance(Duration::hours(1));
    }
    assert_eq!(given_up, 1);
    let attempts = Settings::default().jobs.retry.max_attempts;
    assert_eq!(h.mailer.calls.load(Ordering::SeqCst), attempts);
    let job = &h.store.list_jobs(None, 1).await.unwrap()[0];
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.last_error.as_deref(), Some("421 try later"));
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried() {
    let h = harness(0, true).await;
    mail().enqueue(&*h.store, None, h.clock.now()).await.unwrap();
    assert_eq!(h.runner.run_due().await.unwrap().given_up, 1);
    h.clock.advance(Duration::hours(2));
    h.runner.run_due().await.unwrap();
    assert_eq!(h.mailer.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_job_kind_is_given_up_without_blocking_the_queue() {
    let h = harness(0, false).await;
    let now = h.clock.now();
    h.store
        .enqueue_job(&NewJob {
            kind: "no.such.handler".into(),
            payload: serde_json::json!({}),
            unique_key: None,
            run_at: now,
            created_at: now,
        })
        .await
        .unwrap();
    mail().enqueue(&*h.store, None, now).await.unwrap();
    let report = h.runner.run_due().await.unwrap();
    assert_eq!((report.done, report.given_up), (1, 1));
}

#[tokio::test]
async fn a_job_rerun_after_a_crash_records_its_mail_once() {
    let h = harness(0, false).await;
    mail().enqueue(&*h.store, Some("welcome:7".into()), h.clock.now()).await.unwrap();
    // A worker claims the job, delivers, and dies before recording completion.
    let now = h.clock.now();
    let job = h.store.claim_job(now, now + Duration::minutes(5)).await.unwrap().unwrap();
    let payload: Mail = serde_json::from_value(job.payload.clone()).unwrap();
    h.mailer
        .deliver(&OutboxMail {
            key: format!("job-{}", job.id),
            to: payload.to,
            subject: payload.subject,
            text_body: payload.text_body,
            html_body: payload.html_body,
            created_at: now,
        })
        .await
        .unwrap();
    // After the lease, another worker runs it again.
    h.clock.advance(Duration::minutes(6));
    assert_eq!(h.runner.run_due().await.unwrap().done, 1);
    assert_eq!(h.store.mail_to("marie@example.fr").await.unwrap().len(), 1, "recorded once");
    // Queueing the same mail again with its key does nothing.
    mail().enqueue(&*h.store, Some("welcome:7".into()), h.clock.now()).await.unwrap();
    assert_eq!(h.runner.run_due().await.unwrap().done, 0);
}
