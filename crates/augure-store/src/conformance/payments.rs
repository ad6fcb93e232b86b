//! Prepaid credit: credit packs, purchases, refunds, provider events and idempotent stored responses.

use std::sync::Arc;

use augure_domain::{Currency, Money};
use chrono::Duration;

use super::{new_site, t0, user};
use crate::*;

async fn site_and_client(store: &dyn Store) -> (augure_domain::Site, User) {
    let site = store.create_site(&new_site("FR")).await.unwrap();
    let client = user(store, "client@example.fr").await;
    (site, client)
}

pub async fn credit_packs_are_listed_per_site_cheapest_first(store: Arc<dyn Store>) {
    let (site, _) = site_and_client(&*store).await;
    let other = store.create_site(&new_site("BE")).await.unwrap();
    let chf = |m| Money::new(m, Currency::Chf);
    let big = store.create_credit_pack(site.id, chf(5000), chf(800), t0()).await.unwrap();
    let small = store.create_credit_pack(site.id, chf(1000), chf(0), t0()).await.unwrap();
    store.create_credit_pack(other.id, chf(2000), chf(0), t0()).await.unwrap();
    let listed = store.credit_packs(site.id).await.unwrap();
    assert_eq!(listed, [small.clone(), big.clone()]);
    assert_eq!(store.credit_pack(big.id).await.unwrap().bonus, chf(800));
    assert!(matches!(store.credit_pack(9999).await, Err(StoreError::NotFound)));
    store.set_credit_pack_active(small.id, false).await.unwrap();
    assert_eq!(
        store.credit_packs(site.id).await.unwrap(),
        std::slice::from_ref(&big),
        "a withdrawn pack is not on sale"
    );
    assert_eq!(store.all_credit_packs().await.unwrap().len(), 3);
    assert!(!store.credit_pack(small.id).await.unwrap().active);
    assert!(matches!(store.set_credit_pack_active(9999, true).await, Err(StoreError::NotFound)));
}

pub async fn a_purchase_is_paid_once(store: Arc<dyn Store>) {
    let (site, client) = site_and_client(&*store).await;
    let pack = store
        .create_credit_pack(site.id, Money::new(2000, Currency::Chf), Money::new(200, Currency::Chf), t0())
        .await
        .unwrap();
    let p = store.create_purchase(client.id, &pack, t0()).await.unwrap();
    assert_eq!((p.status, p.price.minor, p.bonus.minor, p.refunded.minor), (PurchaseStatus::Pending, 2000, 200, 0));
    store.set_checkout_session(p.id, "cs_1").await.unwrap();
    assert!(matches!(store.set_checkout_session(p.id, "cs_2").await, Err(StoreError::Conflict(_))));
    assert!(store.mark_purchase_paid(p.id, "pi_1", t0()).await.unwrap());
    assert!(!store.mark_purchase_paid(p.id, "pi_2", t0()).await.unwrap());
    let paid = store.purchase(p.id).await.unwrap();
    assert_eq!(
        (paid.status, paid.payment_ref.as_deref(), paid.checkout_session.as_deref()),
        (PurchaseStatus::Paid, Some("pi_1"), Some("cs_1"))
    );
    assert_eq!(paid.paid_at, Some(t0()));
    assert_eq!(store.user_purchases(client.id, 10).await.unwrap(), std::slice::from_ref(&paid));
    assert_eq!(store.recent_purchases(10, 0).await.unwrap(), [paid]);
}

/// A purchase of a 20.00 CHF pack (its status does not matter to refunds' bookkeeping).
async fn purchase_of_20_chf(store: &dyn Store) -> Purchase {
    let (site, client) = site_and_client(store).await;
    let pack = store
        .create_credit_pack(site.id, Money::new(2000, Currency::Chf), Money::zero(Currency::Chf), t0())
        .await
        .unwrap();
    store.create_purchase(client.id, &pack, t0()).await.unwrap()
}

