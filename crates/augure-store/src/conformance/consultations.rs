//! Consultations: their frozen terms, one open consultation per expert, grants and
//! settlements written with their transfers (both or neither), checkpoints and leases.

use std::sync::Arc;

use augure_domain::consultation::{Channel, EndReason};
use augure_domain::ledger::{AccountId, AccountKind, LedgerError, TransferMode, TransferRequest};
use augure_domain::pricing::{Package, SitePrices};
use augure_domain::site::NewSite;
use augure_domain::tariff::{Plan, Rate};
use augure_domain::{ConsultationId, Currency, Money, Role, SiteId, UserId};
use chrono::{DateTime, Duration, Utc};

use super::{assert_sound, balances, new_site, new_user, t0, user, xfer};
use crate::*;

const NODE: &str = "node-a";

/// A site in euros, a funded client, the platform's accounts and one expert with their
/// earnings account.
struct Fixture {
    site: SiteId,
    client: UserId,
    expert: UserId,
    credit: AccountId,
    clearing: AccountId,
    earnings: AccountId,
    platform: AccountId,
}

async fn fixture(store: &dyn Store, credit: i64) -> Fixture {
    let site = store.create_site(&NewSite { currency: Currency::Eur, ..new_site("FR") }).await.unwrap();
    let client = user(store, "client@example.fr").await.id;
    let expert = expert(store, 0).await;
    let account = |owner, kind| store.ledger_account(owner, kind, Currency::Eur, t0());
    let provider = account(LedgerOwner::Platform, AccountKind::ProviderClearing).await.unwrap().id;
    let f = Fixture {
        site: site.id,
        client,
        expert,
        credit: account(LedgerOwner::User(client), AccountKind::ClientCredit).await.unwrap().id,
        clearing: account(LedgerOwner::Platform, AccountKind::ConsultationClearing).await.unwrap().id,
        earnings: account(LedgerOwner::User(expert), AccountKind::ExpertEarnings).await.unwrap().id,
        platform: account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await.unwrap().id,
    };
    if credit > 0 {
        let r = store.create_transfers(&[xfer("purchase:1", provider, f.credit, credit)], t0()).await.unwrap();
        r[0].as_ref().expect("funded");
    }
    f
}

/// `n` chat consultations of one client, each with an expert of its own: what the chat
/// suite writes its messages, reports and reviews about.
pub(crate) async fn chats(store: &dyn Store, n: usize) -> Vec<Consultation> {
    let f = fixture(store, 0).await;
    let mut opened = Vec::new();
    for i in 0..n {
        let call = f.call(expert(store, i + 1).await);
        let chat =
            NewConsultation { terms: ConsultationTerms { channel: Channel::Chat, ..call.terms.clone() }, ..call };
        opened.push(store.create_consultation(&chat).await.unwrap());
    }
    opened
}

async fn expert(store: &dyn Store, n: usize) -> UserId {
    store.create_user(&new_user(&format!("expert{n}@example.fr"), Role::Expert)).await.unwrap().id
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::Eur)
}

fn secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

/// 3 € a minute with `free_minutes` free, as the expert's own price.
fn per_minute(free_minutes: u32) -> SitePrices {
    SitePrices { per_minute: eur(300), package: None, free_minutes, email: Some(eur(2500)), imposed: false }
}

impl Fixture {
    fn terms(&self, plan: Plan, prices: SitePrices) -> ConsultationTerms {
        ConsultationTerms {
            site: self.site,
            channel: Channel::Phone,
            plan,
            prices,
            rate: Rate::from_basis_points(3000).unwrap(),
            accounts: ConsultationAccounts {
                client_credit: self.credit,
                clearing: self.clearing,
                expert_earnings: self.earnings,
                platform_revenue: self.platform,
            },
        }
    }

    /// A per-minute phone call with `expert`, ringing on [`NODE`] at t0 with a 30 s lease.
    fn call(&self, expert: UserId) -> NewConsultation {
        NewConsultation {
            client: self.client,
            expert,
            terms: self.terms(Plan::PerMinute { first_with_expert: true }, per_minute(5)),
            status: ConsultationStatus::Ringing,
            node: NODE.into(),
            lease_until: secs(30),
            at: t0(),
        }
    }
}

