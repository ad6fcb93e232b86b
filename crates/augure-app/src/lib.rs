//! augure's use cases. They speak to the outside only through ports ([`Mailer`],
//! [`Sms`](sms::Sms), the [`Store`](augure_store::Store), the
//! [`Clock`](augure_domain::Clock)), so every rule here runs in tests on a fake clock with
//! the outboxes as mail and SMS.

pub mod accounts;
pub mod admin;
pub mod availability;
pub mod charging;
pub mod chat;
pub mod commissions;
pub mod credit;
pub mod demo;
mod demo_pages;
pub mod directory;
pub mod faults;
pub mod i18n;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
pub mod legal;
pub mod mail;
pub mod media;
pub mod notifications;
pub mod planning;
pub mod pricing;
pub mod profile;
pub mod retention;
pub mod settings;
pub mod sites;
pub mod sms;
mod tokens;

use std::sync::Arc;

use augure_domain::Clock;
use augure_store::{Store, StoreResult};
use chrono::{DateTime, Utc};

pub use accounts::{AccountError, Accounts, SignUp};
pub use credit::{Credit, Payments};
pub use i18n::I18n;
pub use jobs::JobRunner;
pub use ledger::Ledger;
pub use mail::{MailError, Mailer};
pub use notifications::{Notice, Notifications};
pub use settings::Settings;

/// The real clock, for production.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> augure_domain::clock::Sleep {
        // An instant already past waits for nothing; the runtime's timer does the rest.
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// Everything a use case needs, built once at start-up and shared.
#[derive(Clone)]
pub struct App {
    /// Only use cases reach the store: handlers call the services below.
    pub(crate) store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub i18n: Arc<I18n>,
    pub accounts: Accounts,
    pub ledger: Ledger,
    pub credit: Credit,
    pub directory: directory::Directory,
    pub availability: availability::Availability,
    pub profiles: profile::Profiles,
    /// What experts cost on each site, and the sites' imposed tariffs (SP-tariffs).
    pub pricing: pricing::Pricing,
    pub sites: sites::Sites,
    pub media: media::Media,
    pub jobs: JobRunner,
    pub planning: planning::Planning,
    pub back_office: admin::BackOffice,
    pub legal: legal::Legal,
    pub idempotency: idempotency::Idempotency,
    /// Each user's notification list (SPEC §11).
    pub notifications: Notifications,
    /// Live consultations of this node and their money.
    pub engine: charging::Engine,
    /// Live chats (SP-chat) on the engine.
    pub chats: chat::Chats,
    /// The experts' own commission rates (PH-commission).
    pub commissions: commissions::Commissions,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        sms: Arc<dyn sms::Sms>,
        payments: Arc<dyn Payments>,
        settings: Settings,
    ) -> Self {
        let settings = Arc::new(settings);
        let i18n = Arc::new(I18n::new());
        let ledger = Ledger::new(store.clone(), clock.clone());
        let directory = directory::Directory::new(
            store.clone(),
            clock.clone(),
            settings.availability.clone(),
            settings.directory.cache_ms,
            settings.planning.horizon_days,
        );
        let changes = directory.changes().clone();
        let sites = sites::Sites::new(store.clone(), clock.clone(), settings.directory.cache_ms);
        let media = media::Media::new(store.clone(), clock.clone(), settings.clone(), i18n.clone(), changes.clone());
        let profiles = profile::Profiles::new(store.clone(), clock.clone(), changes.clone(), settings.clone());
        let pricing = pricing::Pricing::new(store.clone(), sites.clone(), settings.clone(), changes.clone());
        let availability =
            availability::Availability::new(store.clone(), clock.clone(), settings.availability.clone(), changes);
        let credit =
            Credit::new(store.clone(), clock.clone(), ledger.clone(), payments, settings.clone(), i18n.clone());
        let planning = planning::Planning::new(
            store.clone(),
            clock.clone(),
            sites.clone(),
            availability.clone(),
            i18n.clone(),
            settings.clone(),
        );
        let accounts = Accounts::new(store.clone(), clock.clone(), settings.clone(), i18n.clone());
        let jobs = JobRunner::new(store.clone(), clock.clone(), mailer, settings.clone(), ledger.clone())
            .with_credit(credit.clone())
            .with_planning(planning.clone())
            .with_accounts(accounts.clone())
            .with_sms(sms);
        let notifications = Notifications::new(store.clone(), clock.clone());
        let back_office = admin::BackOffice::new(store.clone());
        let legal = legal::Legal::new(store.clone(), clock.clone());
        let idempotency =
            idempotency::Idempotency::new(store.clone(), clock.clone(), settings.http.idempotency_reservation_seconds);
        let engine = charging::Engine::new(
            Arc::new(charging::StorePort(store.clone())),
            clock.clone(),
            settings.consultations.clone(),
        );
        let commissions = commissions::Commissions::new(store.clone(), clock.clone(), sites.clone(), settings.clone());
        let chats = chat::Chats::new(chat::ChatDeps {
            store: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            i18n: i18n.clone(),
            engine: engine.clone(),
            availability: availability.clone(),
            pricing: pricing.clone(),
            credit: credit.clone(),
            directory: directory.clone(),
            ledger: ledger.clone(),
            sites: sites.clone(),
            media: media.clone(),
            notifications: notifications.clone(),
            commissions: commissions.clone(),
        });
        Self {
            store,
            clock,
            settings,
            i18n,
            accounts,
            ledger,
            credit,
            directory,
            availability,
            profiles,
            pricing,
            sites,
            media,
            jobs,
            planning,
            back_office,
            legal,
            idempotency,
            notifications,
            engine,
            chats,
            commissions,
        }
    }

    /// Whether the database answers (readiness).
    pub async fn ready(&self) -> StoreResult<()> {
        self.store.ping().await
    }

    /// The database backend's name, `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;
    use augure_domain::FakeClock;
    use chrono::Duration;

    /// Timers in tasks follow the fake clock: the consultation engine's warning and cut
    /// are tested this way, in simulated time.
    #[tokio::test]
    async fn a_task_waiting_on_the_fake_clock_wakes_when_time_is_moved() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = FakeClock::new(start);
        let waiting = clock.clone();
        let task = tokio::spawn(async move {
            waiting.sleep_until(start + Duration::seconds(60)).await;
            waiting.now()
        });
        for _ in 0..10_000 {
            if clock.sleepers() == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(clock.sleepers(), 1, "the task waits for its instant");
        clock.advance(Duration::seconds(30));
        assert!(!task.is_finished());
        clock.advance(Duration::seconds(30));
        assert_eq!(task.await.unwrap(), start + Duration::seconds(60));
    }

    #[tokio::test]
    async fn the_system_clock_does_not_wait_for_an_instant_already_past() {
        SystemClock.sleep_until(Utc::now() - Duration::hours(1)).await;
    }
}