pub async fn refunds_and_provider_events_are_recorded_once(store: Arc<dyn Store>) {
    let p = purchase_of_20_chf(&*store).await;
    let reserve = |key: &'static str, amount| {
        let store = store.clone();
        async move { store.reserve_refund(p.id, key, amount, &|before| before / 100, t0()).await.unwrap() }
    };
    assert_eq!(reserve("r1", 1500).await, RefundReservation::Reserved);
    let r1 = Refund {
        purchase_id: p.id,
        key: "r1".into(),
        amount: 1500,
        bonus: 0,
        status: RefundStatus::Pending,
        created_at: t0(),
    };
    assert_eq!(reserve("r1", 1500).await, RefundReservation::Existing(r1.clone()), "a key reserves once");
    assert_eq!(reserve("r2", 600).await, RefundReservation::Exceeds { refundable: 500 }, "pending ones count");
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1500);
    assert!(store.finish_refund("r1", RefundStatus::Done).await.unwrap(), "the call that ends it says so");
    assert!(!store.finish_refund("r1", RefundStatus::Failed).await.unwrap(), "an ended refund stays as it is");
    assert_eq!(store.refund_by_key("r1").await.unwrap(), Some(Refund { status: RefundStatus::Done, ..r1.clone() }));
    // Withdrawn before any money moved, a reservation frees its amount; refused, too.
    assert_eq!(reserve("r3", 500).await, RefundReservation::Reserved);
    store.cancel_refund("r3").await.unwrap();
    assert_eq!(store.refund_by_key("r3").await.unwrap(), None);
    assert_eq!(reserve("r4", 500).await, RefundReservation::Reserved);
    store.finish_refund("r4", RefundStatus::Failed).await.unwrap();
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1500);
    assert_eq!(reserve("r5", 500).await, RefundReservation::Reserved);
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 2000);
    // Its bonus share is worked out from what was refunded before it, under the lock.
    let r5 = Refund { key: "r5".into(), amount: 500, bonus: 15, ..r1.clone() };
    assert_eq!(store.pending_refunds(10).await.unwrap(), [r5], "done, failed and withdrawn ones are not pending");
    assert!(store.record_payment_event("evt_1", "checkout.session.completed", t0()).await.unwrap());
    assert!(!store.record_payment_event("evt_1", "checkout.session.completed", t0()).await.unwrap());
}

pub async fn concurrent_refunds_never_exceed_the_price(store: Arc<dyn Store>) {
    let p = purchase_of_20_chf(&*store).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_refund(p.id, &format!("r{i}"), 300, &|_| 0, t0()).await.unwrap() })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        if task.await.unwrap() == RefundReservation::Reserved {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 6, "⌊2000 / 300⌋ refunds fit in the price");
    assert_eq!(store.purchase(p.id).await.unwrap().refunded.minor, 1800);
}

pub async fn an_idempotent_response_keeps_the_first_answer(store: Arc<dyn Store>) {
    let client = user(&*store, "client@example.fr").await;
    assert_eq!(store.stored_response(client.id, "k").await.unwrap(), None);
    let stale = t0() - Duration::minutes(1);
    assert_eq!(store.reserve_response(client.id, "k", "h1", t0(), stale).await.unwrap(), ResponseReservation::Reserved);
    assert_eq!(store.stored_response(client.id, "k").await.unwrap(), None, "reserved, not answered");
    let first = StoredResponse { request_hash: "h1".into(), status: 201, body: "{\"id\":1}".into() };
    store.complete_response(client.id, "k", &first).await.unwrap();
    let second = StoredResponse { request_hash: "h2".into(), status: 500, body: "x".into() };
    store.complete_response(client.id, "k", &second).await.unwrap();
    assert_eq!(store.stored_response(client.id, "k").await.unwrap(), Some(first.clone()));
    let again = store.reserve_response(client.id, "k", "h1", t0(), stale).await.unwrap();
    assert_eq!(again, ResponseReservation::Answered(first));
    let other = user(&*store, "other@example.fr").await;
    assert_eq!(store.stored_response(other.id, "k").await.unwrap(), None, "keys are per caller");
}

/// B12: of concurrent requests with one key, one acts; the others see it in flight. A
/// failed request frees its key, and one that died is taken over once stale.
pub async fn an_idempotency_key_is_reserved_by_one_request_at_a_time(store: Arc<dyn Store>) {
    let client = user(&*store, "client@example.fr").await;
    let stale = t0() - Duration::minutes(1);
    let mut racers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        racers
            .push(tokio::spawn(async move { store.reserve_response(client.id, "k", "h", t0(), stale).await.unwrap() }));
    }
    let mut reserved = 0;
    for racer in racers {
        match racer.await.unwrap() {
            ResponseReservation::Reserved => reserved += 1,
            other => assert_eq!(other, ResponseReservation::InFlight { request_hash: "h".into() }),
        }
    }
    assert_eq!(reserved, 1, "exactly one request acts");
    store.release_response(client.id, "k").await.unwrap();
    assert_eq!(store.reserve_response(client.id, "k", "h", t0(), stale).await.unwrap(), ResponseReservation::Reserved);
    let later = t0() + Duration::minutes(5);
    let taken = store.reserve_response(client.id, "k", "h", later, later - Duration::minutes(1)).await.unwrap();
    assert_eq!(taken, ResponseReservation::Reserved, "a reservation whose request died is taken over");
}

