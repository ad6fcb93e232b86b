//! Refunds when the payment provider refuses, does not answer, or two admins refund at
//! once: the card is never refunded beyond what was paid, and the client's credit always
//! matches what happened to the card.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use augure_app::credit::{
    Checkout, CreditError, PaymentError, PaymentEvent, PaymentEventKind, ProviderRefund, REFUND_RECOVERY_DELAY,
    RefundOutcome, SessionEvent,
};
use augure_app::jobs::RunReport;
use augure_app::mail::{MailError, Mailer};
use augure_app::{Credit, JobRunner, Ledger, Payments, Settings};
use augure_domain::ledger::{AccountKind, TransferMode, TransferRequest};
use augure_domain::site::NewSite;
use augure_domain::{Clock, Currency, FakeClock, Money, Role};
use augure_store::{LedgerOwner, NewUser, OutboxMail, Purchase, RefundStatus, Store};
use chrono::{DateTime, Duration, Utc};

/// Answers refunds from a script (then approves), and remembers what it was asked.
#[derive(Default)]
struct ScriptedPayments {
    answers: Mutex<VecDeque<Result<(), PaymentError>>>,
    refunds: Mutex<Vec<(i64, String)>>,
    /// Stands for the process dying while the provider is being asked.
    die_on_refund: AtomicBool,
    /// What the provider says it made, when asked (by key).
    made: Mutex<HashMap<String, ProviderRefund>>,
    lookups: Mutex<Vec<String>>,
    /// "refund" and "lookup", in the order the provider was called.
    calls: Mutex<Vec<&'static str>>,
}

#[async_trait]
impl Payments for ScriptedPayments {
    async fn create_checkout(&self, purchase: &Purchase, _: &str, _: &str) -> Result<Checkout, PaymentError> {
        Ok(Checkout { session_id: format!("cs_{}", purchase.id), url: "https://pay.example/".into() })
    }

    async fn refund(&self, _: &Purchase, amount: Money, key: &str) -> Result<(), PaymentError> {
        self.refunds.lock().unwrap().push((amount.minor, key.to_owned()));
        self.calls.lock().unwrap().push("refund");
        assert!(!self.die_on_refund.load(Ordering::SeqCst), "the process dies here");
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }

    async fn find_refund(&self, _: &Purchase, key: &str) -> Result<Option<ProviderRefund>, PaymentError> {
        self.lookups.lock().unwrap().push(key.to_owned());
        self.calls.lock().unwrap().push("lookup");
        Ok(self.made.lock().unwrap().get(key).copied())
    }

    fn parse_webhook(&self, _: Option<&str>, _: &[u8], _: DateTime<Utc>) -> Result<PaymentEvent, PaymentError> {
        Err(PaymentError::BadSignature("not used here".into()))
    }

    fn name(&self) -> &'static str {
        "scripted"
    }
}

struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn deliver(&self, _: &OutboxMail) -> Result<(), MailError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "none"
    }
}

struct Shop {
    store: Arc<dyn Store>,
    clock: FakeClock,
    payments: Arc<ScriptedPayments>,
    credit: Credit,
    runner: JobRunner,
    purchase: Purchase,
    _dir: tempfile::TempDir,
}

impl Shop {
    /// A client who paid 20.00 € for 20.00 € of credit.
    async fn open(answers: Vec<Result<(), PaymentError>>) -> Shop {
        Self::open_with_bonus(answers, 0).await
    }