fn hold(key: &str, debit: AccountId, credit: AccountId, amount: i64) -> TransferRequest {
    TransferRequest { mode: TransferMode::Pending { expires_at: None }, ..xfer(key, debit, credit, amount) }
}

/// Posts `amount` of `held` (the rest goes back), linked to what follows it.
fn post(key: &str, held: &TransferRequest, amount: i64) -> TransferRequest {
    TransferRequest {
        key: key.into(),
        amount: Some(amount),
        mode: TransferMode::PostPending,
        pending_key: Some(held.key.clone()),
        linked: true,
        ..held.clone()
    }
}

fn linked(request: TransferRequest) -> TransferRequest {
    TransferRequest { linked: true, ..request }
}

/// Grant `seq` on [`NODE`], taken at t0 + `at` s with the lease a minute further.
fn grant(id: ConsultationId, seq: u32, posted: i64, held: i64, at: i64) -> GrantRecord {
    GrantRecord {
        id,
        node: NODE.into(),
        state: GrantState { seq, posted, held },
        billable_seconds: 0,
        started_at: Some(secs(5)),
        lease_until: secs(at + 60),
        at: secs(at),
    }
}

fn settlement(id: ConsultationId, seq: u32, charge: i64, commission: i64) -> SettlementRecord {
    SettlementRecord {
        id,
        node: NODE.into(),
        seq,
        billable_seconds: 90,
        started_at: Some(secs(5)),
        settled: Settled {
            reason: EndReason::ExpertLeft,
            ended_at: secs(100),
            charge,
            commission,
            earnings: charge - commission,
        },
    }
}

fn keys(write: &ConsultationWrite) -> Vec<&str> {
    match write {
        ConsultationWrite::Applied(transfers) => transfers.iter().map(|t| t.key.as_str()).collect(),
        other => panic!("not applied: {other:?}"),
    }
}

pub async fn a_consultation_round_trips_with_its_frozen_terms(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let call = f.call(f.expert);
    let created = store.create_consultation(&call).await.unwrap();
    assert_eq!(created, store.consultation(created.id).await.unwrap());
    assert_eq!((created.client, created.expert, &created.terms), (f.client, f.expert, &call.terms));
    assert_eq!(
        (created.status, created.node.as_str(), created.lease_until),
        (ConsultationStatus::Ringing, NODE, secs(30))
    );
    assert_eq!((created.opened_at, created.checkpoint_at, created.started_at), (t0(), t0(), None));
    assert_eq!((created.grant, created.billable_seconds, created.ended), (GrantState::default(), 0, None));

    let other = expert(&*store, 1).await;
    let prices = SitePrices {
        package: Some(Package { price: eur(4500), minutes: 30 }),
        email: None,
        imposed: true,
        ..per_minute(0)
    };
    let terms = ConsultationTerms { channel: Channel::Video, ..f.terms(Plan::Package, prices) };
    let package = NewConsultation { terms, status: ConsultationStatus::Live, ..f.call(other) };
    let created = store.create_consultation(&package).await.unwrap();
    let found = store.consultation(created.id).await.unwrap();
    assert_eq!((&found.terms, found.status), (&package.terms, ConsultationStatus::Live));
    assert_eq!(found, created);
    assert!(matches!(store.consultation(ConsultationId(created.id.0 + 100)).await, Err(StoreError::NotFound)));
}

pub async fn an_expert_has_at_most_one_open_consultation(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let first = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let chat = NewConsultation {
        terms: ConsultationTerms { channel: Channel::Chat, ..f.call(f.expert).terms },
        ..f.call(f.expert)
    };
    let again = store.create_consultation(&chat).await;
    assert!(matches!(again, Err(StoreError::Conflict("live_consultation"))), "{again:?}");
    let other = expert(&*store, 1).await;
    store.create_consultation(&f.call(other)).await.expect("another expert is free");

    assert!(store.mark_consultation_lost(first.id, EndReason::ClientLeft, secs(10)).await.unwrap());
    let second = store.create_consultation(&f.call(f.expert)).await.expect("free again once lost");
    let settled = store.settle_consultation(&settlement(second.id, 0, 0, 0), &[], secs(20)).await.unwrap();
    assert_eq!(settled, ConsultationWrite::Applied(Vec::new()));
    store.create_consultation(&f.call(f.expert)).await.expect("free again once settled");
}

