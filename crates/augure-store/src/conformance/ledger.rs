//! The double-entry ledger: accounts, transfers, holds, linked batches, concurrency.

use std::sync::Arc;

use augure_domain::ledger::{self as ledger, AccountKind, LedgerError, TransferMode, TransferRequest};
use augure_domain::{Currency, Role};
use chrono::{DateTime, Duration, Utc};

use super::{assert_sound, balances, new_user, t0, user, xfer};
use crate::*;

struct Funded {
    provider: ledger::AccountId,
    client: ledger::AccountId,
    expert: ledger::AccountId,
    platform: ledger::AccountId,
}

async fn funded(store: &dyn Store, credit: i64) -> Funded {
    let u = user(store, "client@example.fr").await;
    let e = store.create_user(&new_user("expert@example.fr", Role::Expert)).await.unwrap();
    let eur = Currency::Eur;
    let account = |owner, kind| store.ledger_account(owner, kind, eur, t0());
    let f = Funded {
        provider: account(LedgerOwner::Platform, AccountKind::ProviderClearing).await.unwrap().id,
        client: account(LedgerOwner::User(u.id), AccountKind::ClientCredit).await.unwrap().id,
        expert: account(LedgerOwner::User(e.id), AccountKind::ExpertEarnings).await.unwrap().id,
        platform: account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await.unwrap().id,
    };
    if credit > 0 {
        let r = store.create_transfers(&[xfer("purchase:1", f.provider, f.client, credit)], t0()).await.unwrap();
        r[0].as_ref().expect("funded");
    }
    f
}

fn hold(
    key: &str,
    debit: ledger::AccountId,
    credit: ledger::AccountId,
    amount: i64,
    expires: Option<DateTime<Utc>>,
) -> TransferRequest {
    TransferRequest { mode: TransferMode::Pending { expires_at: expires }, ..xfer(key, debit, credit, amount) }
}

fn settle(key: &str, held: &TransferRequest, amount: Option<i64>, mode: TransferMode) -> TransferRequest {
    TransferRequest { key: key.into(), amount, mode, pending_key: Some(held.key.clone()), ..held.clone() }
}

pub async fn ledger_account_exists_once_per_owner_kind_and_currency(store: Arc<dyn Store>) {
    let u = user(&*store, "a@example.fr").await;
    let owner = LedgerOwner::User(u.id);
    let a = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Eur, t0()).await.unwrap();
    let b = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Eur, t0()).await.unwrap();
    let c = store.ledger_account(owner, AccountKind::ClientCredit, Currency::Chf, t0()).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, c.id);
    assert!(a.flags.debits_must_not_exceed_credits);
    assert_eq!(store.ledger_account_by_id(a.id).await.unwrap().1, owner);
    assert_eq!(store.ledger_accounts(10, 0).await.unwrap().len(), 2);
}

pub async fn posted_transfer_moves_money_and_is_audited(store: Arc<dyn Store>) {
    let f = funded(&*store, 5000).await;
    let t = store.transfer_by_key("purchase:1").await.unwrap();
    assert_eq!((t.debit, t.credit, t.amount, t.mode), (f.provider, f.client, 5000, TransferMode::Posted));
    assert_eq!(t.user_data.as_deref(), Some("ref"));
    assert_eq!(balances(&*store, f.client).await.credits_posted, 5000);
    assert_eq!(balances(&*store, f.provider).await.debits_posted, 5000);
    assert_eq!(store.account_transfers(f.client, 10).await.unwrap().len(), 1);
    let trial = store.trial_balance().await.unwrap();
    assert_eq!((trial[0].debits_posted, trial[0].credits_posted), (5000, 5000));
    assert_sound(&*store).await;
}

/// B17: a transfer near `i64::MAX` (a pack mistyped in the billions) would leave the
/// provider's clearing account, shared by every purchase in the currency, unable to take
/// any other. It is refused alone; the account goes on working, in the same batch and after.
pub async fn an_oversized_transfer_is_refused_alone_and_the_shared_account_keeps_working(store: Arc<dyn Store>) {
    let f = funded(&*store, 0).await;
    let other = user(&*store, "other@example.fr").await;
    let other = store.ledger_account(LedgerOwner::User(other.id), AccountKind::ClientCredit, Currency::Eur, t0());
    let other = other.await.unwrap().id;
    let huge = xfer("purchase:huge", f.provider, f.client, 9_223_372_036_854_775_807);
    let r = store.create_transfers(&[huge, xfer("purchase:2", f.provider, other, 2000)], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::AmountTooLarge);
    assert!(r[1].is_ok(), "{r:?}");
    let over = xfer("purchase:over", f.provider, f.client, ledger::MAX_TRANSFER_AMOUNT + 1);
    let r = store.create_transfers(&[over], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::AmountTooLarge);
    for (i, account) in [f.client, other].into_iter().enumerate() {
        let purchase = xfer(&format!("purchase:{}", i + 3), f.provider, account, 1500);
        assert!(store.create_transfers(&[purchase], t0()).await.unwrap()[0].is_ok());
    }
    assert_eq!(balances(&*store, f.provider).await.debits_posted, 5000);
    assert_eq!(balances(&*store, other).await.credits_posted, 3500);
    assert!(store.transfer_by_key("purchase:huge").await.is_err(), "nothing written");
    assert_sound(&*store).await;
}

