//! Where a simulation keeps its money and consultations: in memory ([`MemoryBooks`]) for
//! the ten thousand runs of the unit suite, or a real store ([`StoreBooks`]) for the few
//! hundred runs on each backend.

use std::sync::Arc;

use async_trait::async_trait;
use augure_domain::ledger::{AccountId, AccountKind, LedgerAccount, TransferRequest};
use augure_domain::site::NewSite;
use augure_domain::{Currency, Email, Role, SiteId, UserId};
use augure_store::{Consultation, LedgerOwner, NewUser, Store, Transfer};
use chrono::{DateTime, Utc};

use crate::charging::{ChargingPort, MemoryPort, StorePort};

/// Who an account belongs to in a simulation: the platform, or the n-th client or expert.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    Platform,
    Client(usize),
    Expert(usize),
}

#[async_trait]
pub trait SimBooks: Send + Sync {
    fn port(&self) -> Arc<dyn ChargingPort>;
    /// The person behind an owner (created on first use).
    async fn person(&self, owner: Owner, now: DateTime<Utc>) -> UserId;
    async fn site(&self, now: DateTime<Utc>) -> SiteId;
    async fn account(&self, owner: Owner, kind: AccountKind, currency: Currency, now: DateTime<Utc>) -> AccountId;
    /// A posted transfer outside consultations (a purchase).
    async fn transfer(&self, request: TransferRequest, now: DateTime<Utc>);
    async fn accounts(&self) -> Vec<LedgerAccount>;
    async fn transfers(&self) -> Vec<Transfer>;
    /// Every consultation of these clients.
    async fn consultations(&self, clients: &[UserId]) -> Vec<Consultation>;
    /// Every open (ringing or live) consultation.
    async fn open_consultations(&self) -> Vec<Consultation>;
}

/// The in-memory port, with people as plain numbers.
pub struct MemoryBooks(pub Arc<MemoryPort>);

#[async_trait]
impl SimBooks for MemoryBooks {
    fn port(&self) -> Arc<dyn ChargingPort> {
        self.0.clone()
    }

    async fn person(&self, owner: Owner, _now: DateTime<Utc>) -> UserId {
        match owner {
            Owner::Platform => UserId(0),
            Owner::Client(n) => UserId(1000 + n as i64),
            Owner::Expert(n) => UserId(100_000 + n as i64),
        }
    }

    async fn site(&self, _now: DateTime<Utc>) -> SiteId {
        SiteId(1)
    }

    async fn account(&self, _owner: Owner, kind: AccountKind, currency: Currency, _now: DateTime<Utc>) -> AccountId {
        self.0.open_account(kind, currency)
    }

    async fn transfer(&self, request: TransferRequest, now: DateTime<Utc>) {
        self.0.transfer(&[request], now).expect("a purchase is accepted");
    }

    async fn accounts(&self) -> Vec<LedgerAccount> {
        self.0.accounts()
    }

    async fn transfers(&self) -> Vec<Transfer> {
        self.0.transfers()
    }

    async fn consultations(&self, clients: &[UserId]) -> Vec<Consultation> {
        self.0.consultations().into_iter().filter(|c| clients.contains(&c.client)).collect()
    }

    async fn open_consultations(&self) -> Vec<Consultation> {
        self.0.consultations().into_iter().filter(|c| c.status.is_open()).collect()
    }
}

/// A real store: people are accounts, the site a row, the ledger the store's.
pub struct StoreBooks {
    store: Arc<dyn Store>,
    /// Tells this simulation's people and site apart from other runs on the same database.
    tag: String,
}

impl StoreBooks {
    pub fn new(store: Arc<dyn Store>, tag: impl Into<String>) -> Self {
        Self { store, tag: tag.into() }
    }
}

#[async_trait]
impl SimBooks for StoreBooks {
    fn port(&self) -> Arc<dyn ChargingPort> {
        Arc::new(StorePort(self.store.clone()))
    }

    async fn person(&self, owner: Owner, now: DateTime<Utc>) -> UserId {
        let (role, name) = match owner {
            Owner::Platform => return UserId(0),
            Owner::Client(n) => (Role::Client, format!("client{n}")),
            Owner::Expert(n) => (Role::Expert, format!("expert{n}")),
        };
        let email: Email = format!("{name}.{}@sim.augure.localhost", self.tag).parse().expect("email");
        if let Ok(user) = self.store.user_by_email(&email).await {
            return user.id;
        }
        let user = NewUser {
            email,
            role,
            display_name: name,
            locale: "fr".into(),
            site_id: None,
            expert_code: None,
            password_hash: "$argon2id$simulation".into(),
            created_at: now,
        };
        self.store.create_user(&user).await.expect("create a person").id
    }

    async fn site(&self, _now: DateTime<Utc>) -> SiteId {
        let code = "SM".parse().expect("site code");
        if let Ok(site) = self.store.site_by_code(&code).await {
            return site.id;
        }
        let site = NewSite {
            code,
            name: "augure simulation".into(),
            currency: Currency::Eur,
            time_zone: chrono_tz::Europe::Paris,
            default_locale: "fr".into(),
            phone_numbers: Vec::new(),
            tariffs: Vec::new(),
            imposed_per_minute: None,
        };
        match self.store.create_site(&site).await {
            Ok(site) => site.id,
            Err(_) => self.store.site_by_code(&site.code).await.expect("the site").id,
        }
    }

    async fn account(&self, owner: Owner, kind: AccountKind, currency: Currency, now: DateTime<Utc>) -> AccountId {
        let owner = match owner {
            Owner::Platform => LedgerOwner::Platform,
            other => LedgerOwner::User(self.person(other, now).await),
        };
        self.store.ledger_account(owner, kind, currency, now).await.expect("ledger account").id
    }

    async fn transfer(&self, request: TransferRequest, now: DateTime<Utc>) {
        let result = self.store.create_transfers(&[request], now).await.expect("ledger");
        result.into_iter().next().expect("one result").expect("a purchase is accepted");
    }

    async fn accounts(&self) -> Vec<LedgerAccount> {
        let all = self.store.ledger_accounts(i64::MAX, 0).await.expect("accounts");
        all.into_iter().map(|(a, _)| a).collect()
    }

    async fn transfers(&self) -> Vec<Transfer> {
        self.store.recent_transfers(i64::MAX, 0).await.expect("transfers")
    }

    async fn consultations(&self, clients: &[UserId]) -> Vec<Consultation> {
        let mut all = Vec::new();
        for client in clients {
            all.extend(self.store.user_consultations(*client, 1000).await.expect("consultations"));
        }
        all.sort_by_key(|c| c.id);
        all
    }

    async fn open_consultations(&self) -> Vec<Consultation> {
        self.store.open_consultations(10_000).await.expect("open consultations")
    }
}