pub async fn concurrent_starts_with_one_expert_open_one_consultation(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, call) = (store.clone(), f.call(f.expert));
            tokio::spawn(async move { store.create_consultation(&call).await })
        })
        .collect();
    let mut opened = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => opened += 1,
            Err(e) => assert!(matches!(e, StoreError::Conflict("live_consultation")), "{e:?}"),
        }
    }
    assert_eq!(opened, 1);
    assert_eq!(store.open_consultations(10).await.unwrap().len(), 1);
}

pub async fn a_grant_writes_its_hold_and_the_consultation_together(store: Arc<dyn Store>) {
    let f = fixture(&*store, 1000).await;
    let c = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let g1 = hold("c:grant:1", f.credit, f.clearing, 600);
    let written =
        store.grant_consultation(&grant(c.id, 1, 0, 600, 5), std::slice::from_ref(&g1), secs(5)).await.unwrap();
    assert_eq!(keys(&written), ["c:grant:1"]);
    let b = balances(&*store, f.credit).await;
    assert_eq!((b.debits_pending, b.available()), (600, 400));
    let live = store.consultation(c.id).await.unwrap();
    assert_eq!((live.status, live.grant), (ConsultationStatus::Live, GrantState { seq: 1, posted: 0, held: 600 }));
    assert_eq!((live.started_at, live.checkpoint_at, live.lease_until), (Some(secs(5)), secs(5), secs(65)));

    // The next grant posts what was used of the first hold and holds anew; the real start
    // stays the first one known.
    let g2 = hold("c:grant:2", f.credit, f.clearing, 500);
    let record = GrantRecord { billable_seconds: 60, started_at: Some(secs(9)), ..grant(c.id, 2, 300, 500, 65) };
    let written = store.grant_consultation(&record, &[post("c:post:1", &g1, 300), g2], secs(65)).await.unwrap();
    assert_eq!(keys(&written), ["c:post:1", "c:grant:2"]);
    let live = store.consultation(c.id).await.unwrap();
    assert_eq!((live.grant, live.billable_seconds), (GrantState { seq: 2, posted: 300, held: 500 }, 60));
    assert_eq!((live.started_at, live.checkpoint_at), (Some(secs(5)), secs(65)));
    let b = balances(&*store, f.credit).await;
    assert_eq!((b.debits_posted, b.debits_pending, b.available()), (300, 500, 200));
    assert_eq!(balances(&*store, f.clearing).await.credits_posted, 300);
    assert_sound(&*store).await;
}

pub async fn a_grant_the_ledger_refuses_writes_nothing(store: Arc<dyn Store>) {
    let f = fixture(&*store, 500).await;
    let c = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let too_much = hold("c:grant:1", f.credit, f.clearing, 600);
    let written = store.grant_consultation(&grant(c.id, 1, 0, 600, 5), &[too_much], secs(5)).await.unwrap();
    assert_eq!(written, ConsultationWrite::Refused(LedgerError::ExceedsCredits));
    assert_eq!(store.consultation(c.id).await.unwrap(), c, "the consultation did not move");
    assert_eq!(balances(&*store, f.credit).await.available(), 500);
    assert!(matches!(store.transfer_by_key("c:grant:1").await, Err(StoreError::NotFound)));

    // In a linked chain, the reason given is the transfer's own, not "a linked one failed".
    let g1 = hold("c:grant:1", f.credit, f.clearing, 300);
    store.grant_consultation(&grant(c.id, 1, 0, 300, 5), std::slice::from_ref(&g1), secs(5)).await.unwrap();
    let before = store.consultation(c.id).await.unwrap();
    let chain = [post("c:post:1", &g1, 200), hold("c:grant:2", f.credit, f.clearing, 400)];
    let written = store.grant_consultation(&grant(c.id, 2, 200, 400, 65), &chain, secs(65)).await.unwrap();
    assert_eq!(written, ConsultationWrite::Refused(LedgerError::ExceedsCredits));
    assert_eq!(store.consultation(c.id).await.unwrap(), before);
    let b = balances(&*store, f.credit).await;
    assert_eq!((b.debits_posted, b.debits_pending), (0, 300), "the first hold is still whole");
    assert!(matches!(store.transfer_by_key("c:post:1").await, Err(StoreError::NotFound)));
    assert_sound(&*store).await;
}

