//! The job queue: idempotent enqueueing, claims and leases, retries, concurrent workers.

use std::sync::Arc;

use chrono::Duration;

use super::{job, t0};
use crate::*;

pub async fn enqueue_with_the_same_key_is_idempotent(store: Arc<dyn Store>) {
    let a = store.enqueue_job(&job("mail.deliver", Some("welcome:1"), t0())).await.unwrap();
    let b = store.enqueue_job(&job("mail.deliver", Some("welcome:1"), t0())).await.unwrap();
    assert_eq!(a, b);
    let c = store.enqueue_job(&job("mail.deliver", None, t0())).await.unwrap();
    let d = store.enqueue_job(&job("mail.deliver", None, t0())).await.unwrap();
    assert_ne!(c, d);
    assert_eq!(store.list_jobs(None, 10).await.unwrap().len(), 3);
}

pub async fn job_round_trips(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("mail.deliver", Some("k"), t0())).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.kind, "mail.deliver");
    assert_eq!(j.payload, serde_json::json!({"to": "a@b.fr", "n": 1}));
    assert_eq!(j.status, JobStatus::Queued);
    assert_eq!(j.attempts, 0);
    assert_eq!(j.run_at, t0());
}

pub async fn only_due_jobs_are_claimed(store: Arc<dyn Store>) {
    store.enqueue_job(&job("later", None, t0() + Duration::minutes(5))).await.unwrap();
    let now_id = store.enqueue_job(&job("now", None, t0())).await.unwrap();
    let lease = t0() + Duration::minutes(1);
    let claimed = store.claim_job(t0(), lease).await.unwrap().expect("a due job");
    assert_eq!(claimed.id, now_id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert!(store.claim_job(t0(), lease).await.unwrap().is_none());
    store.complete_job(now_id, t0()).await.unwrap();
    let later = store.claim_job(t0() + Duration::minutes(5), lease + Duration::minutes(5)).await.unwrap();
    assert_eq!(later.map(|j| j.kind), Some("later".into()));
}

pub async fn a_job_whose_lease_ran_out_is_claimed_again(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    let t1 = t0() + Duration::minutes(2);
    let again = store.claim_job(t1, t1 + Duration::minutes(1)).await.unwrap().expect("reclaimed");
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
}

pub async fn completed_job_is_done_and_not_claimed(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    store.complete_job(id, t0()).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.status, JobStatus::Done);
    assert_eq!(j.finished_at, Some(t0()));
    let t1 = t0() + Duration::hours(1);
    assert!(store.claim_job(t1, t1).await.unwrap().is_none());
    assert_eq!(store.list_jobs(Some(JobStatus::Done), 10).await.unwrap().len(), 1);
}

pub async fn failed_job_is_retried_at_the_given_time_or_given_up(store: Arc<dyn Store>) {
    let id = store.enqueue_job(&job("k", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap().unwrap();
    let retry = t0() + Duration::seconds(30);
    store.fail_job(id, "smtp down", Some(retry), t0()).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!((j.status, j.run_at, j.last_error.as_deref()), (JobStatus::Queued, retry, Some("smtp down")));
    assert!(store.claim_job(t0(), t0()).await.unwrap().is_none());
    store.claim_job(retry, retry + Duration::minutes(1)).await.unwrap().unwrap();
    store.fail_job(id, "still down", None, retry).await.unwrap();
    let j = store.job(id).await.unwrap();
    assert_eq!(j.status, JobStatus::Failed);
    assert_eq!(j.finished_at, Some(retry));
    assert_eq!(store.list_jobs(Some(JobStatus::Failed), 10).await.unwrap().len(), 1);
}

pub async fn concurrent_workers_never_share_a_job(store: Arc<dyn Store>) {
    const JOBS: usize = 40;
    for _ in 0..JOBS {
        store.enqueue_job(&job("k", None, t0())).await.unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = store.claim_job(t0(), t0() + Duration::minutes(1)).await.unwrap() {
                mine.push(j.id);
                store.complete_job(j.id, t0()).await.unwrap();
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, JOBS, "every job claimed");
    assert_eq!(all.len(), JOBS, "no job claimed twice");
}

/// B11: finished jobs older than the cut-off go, in batches; queued and running ones stay
/// whatever their age, and so do recent finished ones.
pub async fn old_finished_jobs_are_purged_in_batches(store: Arc<dyn Store>) {
    let lease = t0() + Duration::minutes(1);
    let mut finished = Vec::new();
    for _ in 0..3 {
        let id = store.enqueue_job(&job("old-done", None, t0())).await.unwrap();
        store.claim_job(t0(), lease).await.unwrap().unwrap();
        store.complete_job(id, t0()).await.unwrap();
        finished.push(id);
    }
    let given_up = store.enqueue_job(&job("old-failed", None, t0())).await.unwrap();
    store.claim_job(t0(), lease).await.unwrap().unwrap();
    store.fail_job(given_up, "550", None, t0()).await.unwrap();
    let retried = store.enqueue_job(&job("old-retried", None, t0())).await.unwrap();
    store.claim_job(t0(), lease).await.unwrap().unwrap();
    store.fail_job(retried, "421", Some(t0() + Duration::days(30)), t0()).await.unwrap();
    let running = store.enqueue_job(&job("old-running", None, t0())).await.unwrap();
    store.claim_job(t0(), t0() + Duration::days(30)).await.unwrap().unwrap();
    let queued = store.enqueue_job(&job("old-queued", None, t0() + Duration::days(30))).await.unwrap();
    let t1 = t0() + Duration::days(10);
    let recent = store.enqueue_job(&job("recent", None, t1)).await.unwrap();
    store.claim_job(t1, t1 + Duration::minutes(1)).await.unwrap().unwrap();
    store.complete_job(recent, t1).await.unwrap();

    let cut = t0() + Duration::days(5);
    assert_eq!(store.purge_finished_jobs(cut, 3).await.unwrap(), 3, "a batch is at most the limit");
    assert_eq!(store.purge_finished_jobs(cut, 3).await.unwrap(), 1);
    assert_eq!(store.purge_finished_jobs(cut, 3).await.unwrap(), 0);
    let mut left: Vec<_> = store.list_jobs(None, 100).await.unwrap().into_iter().map(|j| j.id).collect();
    left.sort();
    assert_eq!(left, [retried, running, queued, recent]);
    assert!(matches!(store.job(finished[0]).await, Err(StoreError::NotFound)));
    assert!(matches!(store.job(given_up).await, Err(StoreError::NotFound)));
}