    /// A client who paid 20.00 € for 20.00 € of credit plus `bonus` cents, and an admin.
    async fn open_with_bonus(answers: Vec<Result<(), PaymentError>>, bonus: i64) -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("shop.db").display());
        let store: Arc<dyn Store> = Arc::new(augure_store_sqlite::connect(&url).await.unwrap());
        let clock = FakeClock::new(DateTime::from_timestamp(1_795_000_000, 0).unwrap());
        let clock_port: Arc<dyn Clock> = Arc::new(clock.clone());
        let ledger = Ledger::new(store.clone(), clock_port.clone());
        let payments =
            Arc::new(ScriptedPayments { answers: Mutex::new(answers.into()), ..ScriptedPayments::default() });
        let settings = Arc::new(Settings::default());
        let i18n = Arc::new(augure_app::i18n::I18n::new());
        let credit =
            Credit::new(store.clone(), clock_port.clone(), ledger.clone(), payments.clone(), settings.clone(), i18n);
        let runner =
            JobRunner::new(store.clone(), clock_port, Arc::new(NoMail), settings, ledger).with_credit(credit.clone());
        let site = store
            .create_site(&NewSite {
                code: "FR".parse().unwrap(),
                name: "augure".into(),
                currency: Currency::Eur,
                time_zone: chrono_tz::Europe::Paris,
                default_locale: "fr".into(),
                phone_numbers: Vec::new(),
                tariffs: Vec::new(),
                imposed_per_minute: None,
            })
            .await
            .unwrap();
        let client = store
            .create_user(&NewUser {
                email: "claire@example.fr".parse().unwrap(),
                role: Role::Client,
                display_name: "Claire".into(),
                locale: "fr".into(),
                site_id: Some(site.id),
                expert_code: None,
                password_hash: "x".into(),
                created_at: clock.now(),
            })
            .await
            .unwrap();
        store
            .create_user(&NewUser {
                email: "admin@example.fr".parse().unwrap(),
                role: Role::Admin,
                display_name: "Alice".into(),
                locale: "fr".into(),
                site_id: None,
                expert_code: None,
                password_hash: "x".into(),
                created_at: clock.now(),
            })
            .await
            .unwrap();
        let pack = store
            .create_credit_pack(site.id, Money::new(2000, Currency::Eur), Money::new(bonus, Currency::Eur), clock.now())
            .await
            .unwrap();
        let (purchase, checkout) = credit.start_purchase(&client, pack.id, "https://augure.example").await.unwrap();
        let session = SessionEvent {
            purchase_id: purchase.id,
            session_id: checkout.session_id,
            amount: 2000,
            currency: "eur".into(),
            payment_ref: "pi_1".into(),
        };
        let paid = PaymentEventKind::CheckoutCompleted { session, paid: true };
        credit.handle_event(&PaymentEvent { id: "evt_1".into(), kind: paid }).await.unwrap();
        let purchase = store.purchase(purchase.id).await.unwrap();
        Shop { store, clock, payments, credit, runner, purchase, _dir: dir }
    }

    async fn available(&self) -> i64 {
        let owner = LedgerOwner::User(self.purchase.user_id);
        self.store
            .ledger_account(owner, AccountKind::ClientCredit, Currency::Eur, self.clock.now())
            .await
            .unwrap()
            .balances
            .available()
    }

    async fn refunded(&self) -> i64 {
        self.store.purchase(self.purchase.id).await.unwrap().refunded.minor
    }

    fn card_refunds(&self) -> Vec<(i64, String)> {
        self.payments.refunds.lock().unwrap().clone()
    }

    async fn assert_books_sound(&self) {
        let audit = augure_domain::ledger::audit(&self.store.ledger_snapshot().await.unwrap());
        assert!(audit.problems.is_empty(), "{:?}", audit.problems);
    }
}