pub async fn overdraft_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let r = store.create_transfers(&[xfer("spend", f.client, f.expert, 1001)], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::ExceedsCredits);
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert!(matches!(store.transfer_by_key("spend").await, Err(StoreError::NotFound)));
    assert_sound(&*store).await;
}

pub async fn a_replayed_key_returns_the_first_transfer(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let spend = xfer("spend", f.client, f.expert, 300);
    let first = store.create_transfers(std::slice::from_ref(&spend), t0()).await.unwrap().remove(0).unwrap();
    let later = t0() + Duration::hours(1);
    let again = store.create_transfers(std::slice::from_ref(&spend), later).await.unwrap().remove(0).unwrap();
    assert_eq!(first, again);
    assert_eq!(balances(&*store, f.client).await.available(), 700);
    let other = TransferRequest { amount: Some(299), ..spend };
    let r = store.create_transfers(&[other], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::KeyReusedWithDifferentContent);
    assert_sound(&*store).await;
}

pub async fn a_hold_is_posted_in_part_and_the_rest_released(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let h = hold("grant:1", f.client, f.expert, 600, None);
    store.create_transfers(std::slice::from_ref(&h), t0()).await.unwrap()[0].as_ref().unwrap();
    let b = balances(&*store, f.client).await;
    assert_eq!((b.debits_pending, b.available()), (600, 400));
    let post =
        store.create_transfers(&[settle("settle:1", &h, Some(250), TransferMode::PostPending)], t0()).await.unwrap();
    let post = post[0].as_ref().unwrap();
    assert_eq!(post.amount, 250);
    assert_eq!(post.pending_id, Some(store.transfer_by_key("grant:1").await.unwrap().id));
    assert_eq!(balances(&*store, f.client).await.available(), 750);
    assert_eq!(balances(&*store, f.expert).await.credits_posted, 250);
    let again = store.create_transfers(&[settle("void:1", &h, None, TransferMode::VoidPending)], t0()).await.unwrap();
    assert_eq!(again[0].as_ref().unwrap_err(), &LedgerError::HoldAlreadyResolved("posted".into()));
    assert_sound(&*store).await;
}

pub async fn a_voided_hold_releases_everything(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let h = hold("grant:1", f.client, f.expert, 1000, None);
    let v = settle("void:1", &h, None, TransferMode::VoidPending);
    let r = store.create_transfers(&[h, v], t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert_eq!(balances(&*store, f.expert).await, ledger::Balances::default());
    assert_sound(&*store).await;
}

pub async fn expired_holds_are_listed_and_released(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let expires = t0() + Duration::minutes(5);
    let h = hold("grant:1", f.client, f.expert, 400, Some(expires));
    store.create_transfers(&[h.clone(), hold("grant:2", f.client, f.expert, 100, None)], t0()).await.unwrap();
    assert!(store.expired_holds(t0(), 10).await.unwrap().is_empty());
    let late =
        store.create_transfers(&[settle("settle:1", &h, None, TransferMode::PostPending)], expires).await.unwrap();
    assert_eq!(late[0].as_ref().unwrap_err(), &LedgerError::HoldExpired);
    let expired = store.expired_holds(expires, 10).await.unwrap();
    assert_eq!(expired.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), ["grant:1"]);
    store.create_transfers(&[settle("expire:grant:1", &h, None, TransferMode::Expire)], expires).await.unwrap()[0]
        .as_ref()
        .unwrap();
    assert!(store.expired_holds(expires, 10).await.unwrap().is_empty());
    assert_eq!(balances(&*store, f.client).await.available(), 900);
    assert_sound(&*store).await;
}