pub async fn grants_written_together_apply_all_or_none(store: Arc<dyn Store>) {
    let f = fixture(&*store, 1000).await;
    let mut opened = Vec::new();
    for n in 1..=3 {
        opened.push(store.create_consultation(&f.call(expert(&*store, n).await)).await.unwrap());
    }
    let holds: Vec<TransferRequest> =
        opened.iter().map(|c| hold(&format!("c{}:grant:1", c.id.0), f.credit, f.clearing, 200)).collect();
    let records: Vec<GrantRecord> = opened.iter().map(|c| grant(c.id, 1, 0, 200, 5)).collect();
    assert!(store.grant_consultations(&records, &holds, secs(5)).await.unwrap());
    for c in &opened {
        let live = store.consultation(c.id).await.unwrap();
        assert_eq!((live.status, live.grant), (ConsultationStatus::Live, GrantState { seq: 1, posted: 0, held: 200 }));
        assert_eq!((live.checkpoint_at, live.lease_until), (secs(5), secs(65)));
    }
    assert_eq!(balances(&*store, f.credit).await.available(), 400);
    let before: Vec<Consultation> = {
        let mut all = Vec::new();
        for c in &opened {
            all.push(store.consultation(c.id).await.unwrap());
        }
        all
    };
    let unchanged = |label: &'static str| {
        let (store, before) = (store.clone(), before.clone());
        async move {
            for c in &before {
                assert_eq!(&store.consultation(c.id).await.unwrap(), c, "{label}: consultation {} moved", c.id.0);
            }
            assert_eq!(balances(&*store, f.credit).await.available(), 400, "{label}: credit moved");
        }
    };

    // Each grant's next slice: 150 posted of its hold, 100 held anew.
    let next = |c: &Consultation, n: u32| {
        let held = hold(&format!("c{}:grant:1", c.id.0), f.credit, f.clearing, 200);
        vec![
            post(&format!("c{}:post:1", c.id.0), &held, 150),
            hold(&format!("c{}:grant:2", c.id.0), f.credit, f.clearing, 100 * i64::from(n)),
        ]
    };
    // One of them out of sequence: none is written.
    let mut records: Vec<GrantRecord> = opened.iter().map(|c| grant(c.id, 2, 150, 100, 65)).collect();
    records[1].state.seq = 3;
    let requests: Vec<TransferRequest> = opened.iter().flat_map(|c| next(c, 1)).collect();
    assert!(!store.grant_consultations(&records, &requests, secs(65)).await.unwrap());
    unchanged("stale").await;
    assert!(matches!(store.transfer_by_key(&format!("c{}:post:1", opened[0].id.0)).await, Err(StoreError::NotFound)));

    // Together more than the credit (3 × 450 on 550 free once the holds are back): none.
    let records: Vec<GrantRecord> = opened.iter().map(|c| grant(c.id, 2, 150, 450, 65)).collect();
    let requests: Vec<TransferRequest> = opened
        .iter()
        .flat_map(|c| {
            next(c, 0).into_iter().take(1).chain([hold(&format!("c{}:grant:2", c.id.0), f.credit, f.clearing, 450)])
        })
        .collect();
    assert!(!store.grant_consultations(&records, &requests, secs(65)).await.unwrap());
    unchanged("refused").await;

    // The same consultation twice: refused before anything is tried.
    let twice = vec![grant(opened[0].id, 2, 150, 100, 65), grant(opened[0].id, 2, 150, 100, 65)];
    assert!(!store.grant_consultations(&twice, &next(&opened[0], 1), secs(65)).await.unwrap());
    unchanged("twice").await;

    let records: Vec<GrantRecord> = opened.iter().map(|c| grant(c.id, 2, 150, 100, 65)).collect();
    let requests: Vec<TransferRequest> = opened.iter().flat_map(|c| next(c, 1)).collect();
    assert!(store.grant_consultations(&records, &requests, secs(65)).await.unwrap());
    for c in &opened {
        assert_eq!(store.consultation(c.id).await.unwrap().grant, GrantState { seq: 2, posted: 150, held: 100 });
    }
    let b = balances(&*store, f.credit).await;
    assert_eq!((b.debits_posted, b.debits_pending, b.available()), (450, 300, 250));
    assert_sound(&*store).await;
}

