//! Two writers on one SQLite file, as when a second process opens it: each store keeps the
//! accounts it wrote in memory, and must notice the other's transfers before it trusts them.

use augure_domain::ledger::{self, AccountId, AccountKind, LedgerError};
use augure_domain::{Currency, Role};
use augure_store::conformance::{t0, xfer};
use augure_store::{LedgerOwner, LedgerStore, NewUser, UserStore};

async fn account(store: &augure_store_sqlite::SqlStore, email: &str, kind: AccountKind) -> AccountId {
    let user = store
        .create_user(&NewUser {
            email: email.parse().unwrap(),
            role: Role::Client,
            display_name: email.into(),
            locale: "fr".into(),
            site_id: None,
            expert_code: None,
            password_hash: "x".into(),
            created_at: t0(),
        })
        .await
        .unwrap();
    store.ledger_account(LedgerOwner::User(user.id), kind, Currency::Eur, t0()).await.unwrap().id
}

#[tokio::test]
async fn a_second_writer_on_the_same_file_is_seen_before_the_cache_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("augure.db").display());
    let a = augure_store_sqlite::connect(&url).await.unwrap();
    let b = augure_store_sqlite::connect(&url).await.unwrap();
    let provider = account(&a, "provider@example.fr", AccountKind::ProviderClearing).await;
    let client = account(&a, "client@example.fr", AccountKind::ClientCredit).await;
    let expert = account(&a, "expert@example.fr", AccountKind::ExpertEarnings).await;
    let ok = |r: Vec<Result<_, LedgerError>>| r.into_iter().next().unwrap().unwrap();

    // A writes (and remembers) the client at 1000; B then spends 300 behind its back.
    ok(a.create_transfers(&[xfer("buy", provider, client, 1000)], t0()).await.unwrap());
    ok(b.create_transfers(&[xfer("spend:b", client, expert, 300)], t0()).await.unwrap());

    // A must see 700, not the 1000 it remembers.
    let refused = a.create_transfers(&[xfer("spend:a", client, expert, 800)], t0()).await.unwrap();
    assert_eq!(refused[0].as_ref().unwrap_err(), &LedgerError::ExceedsCredits);
    let spent = ok(a.create_transfers(&[xfer("spend:a2", client, expert, 700)], t0()).await.unwrap());
    // And B, in turn, sees A's transfers and numbers after them.
    let topped = ok(b.create_transfers(&[xfer("buy:b", provider, client, 50)], t0()).await.unwrap());
    assert_eq!(topped.id.0, spent.id.0 + 1);

    // A remembers the client at 0: refusing now would be wrong, B's 50 are there.
    ok(a.create_transfers(&[xfer("spend:a3", client, expert, 50)], t0()).await.unwrap());

    let (account, _) = a.ledger_account_by_id(client).await.unwrap();
    assert_eq!(account.balances.available(), 0);
    let history: Vec<String> = a.account_transfers(client, 10).await.unwrap().into_iter().map(|t| t.key).collect();
    assert_eq!(history, ["spend:a3", "buy:b", "spend:a2", "spend:b", "buy"]);
    let audit = ledger::audit(&b.ledger_snapshot().await.unwrap());
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}

/// B19: two processes writing one file at once (a second server, `augure ledger verify`,
/// `augure admin create`) wait for each other instead of failing with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_at_once_never_fail_with_a_locked_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("augure.db").display());
    let a = std::sync::Arc::new(augure_store_sqlite::connect(&url).await.unwrap());
    let b = std::sync::Arc::new(augure_store_sqlite::connect(&url).await.unwrap());
    let provider = account(&a, "provider@example.fr", AccountKind::ProviderClearing).await;
    let client = account(&a, "client@example.fr", AccountKind::ClientCredit).await;
    let mut writers = tokio::task::JoinSet::new();
    for (name, store) in [("a", a.clone()), ("b", b.clone())] {
        writers.spawn(async move {
            for i in 0..150 {
                let r = store.create_transfers(&[xfer(&format!("{name}:{i}"), provider, client, 1)], t0()).await;
                r.unwrap_or_else(|e| panic!("{name} {i}: {e}")).remove(0).unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let (account, _) = a.ledger_account_by_id(client).await.unwrap();
    assert_eq!(account.balances.credits_posted, 300);
    let audit = ledger::audit(&b.ledger_snapshot().await.unwrap());
    assert!(audit.problems.is_empty(), "{:?}", audit.problems);
}