pub async fn linked_transfers_succeed_or_fail_together(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let share = TransferRequest { linked: true, ..xfer("share:1", f.client, f.expert, 700) };
    let commission = xfer("commission:1", f.client, f.platform, 301);
    let r = store.create_transfers(&[share.clone(), commission], t0()).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap_err(), &LedgerError::LinkedTransferFailed);
    assert_eq!(r[1].as_ref().unwrap_err(), &LedgerError::ExceedsCredits);
    assert_eq!(balances(&*store, f.client).await.available(), 1000);
    assert!(matches!(store.transfer_by_key("share:1").await, Err(StoreError::NotFound)));
    let r = store.create_transfers(&[share, xfer("commission:2", f.client, f.platform, 300)], t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(balances(&*store, f.platform).await.credits_posted, 300);
    assert_sound(&*store).await;
}

pub async fn a_batch_mixing_new_repeated_and_stored_transfers(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let spend = xfer("spend", f.client, f.expert, 100);
    let h = hold("grant", f.client, f.expert, 300, None);
    let post = settle("settle", &h, Some(200), TransferMode::PostPending);
    let stored = store.transfer_by_key("purchase:1").await.unwrap();
    let replay = xfer("purchase:1", f.provider, f.client, 1000);
    let r = store.create_transfers(&[spend.clone(), h, spend, post, replay], t0()).await.unwrap();
    let ids: Vec<_> = r.iter().map(|t| t.as_ref().unwrap().id).collect();
    assert_eq!(ids[0], ids[2], "the same request twice in a batch is one transfer");
    assert_eq!(ids[4], stored.id, "a stored key answers with the stored transfer");
    assert_eq!(r[3].as_ref().unwrap().pending_id, Some(ids[1]), "a hold posted in its own batch");
    assert_eq!(balances(&*store, f.client).await.available(), 700);
    assert_sound(&*store).await;
}

pub async fn an_account_history_is_newest_first_and_stops_at_the_limit(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let keys = |transfers: Vec<Transfer>| transfers.into_iter().map(|t| t.key).collect::<Vec<_>>();
    // Several entries of one account inside one batch, a hold posted in its own batch,
    // a failed transfer (which leaves no entry), then another batch.
    let h = hold("grant", f.client, f.expert, 100, None);
    let batch = [
        h.clone(),
        xfer("spend", f.client, f.expert, 50),
        xfer("too-much", f.client, f.expert, 5000),
        settle("settle", &h, Some(60), TransferMode::PostPending),
        xfer("commission", f.client, f.platform, 10),
    ];
    let r = store.create_transfers(&batch, t0()).await.unwrap();
    assert!(r[2].is_err());
    store.create_transfers(&[xfer("later", f.expert, f.client, 5)], t0()).await.unwrap()[0].as_ref().unwrap();

    let client = store.account_transfers(f.client, 10).await.unwrap();
    assert_eq!(keys(client), ["later", "commission", "settle", "spend", "grant", "purchase:1"]);
    assert_eq!(keys(store.account_transfers(f.client, 3).await.unwrap()), ["later", "commission", "settle"]);
    assert_eq!(keys(store.account_transfers(f.expert, 10).await.unwrap()), ["later", "settle", "spend", "grant"]);
    assert_eq!(keys(store.account_transfers(f.platform, 10).await.unwrap()), ["commission"]);
    let fresh =
        store.ledger_account(LedgerOwner::Platform, AccountKind::Promotions, Currency::Eur, t0()).await.unwrap();
    assert!(store.account_transfers(fresh.id, 10).await.unwrap().is_empty());
    assert_eq!(store.ledger_account_by_id(f.client).await.unwrap().0.balances.available(), 1000 - 60 - 50 - 10 + 5);
    assert_sound(&*store).await;
}

pub async fn a_batch_of_a_hundred_transfers_commits_at_once(store: Arc<dyn Store>) {
    let f = funded(&*store, 100_000).await;
    let batch: Vec<_> = (0..100).map(|i| xfer(&format!("b:{i}"), f.client, f.platform, 10 + i)).collect();
    let r = store.create_transfers(&batch, t0()).await.unwrap();
    assert!(r.iter().all(Result::is_ok));
    assert_eq!(balances(&*store, f.platform).await.credits_posted, (0..100).map(|i| 10 + i).sum::<i64>());
    assert_sound(&*store).await;
}