pub async fn a_grant_out_of_sequence_or_from_another_node_is_stale(store: Arc<dyn Store>) {
    let f = fixture(&*store, 1000).await;
    let c = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let g1 = hold("c:grant:1", f.credit, f.clearing, 600);
    let skipped = grant(c.id, 2, 0, 600, 5);
    assert_eq!(
        store.grant_consultation(&skipped, std::slice::from_ref(&g1), secs(5)).await.unwrap(),
        ConsultationWrite::Stale
    );
    let elsewhere = GrantRecord { node: "node-b".into(), ..grant(c.id, 1, 0, 600, 5) };
    assert_eq!(
        store.grant_consultation(&elsewhere, std::slice::from_ref(&g1), secs(5)).await.unwrap(),
        ConsultationWrite::Stale
    );
    assert!(matches!(store.transfer_by_key("c:grant:1").await, Err(StoreError::NotFound)), "no transfer written");
    assert_eq!(store.consultation(c.id).await.unwrap(), c);

    let first = grant(c.id, 1, 0, 600, 5);
    assert!(matches!(
        store.grant_consultation(&first, std::slice::from_ref(&g1), secs(5)).await.unwrap(),
        ConsultationWrite::Applied(_)
    ));
    assert_eq!(
        store.grant_consultation(&first, std::slice::from_ref(&g1), secs(6)).await.unwrap(),
        ConsultationWrite::Stale
    );
    assert_eq!(balances(&*store, f.credit).await.debits_pending, 600, "held once");
    let unknown = grant(ConsultationId(c.id.0 + 100), 1, 0, 600, 5);
    assert!(matches!(store.grant_consultation(&unknown, &[g1], secs(5)).await, Err(StoreError::NotFound)));
    assert_sound(&*store).await;
}

