//! B11: what only serves for a while is deleted on schedule (`[retention]`), on the
//! injected clock: finished jobs, outbox mail, provider event ids, idempotency records.

use augure_domain::Clock;
use augure_store::StoredResponse;
use augure_testkit::TestApp;
use chrono::Duration;

use crate::accounts_api::api_signup;

#[tokio::test]
async fn the_purge_deletes_what_is_past_its_retention_and_keeps_the_rest() {
    let app = TestApp::spawn_with(|s| {
        s.retention.finished_jobs_days = 7;
        s.retention.outbox_days = 7;
        // Below the providers' retry window: taken as 4 days.
        s.retention.payment_events_days = 1;
        s.retention.idempotency_days = 1;
    })
    .await;
    let store = &app.store;
    let answer = StoredResponse { request_hash: "h".into(), status: 201, body: "{}".into() };
    let old = api_signup(&app, "old@example.fr", "client").await;
    let old_id = augure_domain::UserId(old["user"]["id"].as_i64().unwrap());
    app.drain_jobs().await;
    let t0 = app.clock.now();
    assert!(store.record_payment_event("evt_old", "other", t0).await.unwrap());
    store.reserve_response(old_id, "k-old", "h", t0, t0).await.unwrap();
    store.complete_response(old_id, "k-old", &answer).await.unwrap();

    // Three days on: events and answers are within the retry window, so they stay.
    app.clock.advance(Duration::days(3));
    assert_eq!(app.app.jobs.retention().purge().await.unwrap().payment_events, 0);
    assert!(!store.record_payment_event("evt_old", "other", app.clock.now()).await.unwrap(), "still a duplicate");

    app.clock.advance(Duration::days(5));
    api_signup(&app, "new@example.fr", "client").await;
    app.drain_jobs().await;
    let now = app.clock.now();
    assert!(store.record_payment_event("evt_new", "other", now).await.unwrap());
    store.reserve_response(old_id, "k-new", "h", now, now).await.unwrap();
    store.complete_response(old_id, "k-new", &answer).await.unwrap();

    let report = app.app.jobs.retention().purge().await.unwrap();
    assert_eq!((report.jobs, report.mails, report.payment_events, report.idempotency), (1, 1, 1, 1));
    assert!(app.mails_to("old@example.fr").await.is_empty());
    assert_eq!(app.mails_to("new@example.fr").await.len(), 1);
    assert_eq!(store.list_jobs(None, 10).await.unwrap().len(), 1);
    assert!(!store.record_payment_event("evt_new", "other", now).await.unwrap());
    assert_eq!(store.stored_response(old_id, "k-old").await.unwrap(), None);
    assert_eq!(store.stored_response(old_id, "k-new").await.unwrap(), Some(answer));
}