pub async fn concurrent_spending_never_overdraws(store: Arc<dyn Store>) {
    let f = funded(&*store, 500).await;
    let mut tasks = Vec::new();
    for task in 0..10 {
        let store = store.clone();
        let (client, expert, platform) = (f.client, f.expert, f.platform);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..10 {
                // Every spend also touches the hot platform account.
                let batch = [
                    TransferRequest { linked: true, ..xfer(&format!("s:{task}:{i}"), client, expert, 5) },
                    xfer(&format!("c:{task}:{i}"), client, platform, 2),
                ];
                let r = store.create_transfers(&batch, t0()).await.unwrap();
                if r.iter().all(Result::is_ok) {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut succeeded = 0;
    for t in tasks {
        succeeded += t.await.unwrap();
    }
    assert_eq!(succeeded, 500 / 7, "exactly as many as the credit allows");
    assert_eq!(balances(&*store, f.client).await.available(), 500 % 7);
    assert_sound(&*store).await;
}

pub async fn concurrent_replays_of_one_key_move_money_once(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let request = xfer("once", f.client, f.expert, 100);
        tasks.push(tokio::spawn(async move { store.create_transfers(&[request], t0()).await.unwrap().remove(0) }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(balances(&*store, f.client).await.available(), 900);
    assert_sound(&*store).await;
}

/// `augure ledger verify` on a live system: transfers go on while the books are read, and
/// every read describes one moment (B6: never a false problem).
pub async fn a_ledger_snapshot_is_consistent_while_transfers_go_on(store: Arc<dyn Store>) {
    let f = funded(&*store, 1_000_000).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let batch = [
                    xfer(&format!("live:{i}:a"), f.client, f.expert, 3),
                    xfer(&format!("live:{i}:b"), f.client, f.platform, 1),
                ];
                store.create_transfers(&batch, t0()).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads < 5 {
        let audit = ledger::audit(&store.ledger_snapshot().await.unwrap());
        assert!(audit.problems.is_empty(), "read {reads} saw {:?}", audit.problems);
        reads += 1;
    }
    writer.await.unwrap();
    assert_sound(&*store).await;
}

/// B7: the store keeps instants to the microsecond; a replayed hold whose expiry carries
/// nanoseconds is the same request, not a reused key.
pub async fn a_replayed_hold_with_a_sub_microsecond_expiry_is_the_same_transfer(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let expires_at = t0() + Duration::minutes(5) + Duration::nanoseconds(789);
    let hold = TransferRequest {
        mode: TransferMode::Pending { expires_at: Some(expires_at) },
        ..xfer("hold:nanos", f.client, f.expert, 300)
    };
    let first = store.create_transfers(std::slice::from_ref(&hold), t0()).await.unwrap().remove(0).unwrap();
    let again = store.create_transfers(std::slice::from_ref(&hold), t0()).await.unwrap().remove(0);
    assert_eq!(again.map(|t| t.id), Ok(first.id), "a replay answers with the stored hold");
    assert_eq!(balances(&*store, f.client).await.available(), 700, "held once");
    assert_sound(&*store).await;
}

/// B7: the expiry sweep lists only holds still open, by deadline: a hold posted or voided
/// in time, or opened and settled in one batch, is never listed again.
pub async fn the_expiry_sweep_lists_only_open_holds_by_deadline(store: Arc<dyn Store>) {
    let f = funded(&*store, 1000).await;
    let at = |minutes| Some(t0() + Duration::minutes(minutes));
    let (posted, voided) =
        (hold("h:posted", f.client, f.expert, 10, at(1)), hold("h:voided", f.client, f.expert, 10, at(1)));
    let (late, soon) = (hold("h:late", f.client, f.expert, 10, at(4)), hold("h:soon", f.client, f.expert, 10, at(3)));
    let quick = hold("h:quick", f.client, f.expert, 10, at(2));
    let batch = [
        posted.clone(),
        voided.clone(),
        late,
        soon,
        quick.clone(),
        settle("s:quick", &quick, None, TransferMode::PostPending),
        hold("h:open-ended", f.client, f.expert, 10, None),
    ];
    assert!(store.create_transfers(&batch, t0()).await.unwrap().iter().all(Result::is_ok));
    let resolve = [
        settle("s:posted", &posted, Some(5), TransferMode::PostPending),
        settle("s:voided", &voided, None, TransferMode::VoidPending),
    ];
    assert!(store.create_transfers(&resolve, t0()).await.unwrap().iter().all(Result::is_ok));
    let keys = |holds: Vec<Transfer>| holds.into_iter().map(|t| t.key).collect::<Vec<_>>();
    assert_eq!(keys(store.expired_holds(t0() + Duration::minutes(10), 10).await.unwrap()), ["h:soon", "h:late"]);
    assert_eq!(keys(store.expired_holds(t0() + Duration::minutes(10), 1).await.unwrap()), ["h:soon"]);
    assert!(store.expired_holds(t0() + Duration::minutes(2), 10).await.unwrap().is_empty());
    assert_sound(&*store).await;
}