pub async fn a_settlement_posts_splits_and_frees_the_expert_exactly_once(store: Arc<dyn Store>) {
    let f = fixture(&*store, 1000).await;
    let c = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let g1 = hold("c:grant:1", f.credit, f.clearing, 600);
    store.grant_consultation(&grant(c.id, 1, 0, 600, 5), std::slice::from_ref(&g1), secs(5)).await.unwrap();
    let requests = vec![
        post("c:charge", &g1, 450),
        linked(xfer("c:earnings", f.clearing, f.earnings, 315)),
        xfer("c:commission", f.clearing, f.platform, 135),
    ];
    let record = settlement(c.id, 1, 450, 135);
    // Two nodes (or a retry) settling at once: one writes, the other finds it done.
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, record, requests) = (store.clone(), record.clone(), requests.clone());
            tokio::spawn(async move { store.settle_consultation(&record, &requests, secs(100)).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results.sort_by_key(|r| matches!(r, ConsultationWrite::Stale));
    assert_eq!(keys(&results[0]), ["c:charge", "c:earnings", "c:commission"]);
    assert_eq!(results[1], ConsultationWrite::Stale);

    let settled = store.consultation(c.id).await.unwrap();
    assert_eq!((settled.status, settled.billable_seconds), (ConsultationStatus::Settled, 90));
    assert_eq!(settled.ended, Some(record.settled));
    let b = balances(&*store, f.credit).await;
    assert_eq!((b.debits_posted, b.debits_pending, b.available()), (450, 0, 550));
    assert_eq!(balances(&*store, f.earnings).await.credits_posted, 315);
    assert_eq!(balances(&*store, f.platform).await.credits_posted, 135);
    assert_eq!(balances(&*store, f.clearing).await.available(), 0, "everything taken was split");
    store.create_consultation(&f.call(f.expert)).await.expect("the expert is free");

    assert_eq!(store.settle_consultation(&record, &requests, secs(200)).await.unwrap(), ConsultationWrite::Stale);
    assert_eq!(balances(&*store, f.earnings).await.credits_posted, 315, "paid once");
    assert_eq!(balances(&*store, f.credit).await.available(), 550);
    assert_sound(&*store).await;
}

pub async fn checkpoints_move_forward_only_renew_leases_and_stay_on_their_node(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let mut ids = Vec::new();
    for n in 1..=50 {
        let e = expert(&*store, n).await;
        ids.push(store.create_consultation(&f.call(e)).await.unwrap().id);
    }
    let stranger = expert(&*store, 99).await;
    let theirs = NewConsultation { node: "node-b".into(), ..f.call(stranger) };
    let theirs = store.create_consultation(&theirs).await.unwrap();

    let reading = |i: usize, id: ConsultationId, seconds: u64, started: Option<DateTime<Utc>>| Checkpoint {
        id,
        billable_seconds: seconds * i as u64,
        started_at: if i.is_multiple_of(2) { started } else { None },
    };
    let mut tick: Vec<_> = ids.iter().enumerate().map(|(i, id)| reading(i, *id, 10, Some(secs(1)))).collect();
    tick.push(Checkpoint { id: theirs.id, billable_seconds: 500, started_at: Some(secs(1)) });
    // Unknown ids (more than one statement's worth) are ignored.
    tick.extend((0..5500).map(|n| Checkpoint {
        id: ConsultationId(1_000_000 + n),
        billable_seconds: 1,
        started_at: None,
    }));
    assert_eq!(store.checkpoint_consultations(NODE, &tick, secs(60), secs(20)).await.unwrap(), 50);
    let after = store.node_consultations(NODE).await.unwrap();
    assert_eq!(after.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
    for (i, c) in after.iter().enumerate() {
        assert_eq!((c.billable_seconds, c.lease_until, c.checkpoint_at), (10 * i as u64, secs(60), secs(20)));
        assert_eq!(c.started_at, if i.is_multiple_of(2) { Some(secs(1)) } else { None });
    }
    assert_eq!(store.consultation(theirs.id).await.unwrap(), theirs, "another node's consultation is untouched");

    // A late, lower reading never takes a checkpoint back; a start once known stays.
    let late: Vec<_> =
        ids.iter().map(|id| Checkpoint { id: *id, billable_seconds: 3, started_at: Some(secs(2)) }).collect();
    assert_eq!(store.checkpoint_consultations(NODE, &late, secs(90), secs(50)).await.unwrap(), 50);
    for (i, c) in store.node_consultations(NODE).await.unwrap().iter().enumerate() {
        assert_eq!((c.billable_seconds, c.lease_until), ((10 * i as u64).max(3), secs(90)));
        assert_eq!(c.started_at, Some(if i.is_multiple_of(2) { secs(1) } else { secs(2) }));
    }
    assert_eq!(store.checkpoint_consultations(NODE, &[], secs(90), secs(50)).await.unwrap(), 0);
}

pub async fn lapsed_leases_are_listed_and_taken_over_by_one_node(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let mut ids = Vec::new();
    for (n, lease) in [(1, 20), (2, 10), (3, 30)] {
        let e = expert(&*store, n).await;
        let call = NewConsultation { lease_until: secs(lease), ..f.call(e) };
        ids.push(store.create_consultation(&call).await.unwrap().id);
    }
    let lapsed = |limit| {
        let store = store.clone();
        async move { store.lapsed_consultations(secs(25), limit).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>() }
    };
    assert_eq!(lapsed(10).await, [ids[1], ids[0]], "oldest lease first");
    assert_eq!(lapsed(1).await, [ids[1]]);

    let tasks: Vec<_> = ["node-b", "node-c"]
        .into_iter()
        .map(|node| {
            let (store, id) = (store.clone(), ids[1]);
            tokio::spawn(
                async move { (node, store.take_over_consultation(id, node, secs(85), secs(25)).await.unwrap()) },
            )
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let (node, true) = task.await.unwrap() {
            winners.push(node);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one node takes it over");
    let taken = store.consultation(ids[1]).await.unwrap();
    assert_eq!((taken.node.as_str(), taken.lease_until), (winners[0], secs(85)));
    assert_eq!(store.node_consultations(winners[0]).await.unwrap(), [taken]);
    assert_eq!(lapsed(10).await, [ids[0]]);
    assert!(!store.take_over_consultation(ids[2], "node-b", secs(85), secs(25)).await.unwrap(), "lease still held");
    let stale = [Checkpoint { id: ids[1], billable_seconds: 40, started_at: None }];
    assert_eq!(store.checkpoint_consultations(NODE, &stale, secs(90), secs(30)).await.unwrap(), 0, "no longer ours");
}

pub async fn a_users_consultations_list_newest_first_as_client_or_expert(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let other = expert(&*store, 1).await;
    let at = |s| NewConsultation { at: secs(s), ..f.call(f.expert) };
    let c1 = store.create_consultation(&at(0)).await.unwrap().id;
    store.mark_consultation_lost(c1, EndReason::ClientLeft, secs(1)).await.unwrap();
    let c2 = store.create_consultation(&NewConsultation { at: secs(3600), ..f.call(other) }).await.unwrap().id;
    // The first expert consults the other one as a client.
    let as_client = NewConsultation { client: f.expert, at: secs(7200), ..f.call(other) };
    store.mark_consultation_lost(c2, EndReason::ClientLeft, secs(3601)).await.unwrap();
    let c3 = store.create_consultation(&as_client).await.unwrap().id;
    let listed = |user, limit| {
        let store = store.clone();
        async move { store.user_consultations(user, limit).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>() }
    };
    assert_eq!(listed(f.client, 10).await, [c2, c1]);
    assert_eq!(listed(f.client, 1).await, [c2]);
    assert_eq!(listed(f.expert, 10).await, [c3, c1]);
    assert_eq!(listed(other, 10).await, [c3, c2]);
    assert!(listed(expert(&*store, 2).await, 10).await.is_empty());
}

pub async fn only_a_consultation_that_really_started_counts_as_consulted(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    assert!(!store.has_consulted(f.client, f.expert).await.unwrap());
    let lost = store.create_consultation(&f.call(f.expert)).await.unwrap();
    store.mark_consultation_lost(lost.id, EndReason::ClientLeft, secs(5)).await.unwrap();
    assert!(!store.has_consulted(f.client, f.expert).await.unwrap(), "never answered");
    let never = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let no_credit = SettlementRecord { started_at: None, billable_seconds: 0, ..settlement(never.id, 0, 0, 0) };
    store.settle_consultation(&no_credit, &[], secs(10)).await.unwrap();
    assert!(!store.has_consulted(f.client, f.expert).await.unwrap(), "ended before it started");
    let real = store.create_consultation(&f.call(f.expert)).await.unwrap();
    assert!(!store.has_consulted(f.client, f.expert).await.unwrap(), "not while it runs");
    store.settle_consultation(&settlement(real.id, 0, 0, 0), &[], secs(100)).await.unwrap();
    assert!(store.has_consulted(f.client, f.expert).await.unwrap());
    assert!(!store.has_consulted(f.expert, f.client).await.unwrap(), "one way only");
}

pub async fn open_consultations_list_oldest_first(store: Arc<dyn Store>) {
    let f = fixture(&*store, 0).await;
    let mut ids = Vec::new();
    for (n, opened) in [(1, 2), (2, 0), (3, 1), (4, 3)] {
        let e = expert(&*store, n).await;
        ids.push(store.create_consultation(&NewConsultation { at: secs(opened), ..f.call(e) }).await.unwrap().id);
    }
    store.settle_consultation(&settlement(ids[3], 0, 0, 0), &[], secs(10)).await.unwrap();
    let open = store.open_consultations(10).await.unwrap();
    assert_eq!(open.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[1], ids[2], ids[0]]);
    assert!(open.iter().all(|c| c.status.is_open()));
    assert_eq!(store.open_consultations(1).await.unwrap()[0].id, ids[1]);
}

pub async fn only_a_ringing_consultation_is_lost(store: Arc<dyn Store>) {
    let f = fixture(&*store, 1000).await;
    let ringing = store.create_consultation(&f.call(f.expert)).await.unwrap();
    assert!(store.mark_consultation_lost(ringing.id, EndReason::ClientLeft, secs(8)).await.unwrap());
    let lost = store.consultation(ringing.id).await.unwrap();
    assert_eq!(lost.status, ConsultationStatus::Lost);
    let end = Settled { reason: EndReason::ClientLeft, ended_at: secs(8), charge: 0, commission: 0, earnings: 0 };
    assert_eq!(lost.ended, Some(end));
    assert!(!store.mark_consultation_lost(ringing.id, EndReason::Idle, secs(9)).await.unwrap(), "once");
    assert_eq!(store.consultation(ringing.id).await.unwrap(), lost);

    let answered = store.create_consultation(&f.call(f.expert)).await.unwrap();
    let g1 = hold("c:grant:1", f.credit, f.clearing, 300);
    store.grant_consultation(&grant(answered.id, 1, 0, 300, 5), &[g1], secs(5)).await.unwrap();
    assert!(!store.mark_consultation_lost(answered.id, EndReason::ClientLeft, secs(9)).await.unwrap(), "live");
    assert_eq!(store.consultation(answered.id).await.unwrap().status, ConsultationStatus::Live);
}