pub async fn delayed_payments_and_provider_incidents_are_recorded(store: Arc<dyn Store>) {
    let p = purchase_of_20_chf(&*store).await;
    store.mark_purchase_processing(p.id, t0()).await.unwrap();
    let processing = store.purchase(p.id).await.unwrap();
    assert_eq!((processing.status, processing.processing_at), (PurchaseStatus::Pending, Some(t0())));
    assert!(store.mark_purchase_failed(p.id).await.unwrap());
    assert!(!store.mark_purchase_failed(p.id).await.unwrap(), "failed once");
    let pack = store.credit_pack(p.pack_id).await.unwrap();
    let q = store.create_purchase(p.user_id, &pack, t0()).await.unwrap();
    assert!(store.mark_purchase_paid(q.id, "pi_2", t0()).await.unwrap());
    assert_eq!(store.purchase_by_payment_ref("pi_2").await.unwrap().map(|p| p.id), Some(q.id));
    assert_eq!(store.purchase_by_payment_ref("pi_none").await.unwrap(), None);
    let incident = PaymentIncident {
        id: 0,
        purchase_id: q.id,
        kind: IncidentKind::Dispute,
        provider_ref: "dispute:dp_1".into(),
        amount: 2000,
        taken: 500,
        debt: 1500,
        status: IncidentStatus::Open,
        created_at: t0(),
        closed_at: None,
    };
    assert!(store.record_incident(&incident).await.unwrap());
    assert!(!store.record_incident(&PaymentIncident { taken: 2000, debt: 0, ..incident.clone() }).await.unwrap());
    let stored = store.incident_by_ref("dispute:dp_1").await.unwrap().unwrap();
    assert_eq!((stored.taken, stored.debt, stored.status), (500, 1500, IncidentStatus::Open), "the first split stays");
    let later = t0() + Duration::days(30);
    assert!(store.close_incident("dispute:dp_1", IncidentStatus::Won, later).await.unwrap());
    assert!(!store.close_incident("dispute:dp_1", IncidentStatus::Lost, later).await.unwrap(), "closed once");
    let listed = store.recent_incidents(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].status, listed[0].closed_at), (IncidentStatus::Won, Some(later)));
    assert_eq!(listed[0].kind, IncidentKind::Dispute);
}

/// B11: provider event ids and idempotency records older than the cut-off go; newer ones
/// still deduplicate.
pub async fn old_payment_events_and_idempotency_records_are_purged(store: Arc<dyn Store>) {
    let client = user(&*store, "client@example.fr").await;
    let t1 = t0() + Duration::days(10);
    for id in ["evt_1", "evt_2", "evt_3"] {
        assert!(store.record_payment_event(id, "other", t0()).await.unwrap());
    }
    assert!(store.record_payment_event("evt_recent", "other", t1).await.unwrap());
    let answer = StoredResponse { request_hash: "h".into(), status: 201, body: "{}".into() };
    for key in ["k1", "k2", "k3"] {
        store.reserve_response(client.id, key, "h", t0(), t0() - Duration::minutes(1)).await.unwrap();
        store.complete_response(client.id, key, &answer).await.unwrap();
    }
    store.reserve_response(client.id, "in-flight", "h", t0(), t0() - Duration::minutes(1)).await.unwrap();
    store.reserve_response(client.id, "recent", "h", t1, t1 - Duration::minutes(1)).await.unwrap();
    store.complete_response(client.id, "recent", &answer).await.unwrap();

    let cut = t0() + Duration::days(5);
    assert_eq!(store.purge_payment_events(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_payment_events(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_payment_events(cut, 2).await.unwrap(), 0);
    assert!(!store.record_payment_event("evt_recent", "other", t1).await.unwrap(), "still deduplicated");
    assert!(store.record_payment_event("evt_1", "other", t1).await.unwrap(), "forgotten");

    assert_eq!(store.purge_responses(cut, 3).await.unwrap(), 3);
    assert_eq!(store.purge_responses(cut, 3).await.unwrap(), 1);
    assert_eq!(store.purge_responses(cut, 3).await.unwrap(), 0);
    assert_eq!(store.stored_response(client.id, "recent").await.unwrap(), Some(answer));
    assert_eq!(store.stored_response(client.id, "k1").await.unwrap(), None);
}