#[tokio::test]
async fn a_refused_card_refund_gives_the_credit_back_and_closes_the_request() {
    let shop = Shop::open(vec![Err(PaymentError::Refused("charge disputed".into()))]).await;
    let refused = shop.credit.refund(shop.purchase.id, 500, "k1").await;
    assert!(matches!(refused, Err(CreditError::Payment(PaymentError::Refused(_)))), "{refused:?}");
    assert_eq!((shop.available().await, shop.refunded().await), (2000, 0));
    // The same request again does not try the card a second time: it was answered.
    assert!(matches!(shop.credit.refund(shop.purchase.id, 500, "k1").await, Err(CreditError::RefundFailed)));
    assert_eq!(shop.card_refunds().len(), 1);
    // A new request goes through.
    assert_eq!(shop.credit.refund(shop.purchase.id, 500, "k2").await.unwrap(), RefundOutcome::Done);
    assert_eq!((shop.available().await, shop.refunded().await), (1500, 500));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn an_unanswered_card_refund_is_retried_until_the_provider_answers() {
    let unavailable = || Err(PaymentError::Unavailable("timeout".into()));
    let shop = Shop::open(vec![unavailable(), unavailable()]).await;
    assert_eq!(shop.credit.refund(shop.purchase.id, 500, "k1").await.unwrap(), RefundOutcome::Retrying);
    // The credit is taken at once, so it cannot be spent while the card refund is pending.
    assert_eq!((shop.available().await, shop.refunded().await), (1500, 500));

    assert_eq!(shop.runner.run_due().await.unwrap(), RunReport::default(), "the retry waits a little");
    shop.clock.advance(REFUND_RECOVERY_DELAY);
    assert_eq!(shop.runner.run_due().await.unwrap().retried, 1, "still no answer");
    shop.clock.advance(Duration::seconds(Settings::default().payments.refund_retry.base_seconds));
    assert_eq!(shop.runner.run_due().await.unwrap().done, 1);
    let key = format!("refund:{}:k1", shop.purchase.id);
    assert_eq!(shop.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Done);
    // Every attempt carried the same idempotency key: the provider refunds once.
    assert_eq!(shop.card_refunds(), vec![(500, key.clone()), (500, key.clone()), (500, key)]);
    assert_eq!(shop.credit.refund(shop.purchase.id, 500, "k1").await.unwrap(), RefundOutcome::Done);
    assert_eq!(shop.card_refunds().len(), 3);
    assert_eq!((shop.available().await, shop.refunded().await), (1500, 500));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn refunds_made_at_the_same_moment_never_exceed_what_was_paid() {
    let shop = Arc::new(Shop::open(Vec::new()).await);
    // The client holds more credit than this purchase brought (another purchase), so the
    // credit alone would let two refunds of 15.00 € through; the price must not.
    let account = |owner, kind| shop.store.ledger_account(owner, kind, Currency::Eur, shop.clock.now());
    let provider = account(LedgerOwner::Platform, AccountKind::ProviderClearing).await.unwrap().id;
    let client = account(LedgerOwner::User(shop.purchase.user_id), AccountKind::ClientCredit).await.unwrap().id;
    let other_purchase = TransferRequest {
        key: "purchase:other".into(),
        debit: provider,
        credit: client,
        amount: Some(2000),
        currency: Currency::Eur,
        code: "purchase".into(),
        user_data: None,
        mode: TransferMode::Posted,
        pending_key: None,
        linked: false,
    };
    shop.store.create_transfers(&[other_purchase], shop.clock.now()).await.unwrap().remove(0).unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let shop = shop.clone();
            tokio::spawn(async move { shop.credit.refund(shop.purchase.id, 1500, &format!("admin-{i}")).await })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(RefundOutcome::Done) => done += 1,
            Err(CreditError::NotRefundable(left)) => assert_eq!(left.minor, 500),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 1);
    assert_eq!(shop.card_refunds().len(), 1, "the card is refunded once");
    assert_eq!((shop.available().await, shop.refunded().await), (2500, 1500));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn a_refund_cut_off_between_the_credit_and_the_card_is_finished_by_the_queue() {
    let shop = Arc::new(Shop::open(Vec::new()).await);
    // The request dies inside the provider call, after the credit was taken.
    shop.payments.die_on_refund.store(true, Ordering::SeqCst);
    let request = tokio::spawn({
        let shop = shop.clone();
        async move { shop.credit.refund(shop.purchase.id, 700, "k1").await }
    });
    assert!(request.await.unwrap_err().is_panic());
    assert_eq!((shop.available().await, shop.refunded().await), (1300, 700));
    let key = format!("refund:{}:k1", shop.purchase.id);
    assert_eq!(shop.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Pending);

    shop.payments.die_on_refund.store(false, Ordering::SeqCst);
    shop.clock.advance(REFUND_RECOVERY_DELAY);
    assert_eq!(shop.runner.run_due().await.unwrap().done, 1);
    assert_eq!(shop.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Done);
    assert_eq!(shop.card_refunds(), vec![(700, key.clone()), (700, key)], "the same key both times");
    assert_eq!((shop.available().await, shop.refunded().await), (1300, 700));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn a_finished_refund_leaves_its_queued_check_with_nothing_to_do() {
    let shop = Shop::open(Vec::new()).await;
    assert_eq!(shop.credit.refund(shop.purchase.id, 700, "k1").await.unwrap(), RefundOutcome::Done);
    shop.clock.advance(REFUND_RECOVERY_DELAY);
    assert_eq!(shop.runner.run_due().await.unwrap().done, 1);
    assert_eq!(shop.card_refunds().len(), 1);
    assert_eq!((shop.available().await, shop.refunded().await), (1300, 700));
}

#[tokio::test]
async fn a_full_refund_takes_the_bonus_back_and_a_partial_one_its_share() {
    // 20 € paid + 2 € bonus: refunding the 20 € leaves no spendable credit behind.
    let shop = Shop::open_with_bonus(Vec::new(), 200).await;
    assert_eq!(shop.available().await, 2200);
    assert_eq!(shop.credit.refund(shop.purchase.id, 500, "k1").await.unwrap(), RefundOutcome::Done);
    assert_eq!(shop.available().await, 2200 - 500 - 50, "a quarter of the price takes a quarter of the bonus");
    assert_eq!(shop.credit.refund(shop.purchase.id, 1500, "k2").await.unwrap(), RefundOutcome::Done);
    assert_eq!((shop.available().await, shop.refunded().await), (0, 2000));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn a_refused_refund_gives_its_bonus_share_back_too() {
    let shop = Shop::open_with_bonus(vec![Err(PaymentError::Refused("no".into()))], 200).await;
    assert!(shop.credit.refund(shop.purchase.id, 2000, "k1").await.is_err());
    assert_eq!((shop.available().await, shop.refunded().await), (2200, 0));
    shop.assert_books_sound().await;
}

#[tokio::test]
async fn a_refund_the_provider_never_answers_is_never_given_up_and_admins_are_told() {
    let unavailable = || Err(PaymentError::Unavailable("timeout".into()));
    let shop = Shop::open((0..40).map(|_| unavailable()).collect()).await;
    assert_eq!(shop.credit.refund(shop.purchase.id, 500, "k1").await.unwrap(), RefundOutcome::Retrying);
    let key = format!("refund:{}:k1", shop.purchase.id);
    // Twenty hours of a provider that does not answer: asked again at most hourly.
    let mut tries = 0;
    for _ in 0..20 * 60 {
        shop.clock.advance(Duration::minutes(1));
        let report = shop.runner.run_due().await.unwrap();
        assert_eq!(report.given_up, 0, "never given up: the credit is taken");
        tries += report.retried;
    }
    assert!((20..=30).contains(&tries), "backoff capped at an hour: {tries} tries");
    assert_eq!(shop.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Pending);
    let pending = shop.credit.pending_refunds(10).await.unwrap();
    assert!(pending[0].stuck, "listed as stuck");
    let alerts = shop.store.list_jobs(None, 100).await.unwrap();
    let alerts: Vec<_> = alerts.iter().filter(|j| j.kind == "mail.deliver").collect();
    assert_eq!(alerts.len(), 1, "the admin is mailed once");
    assert!(alerts[0].payload.to_string().contains(&format!("n° {}", shop.purchase.id)), "{:?}", alerts[0].payload);
    assert!(shop.payments.lookups.lock().unwrap().is_empty(), "its key is still fresh: sent again as is");

    // Past the provider's key lifetime, it is first asked what became of the refund.
    shop.payments.made.lock().unwrap().insert(key.clone(), ProviderRefund::Accepted);
    for _ in 0..6 * 60 {
        shop.clock.advance(Duration::minutes(1));
        shop.runner.run_due().await.unwrap();
    }
    assert_eq!(shop.payments.lookups.lock().unwrap().first(), Some(&key));
    let calls = shop.payments.calls.lock().unwrap().clone();
    let first_lookup = calls.iter().position(|c| *c == "lookup").unwrap();
    assert!(!calls[first_lookup..].contains(&"refund"), "found made: not sent again ({calls:?})");
    assert_eq!(shop.store.refund_by_key(&key).await.unwrap().unwrap().status, RefundStatus::Done);
    assert_eq!((shop.available().await, shop.refunded().await), (1500, 500));
    shop.assert_books_sound().await;
}
