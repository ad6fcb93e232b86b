//! The SQL both backends share. Both engines accept the same statements here (`$N`
//! placeholders, `RETURNING`, `ON CONFLICT`, instants as integer microseconds), so the
//! queries are written once, in [`impl_sql_store!`], and each backend crate expands it
//! with its own pool type and the few statements that differ. Row decoding lives in plain
//! functions so that it is checked once, without sqlx.

use augure_domain::site::NewSite;
use augure_domain::{Currency, Email, ExpertCode, JobId, MailId, Money, Role, Site, SiteCode, SiteId, UserId};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

use augure_domain::ledger::{
    AccountFlags, AccountId, Balances, LedgerAccount, TransferId, TransferMode, TransferRequest,
};

use augure_domain::availability::Status;

use crate::{
    ExpertPresence, ExpertProfile, Job, JobStatus, LedgerOwner, OutboxMail, Purchase, PurchaseStatus, StoreError,
    StoreResult, StoredMail, Transfer, User,
};

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn instant(us: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("instant {us}")))
}

/// Which uniqueness rule a backend's violation message or constraint name is about.
pub fn conflict_target(text: &str) -> &'static str {
    const TARGETS: [(&str, &str); 5] = [
        ("expert_code", "expert_code"),
        ("email", "email"),
        ("sites", "site_code"),
        ("unique_key", "job"),
        ("mail_outbox", "mail"),
    ];
    TARGETS.iter().find(|(needle, _)| text.contains(needle)).map_or("record", |(_, target)| target)
}

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub display_name: String,
    pub locale: String,
    pub site_id: Option<i64>,
    pub expert_code: Option<i64>,
    pub password_hash: String,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_user(self) -> StoreResult<User> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("user {}: {what}", self.id));
        let expert_code = match self.expert_code {
            Some(c) => Some(ExpertCode(u32::try_from(c).map_err(|_| corrupt("expert_code"))?)),
            None => None,
        };
        Ok(User {
            id: UserId(self.id),
            email: self.email.parse::<Email>().map_err(|_| corrupt("email"))?,
            role: self.role.parse::<Role>().map_err(|_| corrupt("role"))?,
            display_name: self.display_name,
            locale: self.locale,
            site_id: self.site_id.map(SiteId),
            expert_code,
            password_hash: self.password_hash,
            created_at: instant(self.created_at)?,
        })
    }
}

pub struct SiteRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub default_locale: String,
    pub phone_numbers: String,
    pub tariffs: String,
}

impl SiteRow {
    pub fn into_site(self) -> StoreResult<Site> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("site {}: {what}", self.id));
        Ok(Site {
            id: SiteId(self.id),
            code: self.code.parse::<SiteCode>().map_err(|_| corrupt("code"))?,
            name: self.name,
            currency: self.currency.parse::<Currency>().map_err(|_| corrupt("currency"))?,
            time_zone: self.time_zone.parse::<Tz>().map_err(|_| corrupt("time_zone"))?,
            default_locale: self.default_locale,
            phone_numbers: serde_json::from_str(&self.phone_numbers).map_err(|_| corrupt("phone_numbers"))?,
            tariffs: serde_json::from_str(&self.tariffs).map_err(|_| corrupt("tariffs"))?,
        })
    }
}

/// The JSON columns of a site, ready to bind.
pub fn site_json(site: &NewSite) -> (String, String) {
    // Serializing plain strings and integers cannot fail.
    let phones = serde_json::to_string(&site.phone_numbers).unwrap_or_else(|_| "[]".into());
    let tariffs = serde_json::to_string(&site.tariffs).unwrap_or_else(|_| "[]".into());
    (phones, tariffs)
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl JobRow {
    pub fn into_job(self) -> StoreResult<Job> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {}: {what}", self.id));
        Ok(Job {
            id: JobId(self.id),
            kind: self.kind,
            payload: serde_json::from_str(&self.payload).map_err(|_| corrupt("payload"))?,
            unique_key: self.unique_key,
            status: JobStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            run_at: instant(self.run_at)?,
            last_error: self.last_error,
            created_at: instant(self.created_at)?,
            finished_at: self.finished_at.map(instant).transpose()?,
        })
    }
}

pub struct MailRow {
    pub id: i64,
    pub key: String,
    pub to_addr: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: i64,
}

impl MailRow {
    pub fn into_mail(self) -> StoreResult<StoredMail> {
        Ok(StoredMail {
            id: MailId(self.id),
            mail: OutboxMail {
                key: self.key,
                to: self.to_addr,
                subject: self.subject,
                text_body: self.text_body,
                html_body: self.html_body,
                created_at: instant(self.created_at)?,
            },
        })
    }
}

pub struct ProfileRow {
    pub user_id: i64,
    pub headline: String,
    pub specialties: String,
    pub languages: String,
    pub modes: String,
    pub price_per_minute: i64,
    pub currency: String,
    pub email_price: Option<i64>,
}

impl ProfileRow {
    pub fn into_profile(self) -> StoreResult<ExpertProfile> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("expert profile {}: {what}", self.user_id));
        let currency: Currency = self.currency.parse().map_err(|_| corrupt("currency"))?;
        Ok(ExpertProfile {
            user_id: UserId(self.user_id),
            headline: self.headline,
            specialties: serde_json::from_str(&self.specialties).map_err(|_| corrupt("specialties"))?,
            languages: serde_json::from_str(&self.languages).map_err(|_| corrupt("languages"))?,
            modes: serde_json::from_str(&self.modes).map_err(|_| corrupt("modes"))?,
            price_per_minute: Money::new(self.price_per_minute, currency),
            email_price: self.email_price.map(|m| Money::new(m, currency)),
        })
    }
}

/// The JSON columns of a profile, ready to bind: specialties, languages, modes.
pub fn profile_json(p: &ExpertProfile) -> (String, String, String) {
    let json = |v: serde_json::Result<String>| v.unwrap_or_else(|_| "[]".into());
    (
        json(serde_json::to_string(&p.specialties)),
        json(serde_json::to_string(&p.languages)),
        json(serde_json::to_string(&p.modes)),
    )
}

pub struct AccountRow {
    pub id: i64,
    pub owner_key: String,
    pub kind: String,
    pub currency: String,
    pub flags: i64,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl AccountRow {
    pub fn into_account(self) -> StoreResult<(LedgerAccount, LedgerOwner)> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("ledger account {}: {what}", self.id));
        let owner = match self.owner_key.as_str() {
            "platform" => LedgerOwner::Platform,
            other => LedgerOwner::User(UserId(
                other.strip_prefix("user:").and_then(|id| id.parse().ok()).ok_or_else(|| corrupt("owner"))?,
            )),
        };
        Ok((
            LedgerAccount {
                id: AccountId(self.id),
                kind: self.kind.parse().map_err(|_| corrupt("kind"))?,
                currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
                flags: AccountFlags {
                    debits_must_not_exceed_credits: self.flags & 1 != 0,
                    credits_must_not_exceed_debits: self.flags & 2 != 0,
                },
                balances: Balances {
                    debits_pending: self.debits_pending,
                    debits_posted: self.debits_posted,
                    credits_pending: self.credits_pending,
                    credits_posted: self.credits_posted,
                },
            },
            owner,
        ))
    }
}

pub fn account_flags(flags: AccountFlags) -> i64 {
    i64::from(flags.debits_must_not_exceed_credits) | (i64::from(flags.credits_must_not_exceed_debits) << 1)
}

pub struct TransferRow {
    pub id: i64,
    pub transfer_key: String,
    pub debit_account_id: i64,
    pub credit_account_id: i64,
    pub amount: i64,
    pub requested_amount: Option<i64>,
    pub currency: String,
    pub code: String,
    pub user_data: Option<String>,
    pub mode: String,
    pub expires_at: Option<i64>,
    pub pending_id: Option<i64>,
    pub pending_key: Option<String>,
    pub linked: i64,
    pub created_at: i64,
}

impl TransferRow {
    pub fn into_transfer(self) -> StoreResult<Transfer> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("transfer {}: {what}", self.id));
        let mode = match self.mode.as_str() {
            "posted" => TransferMode::Posted,
            "pending" => TransferMode::Pending { expires_at: self.expires_at.map(instant).transpose()? },
            "post_pending" => TransferMode::PostPending,
            "void_pending" => TransferMode::VoidPending,
            "expire" => TransferMode::Expire,
            _ => return Err(corrupt("mode")),
        };
        Ok(Transfer {
            id: TransferId(self.id),
            key: self.transfer_key,
            debit: AccountId(self.debit_account_id),
            credit: AccountId(self.credit_account_id),
            amount: self.amount,
            requested_amount: self.requested_amount,
            currency: self.currency.parse().map_err(|_| corrupt("currency"))?,
            code: self.code,
            user_data: self.user_data,
            mode,
            pending_id: self.pending_id.map(TransferId),
            pending_key: self.pending_key,
            linked: self.linked != 0,
            created_at: instant(self.created_at)?,
        })
    }
}

/// The request a stored transfer answered, to recognise an idempotent replay.
pub fn request_of(t: &Transfer) -> TransferRequest {
    TransferRequest {
        key: t.key.clone(),
        debit: t.debit,
        credit: t.credit,
        amount: t.requested_amount,
        currency: t.currency,
        code: t.code.clone(),
        user_data: t.user_data.clone(),
        mode: t.mode,
        pending_key: t.pending_key.clone(),
        linked: t.linked,
    }
}

pub struct PurchaseRow {
    pub id: i64,
    pub user_id: i64,
    pub pack_id: i64,
    pub price: i64,
    pub bonus: i64,
    pub currency: String,
    pub status: String,
    pub checkout_session: Option<String>,
    pub payment_ref: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub refunded: i64,
}

impl PurchaseRow {
    pub fn into_purchase(self) -> StoreResult<Purchase> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("purchase {}: {what}", self.id));
        let currency: Currency = self.currency.parse().map_err(|_| corrupt("currency"))?;
        Ok(Purchase {
            id: self.id,
            user_id: UserId(self.user_id),
            pack_id: self.pack_id,
            price: Money::new(self.price, currency),
            bonus: Money::new(self.bonus, currency),
            status: PurchaseStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            checkout_session: self.checkout_session,
            payment_ref: self.payment_ref,
            created_at: instant(self.created_at)?,
            paid_at: self.paid_at.map(instant).transpose()?,
            refunded: Money::new(self.refunded, currency),
        })
    }
}

pub const PURCHASE_COLUMNS: &str = "p.id, p.user_id, p.pack_id, p.price, p.bonus, p.currency, p.status, \
     p.checkout_session, p.payment_ref, p.created_at, p.paid_at, \
     CAST(COALESCE((SELECT SUM(r.amount) FROM purchase_refunds r WHERE r.purchase_id = p.id AND r.status <> 'failed'), 0) \
     AS BIGINT) AS refunded";
pub struct PresenceRow {
    pub user_id: i64,
    pub status: String,
    pub modes_on: String,
    pub paused_until: Option<i64>,
    pub last_heartbeat: Option<i64>,
    pub bank_details_at: Option<i64>,
    pub updated_at: i64,
}

impl PresenceRow {
    pub fn into_presence(self) -> StoreResult<ExpertPresence> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("presence {}: {what}", self.user_id));
        let status = match self.status.as_str() {
            "available" => Status::Available,
            "busy" => Status::Busy,
            "unavailable" => Status::Unavailable,
            _ => return Err(corrupt("status")),
        };
        Ok(ExpertPresence {
            user_id: UserId(self.user_id),
            status,
            modes_on: serde_json::from_str(&self.modes_on).map_err(|_| corrupt("modes_on"))?,
            paused_until: self.paused_until.map(instant).transpose()?,
            last_heartbeat: self.last_heartbeat.map(instant).transpose()?,
            bank_details_at: self.bank_details_at.map(instant).transpose()?,
            updated_at: instant(self.updated_at)?,
        })
    }
}

/// A planning row: its local day (`YYYY-MM-DD`) and minutes after local midnight.
pub fn planned_slot(
    day: &str,
    start_minute: i64,
    end_minute: i64,
) -> StoreResult<augure_domain::planning::PlannedSlot> {
    let corrupt = || StoreError::Corrupt(format!("planning slot {day} {start_minute}-{end_minute}"));
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| corrupt())?;
    let minute = |m: i64| u32::try_from(m).map_err(|_| corrupt());
    augure_domain::planning::PlannedSlot::from_minutes(date, minute(start_minute)?, minute(end_minute)?)
        .ok_or_else(corrupt)
}

/// How a local date is stored: `YYYY-MM-DD`, which sorts as the dates do.
pub fn day_str(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub const ALERT_COLUMNS: &str = "id, client_id, expert_id, created_at, notified_at";

pub fn modes_json(modes: &[augure_domain::Mode]) -> String {
    // A list of unit enum variants always serializes.
    serde_json::to_string(modes).unwrap_or_else(|_| "[]".into())
}

pub fn payout_str(method: augure_domain::bank::PayoutMethod) -> &'static str {
    match method {
        augure_domain::bank::PayoutMethod::BankTransfer => "bank_transfer",
        augure_domain::bank::PayoutMethod::PayPal => "pay_pal",
    }
}

pub fn parse_payout(s: &str) -> Option<augure_domain::bank::PayoutMethod> {
    match s {
        "bank_transfer" => Some(augure_domain::bank::PayoutMethod::BankTransfer),
        "pay_pal" => Some(augure_domain::bank::PayoutMethod::PayPal),
        _ => None,
    }
}

pub fn status_str(status: Status) -> &'static str {
    match status {
        Status::Available => "available",
        Status::Busy => "busy",
        Status::Unavailable => "unavailable",
    }
}

pub const ACCOUNT_COLUMNS: &str =
    "id, owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted";
/// What the one writer of an SQLite database knows of the ledger accounts it wrote, so that
/// a batch need not read them back. It holds while the largest transfer id is the one this
/// writer last wrote: every change to an account comes with a transfer, so a larger id
/// means another writer (another process on the same file) got in, and the cache is
/// dropped. The account update still checks each version it read.
#[derive(Default)]
pub struct LedgerCache {
    accounts: HashMap<AccountId, (LedgerAccount, i64, Option<TransferId>)>,
    largest_id: Option<i64>,
}

/// Held across a batch's awaits, hence an async mutex.
pub type SharedLedgerCache = tokio::sync::Mutex<LedgerCache>;

impl LedgerCache {
    /// Bounds memory: past this many accounts the cache starts again from empty.
    const CAPACITY: usize = 100_000;

    /// Drops everything unless `largest_id` is the largest transfer id this writer wrote.
    pub fn validate(&mut self, largest_id: i64) {
        if self.largest_id != Some(largest_id) {
            self.clear();
        }
    }

    /// An account as last written: its sums, version and last transfer.
    pub fn account(&self, id: AccountId) -> Option<(&LedgerAccount, i64, Option<TransferId>)> {
        self.accounts.get(&id).map(|(account, version, last)| (account, *version, *last))
    }

    /// Records what a committed batch left, and the largest transfer id it leaves.
    pub fn remember<'a>(
        &mut self,
        accounts: impl Iterator<Item = (&'a LedgerAccount, i64, Option<TransferId>)>,
        largest_id: i64,
    ) {
        if self.accounts.len() > Self::CAPACITY {
            self.accounts.clear();
        }
        for (account, version, last) in accounts {
            self.accounts.insert(account.id, (account.clone(), version, last));
        }
        self.largest_id = Some(largest_id);
    }

    pub fn clear(&mut self) {
        self.accounts.clear();
        self.largest_id = None;
    }
}

/// An account's history chain while a batch appends to it.
pub struct Chain {
    /// The version read under the lock; the update checks it is still there.
    pub read_version: i64,
    pub version: i64,
    pub last: Option<TransferId>,
}

impl Chain {
    pub fn new(version: i64, last: Option<TransferId>) -> Self {
        Self { read_version: version, version, last }
    }

    /// Appends a transfer: its entry's version and the transfer before it.
    pub fn append(&mut self, transfer: TransferId) -> (i64, Option<TransferId>) {
        self.version += 1;
        (self.version, self.last.replace(transfer))
    }

    pub fn changed(&self) -> bool {
        self.version != self.read_version
    }
}

/// One side's entry, stored on the transfer row.
pub struct EntryRow {
    pub version: i64,
    pub previous: Option<TransferId>,
    pub balances: Balances,
}

pub const TRANSFER_COLUMNS: &str = "id, transfer_key, debit_account_id, credit_account_id, amount, requested_amount, \
     currency, code, user_data, mode, expires_at, pending_id, pending_key, linked, created_at";
pub const PROFILE_COLUMNS: &str =
    "p.user_id, p.headline, p.specialties, p.languages, p.modes, p.price_per_minute, p.currency, p.email_price";
pub const USER_COLUMNS: &str = "id, email, role, display_name, locale, site_id, expert_code, password_hash, created_at";
pub const JOB_COLUMNS: &str =
    "id, kind, payload, unique_key, status, attempts, run_at, last_error, created_at, finished_at";
pub const MAIL_COLUMNS: &str = "id, mail_key, to_addr, subject, text_body, html_body, created_at";
pub const SITE_COLUMNS: &str = "id, code, name, currency, time_zone, default_locale, phone_numbers, tariffs";

/// Implements every store trait for `$store`, a struct with `reader` and `writer` fields of
/// type `sqlx::Pool<$db>`. `claim_job_sql` is the one statement whose locking differs by
/// engine; it takes `$1` = now (micros), `$2` = lease end, and returns `JOB_COLUMNS`.
/// `lock_rows` ends the `SELECT`s that read rows a transaction is about to change
/// (`FOR UPDATE` where several writers run at once, empty on a single-writer engine).
#[macro_export]
macro_rules! impl_sql_store {
    (
        $store:ty,
        $db:ty,
        backend = $backend:literal,
        claim_job_sql = $claim:expr,
        lock_rows = $lock:literal
        $(, next_transfer_ids_sql = $next_ids:literal)? $(,)?
    ) => {
        mod __augure_sql_store {
            use ::async_trait::async_trait;
            use ::augure_domain::site::NewSite;
            use ::augure_domain::{Email, JobId, MailId, Role, Site, SiteCode, UserId};
            use ::augure_store::sql::{
                self, AccountRow, JobRow, MailRow, PresenceRow, ProfileRow, PurchaseRow, SiteRow, TransferRow, UserRow,
            };
            use ::augure_domain::{Money, SiteId};
            use ::augure_domain::ledger::{
                self as ledger, AccountId, AccountKind, Entry, KnownTransfer, LedgerAccount, LedgerError, Outcome,
                ReplayedTransfer, TransferId, TransferMode, TransferRequest,
            };
            use ::augure_domain::Currency;
            use ::std::collections::HashMap;
            use ::augure_store::*;
            use ::chrono::{DateTime, Utc};
            use ::sqlx::Row;

            use super::*;

            // Statements built with format! only splice the column-list constants above,
            // never input, hence `AssertSqlSafe`.
            type DbRow = <$db as ::sqlx::Database>::Row;

            fn err(e: ::sqlx::Error) -> StoreError {
                match e {
                    ::sqlx::Error::RowNotFound => StoreError::NotFound,
                    ::sqlx::Error::Database(db) if db.is_unique_violation() => {
                        let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
                        StoreError::Conflict(sql::conflict_target(&text))
                    }
                    other => StoreError::Backend(Box::new(other)),
                }
            }

            fn user(row: &DbRow) -> StoreResult<User> {
                UserRow {
                    id: row.try_get("id").map_err(err)?,
                    email: row.try_get("email").map_err(err)?,
                    role: row.try_get("role").map_err(err)?,
                    display_name: row.try_get("display_name").map_err(err)?,
                    locale: row.try_get("locale").map_err(err)?,
                    site_id: row.try_get("site_id").map_err(err)?,
                    expert_code: row.try_get("expert_code").map_err(err)?,
                    password_hash: row.try_get("password_hash").map_err(err)?,
                    created_at: row.try_get("created_at").map_err(err)?,
                }
                .into_user()
            }

            fn refund(row: &DbRow) -> StoreResult<Refund> {
                let status: String = row.try_get("status").map_err(err)?;
                Ok(Refund {
                    purchase_id: row.try_get("purchase_id").map_err(err)?,
                    key: row.try_get("refund_key").map_err(err)?,
                    amount: row.try_get("amount").map_err(err)?,
                    status: RefundStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("refund status {status}")))?,
                })
            }

            fn site(row: &DbRow) -> StoreResult<Site> {
                SiteRow {
                    id: row.try_get("id").map_err(err)?,
                    code: row.try_get("code").map_err(err)?,
                    name: row.try_get("name").map_err(err)?,
                    currency: row.try_get("currency").map_err(err)?,
                    time_zone: row.try_get("time_zone").map_err(err)?,
                    default_locale: row.try_get("default_locale").map_err(err)?,
                    phone_numbers: row.try_get("phone_numbers").map_err(err)?,
                    tariffs: row.try_get("tariffs").map_err(err)?,
                }
                .into_site()
            }

            fn profile(row: &DbRow) -> StoreResult<ExpertProfile> {
                ProfileRow {
                    user_id: row.try_get("user_id").map_err(err)?,
                    headline: row.try_get("headline").map_err(err)?,
                    specialties: row.try_get("specialties").map_err(err)?,
                    languages: row.try_get("languages").map_err(err)?,
                    modes: row.try_get("modes").map_err(err)?,
                    price_per_minute: row.try_get("price_per_minute").map_err(err)?,
                    currency: row.try_get("currency").map_err(err)?,
                    email_price: row.try_get("email_price").map_err(err)?,
                }
                .into_profile()
            }

            fn account(row: &DbRow) -> StoreResult<(LedgerAccount, LedgerOwner)> {
                AccountRow {
                    id: row.try_get("id").map_err(err)?,
                    owner_key: row.try_get("owner_key").map_err(err)?,
                    kind: row.try_get("kind").map_err(err)?,
                    currency: row.try_get("currency").map_err(err)?,
                    flags: row.try_get("flags").map_err(err)?,
                    debits_pending: row.try_get("debits_pending").map_err(err)?,
                    debits_posted: row.try_get("debits_posted").map_err(err)?,
                    credits_pending: row.try_get("credits_pending").map_err(err)?,
                    credits_posted: row.try_get("credits_posted").map_err(err)?,
                }
                .into_account()
            }

            fn transfer(row: &DbRow) -> StoreResult<Transfer> {
                TransferRow {
                    id: row.try_get("id").map_err(err)?,
                    transfer_key: row.try_get("transfer_key").map_err(err)?,
                    debit_account_id: row.try_get("debit_account_id").map_err(err)?,
                    credit_account_id: row.try_get("credit_account_id").map_err(err)?,
                    amount: row.try_get("amount").map_err(err)?,
                    requested_amount: row.try_get("requested_amount").map_err(err)?,
                    currency: row.try_get("currency").map_err(err)?,
                    code: row.try_get("code").map_err(err)?,
                    user_data: row.try_get("user_data").map_err(err)?,
                    mode: row.try_get("mode").map_err(err)?,
                    expires_at: row.try_get("expires_at").map_err(err)?,
                    pending_id: row.try_get("pending_id").map_err(err)?,
                    pending_key: row.try_get("pending_key").map_err(err)?,
                    linked: row.try_get("linked").map_err(err)?,
                    created_at: row.try_get("created_at").map_err(err)?,
                }
                .into_transfer()
            }

            fn purchase(row: &DbRow) -> StoreResult<Purchase> {
                PurchaseRow {
                    id: row.try_get("id").map_err(err)?,
                    user_id: row.try_get("user_id").map_err(err)?,
                    pack_id: row.try_get("pack_id").map_err(err)?,
                    price: row.try_get("price").map_err(err)?,
                    bonus: row.try_get("bonus").map_err(err)?,
                    currency: row.try_get("currency").map_err(err)?,
                    status: row.try_get("status").map_err(err)?,
                    checkout_session: row.try_get("checkout_session").map_err(err)?,
                    payment_ref: row.try_get("payment_ref").map_err(err)?,
                    created_at: row.try_get("created_at").map_err(err)?,
                    paid_at: row.try_get("paid_at").map_err(err)?,
                    refunded: row.try_get("refunded").map_err(err)?,
                }
                .into_purchase()
            }

            fn pack(row: &DbRow) -> StoreResult<CreditPack> {
                let currency: String = row.try_get("currency").map_err(err)?;
                let currency: ::augure_domain::Currency =
                    currency.parse().map_err(|_| StoreError::Corrupt(format!("credit pack currency {currency}")))?;
                let active: i64 = row.try_get("active").map_err(err)?;
                Ok(CreditPack {
                    id: row.try_get("id").map_err(err)?,
                    site_id: SiteId(row.try_get("site_id").map_err(err)?),
                    price: Money::new(row.try_get("price").map_err(err)?, currency),
                    bonus: Money::new(row.try_get("bonus").map_err(err)?, currency),
                    active: active != 0,
                })
            }

            fn presence_of(row: &DbRow) -> StoreResult<Option<ExpertPresence>> {
                let status: Option<String> = row.try_get("p_status").map_err(err)?;
                let Some(status) = status else { return Ok(None) };
                PresenceRow {
                    user_id: row.try_get("user_id").map_err(err)?,
                    status,
                    modes_on: row.try_get("p_modes_on").map_err(err)?,
                    paused_until: row.try_get("p_paused_until").map_err(err)?,
                    last_heartbeat: row.try_get("p_last_heartbeat").map_err(err)?,
                    bank_details_at: row.try_get("p_bank_details_at").map_err(err)?,
                    updated_at: row.try_get("p_updated_at").map_err(err)?,
                }
                .into_presence()
                .map(Some)
            }

            fn job(row: &DbRow) -> StoreResult<Job> {
                JobRow {
                    id: row.try_get("id").map_err(err)?,
                    kind: row.try_get("kind").map_err(err)?,
                    payload: row.try_get("payload").map_err(err)?,
                    unique_key: row.try_get("unique_key").map_err(err)?,
                    status: row.try_get("status").map_err(err)?,
                    attempts: row.try_get("attempts").map_err(err)?,
                    run_at: row.try_get("run_at").map_err(err)?,
                    last_error: row.try_get("last_error").map_err(err)?,
                    created_at: row.try_get("created_at").map_err(err)?,
                    finished_at: row.try_get("finished_at").map_err(err)?,
                }
                .into_job()
            }

            fn mail(row: &DbRow) -> StoreResult<StoredMail> {
                MailRow {
                    id: row.try_get("id").map_err(err)?,
                    key: row.try_get("mail_key").map_err(err)?,
                    to_addr: row.try_get("to_addr").map_err(err)?,
                    subject: row.try_get("subject").map_err(err)?,
                    text_body: row.try_get("text_body").map_err(err)?,
                    html_body: row.try_get("html_body").map_err(err)?,
                    created_at: row.try_get("created_at").map_err(err)?,
                }
                .into_mail()
            }

            #[async_trait]
            impl SiteStore for $store {
                async fn create_site(&self, new: &NewSite) -> StoreResult<Site> {
                    let (phones, tariffs) = sql::site_json(new);
                    let q = format!(
                        "INSERT INTO sites (code, name, currency, time_zone, default_locale, phone_numbers, tariffs) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
                        sql::SITE_COLUMNS
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(new.code.as_str())
                        .bind(&new.name)
                        .bind(new.currency.code())
                        .bind(new.time_zone.name())
                        .bind(&new.default_locale)
                        .bind(phones)
                        .bind(tariffs)
                        .fetch_one(&self.writer)
                        .await
                        .map_err(err)?;
                    site(&row)
                }

                async fn list_sites(&self) -> StoreResult<Vec<Site>> {
                    let q = format!("SELECT {} FROM sites ORDER BY id", sql::SITE_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(site).collect()
                }

                async fn site_by_code(&self, code: &SiteCode) -> StoreResult<Site> {
                    let q = format!("SELECT {} FROM sites WHERE code = $1", sql::SITE_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(code.as_str()).fetch_one(&self.reader).await.map_err(err)?;
                    site(&row)
                }
            }

            #[async_trait]
            impl UserStore for $store {
                async fn create_user(&self, new: &NewUser) -> StoreResult<User> {
                    let q = format!(
                        "INSERT INTO users (email, role, display_name, locale, site_id, expert_code, password_hash, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                        sql::USER_COLUMNS
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(new.email.as_str())
                        .bind(new.role.as_str())
                        .bind(&new.display_name)
                        .bind(&new.locale)
                        .bind(new.site_id.map(|s| s.0))
                        .bind(new.expert_code.map(|c| i64::from(c.0)))
                        .bind(&new.password_hash)
                        .bind(sql::micros(new.created_at))
                        .fetch_one(&self.writer)
                        .await
                        .map_err(err)?;
                    user(&row)
                }

                async fn user_by_id(&self, id: UserId) -> StoreResult<User> {
                    let q = format!("SELECT {} FROM users WHERE id = $1", sql::USER_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    user(&row)
                }

                async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
                    let q = format!("SELECT {} FROM users WHERE email = $1", sql::USER_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(email.as_str()).fetch_one(&self.reader).await.map_err(err)?;
                    user(&row)
                }

                async fn user_by_expert_code(&self, code: u32) -> StoreResult<User> {
                    let q = format!("SELECT {} FROM users WHERE expert_code = $1", sql::USER_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(i64::from(code)).fetch_one(&self.reader).await.map_err(err)?;
                    user(&row)
                }

                async fn list_users(&self, role: Option<Role>, limit: i64, offset: i64) -> StoreResult<Vec<User>> {
                    let q = format!(
                        "SELECT {} FROM users WHERE ($1 IS NULL OR role = $1) ORDER BY id LIMIT $2 OFFSET $3",
                        sql::USER_COLUMNS
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(role.map(|r| r.as_str()))
                        .bind(limit)
                        .bind(offset)
                        .fetch_all(&self.reader)
                        .await
                        .map_err(err)?;
                    rows.iter().map(user).collect()
                }

                async fn count_users(&self) -> StoreResult<i64> {
                    ::sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.reader).await.map_err(err)
                }

                async fn set_user_locale(&self, id: UserId, locale: &str) -> StoreResult<()> {
                    let done = ::sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
                        .bind(locale)
                        .bind(id.0)
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                }
            }

            #[async_trait]
            impl ExpertStore for $store {
                async fn upsert_expert_profile(&self, p: &ExpertProfile) -> StoreResult<()> {
                    let (specialties, languages, modes) = sql::profile_json(p);
                    ::sqlx::query(
                        "INSERT INTO expert_profiles (user_id, headline, specialties, languages, modes, price_per_minute, currency, email_price) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (user_id) DO UPDATE SET headline = excluded.headline, specialties = excluded.specialties, \
                         languages = excluded.languages, modes = excluded.modes, price_per_minute = excluded.price_per_minute, \
                         currency = excluded.currency, email_price = excluded.email_price",
                    )
                    .bind(p.user_id.0)
                    .bind(&p.headline)
                    .bind(specialties)
                    .bind(languages)
                    .bind(modes)
                    .bind(p.price_per_minute.minor)
                    .bind(p.price_per_minute.currency.code())
                    .bind(p.email_price.map(|m| m.minor))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn expert_profile(&self, user_id: UserId) -> StoreResult<ExpertProfile> {
                    let q = format!("SELECT {} FROM expert_profiles p WHERE p.user_id = $1", sql::PROFILE_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(user_id.0).fetch_one(&self.reader).await.map_err(err)?;
                    profile(&row)
                }

                async fn save_presence(&self, presence: &ExpertPresence) -> StoreResult<()> {
                    self.upsert_presence(presence).await
                }

                async fn presence(&self, user: UserId) -> StoreResult<ExpertPresence> {
                    let row = ::sqlx::query(
                        "SELECT user_id, status AS p_status, modes_on AS p_modes_on, paused_until AS p_paused_until, \
                         last_heartbeat AS p_last_heartbeat, bank_details_at AS p_bank_details_at, updated_at AS p_updated_at \
                         FROM expert_presence WHERE user_id = $1",
                    )
                    .bind(user.0)
                    .fetch_one(&self.reader)
                    .await
                    .map_err(err)?;
                    presence_of(&row)?.ok_or(StoreError::NotFound)
                }

                async fn directory(&self) -> StoreResult<Vec<DirectoryEntry>> {
                    let q = format!(
                        "SELECT {}, u.display_name, u.expert_code, u.created_at AS signed_up_at, u.site_id, \
                         x.status AS p_status, x.modes_on AS p_modes_on, x.paused_until AS p_paused_until, \
                         x.last_heartbeat AS p_last_heartbeat, x.bank_details_at AS p_bank_details_at, x.updated_at AS p_updated_at \
                         , (SELECT MAX(m.id) FROM expert_media m WHERE m.user_id = p.user_id AND m.kind = 'photo' \
                         AND m.status = 'approved') AS photo_id, d.visible_sites AS visible_sites \
                         FROM expert_profiles p JOIN users u ON u.id = p.user_id \
                         LEFT JOIN expert_presence x ON x.user_id = p.user_id \
                         LEFT JOIN expert_details d ON d.user_id = p.user_id ORDER BY u.id",
                        sql::PROFILE_COLUMNS
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).fetch_all(&self.reader).await.map_err(err)?;
                    // Latest approved presentation per expert and language.
                    let texts = ::sqlx::query(
                        "SELECT user_id, locale, body FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
                         WHERE kind = 'presentation' AND status = 'approved' GROUP BY user_id, locale) ORDER BY locale",
                    )
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    let mut presentations: HashMap<i64, Vec<(String, String)>> = HashMap::new();
                    for t in &texts {
                        presentations
                            .entry(t.try_get("user_id").map_err(err)?)
                            .or_default()
                            .push((t.try_get("locale").map_err(err)?, t.try_get("body").map_err(err)?));
                    }
                    rows.iter()
                        .map(|row| {
                            let code: Option<i64> = row.try_get("expert_code").map_err(err)?;
                            let photo: Option<i64> = row.try_get("photo_id").map_err(err)?;
                            let user: i64 = row.try_get("user_id").map_err(err)?;
                            let visible: Option<String> = row.try_get("visible_sites").map_err(err)?;
                            let site: Option<i64> = row.try_get("site_id").map_err(err)?;
                            Ok(DirectoryEntry {
                                card: ExpertCard {
                                    profile: profile(row)?,
                                    display_name: row.try_get("display_name").map_err(err)?,
                                    expert_code: code.and_then(|c| u32::try_from(c).ok()).map(::augure_domain::ExpertCode),
                                },
                                signed_up_at: sql::instant(row.try_get("signed_up_at").map_err(err)?)?,
                                site_id: site.map(SiteId),
                                presence: presence_of(row)?,
                                photo: photo.map(::augure_domain::MediaId),
                                presentations: presentations.remove(&user).unwrap_or_default(),
                                visible_sites: visible
                                    .unwrap_or_default()
                                    .split(',')
                                    .filter_map(|s| s.parse().ok().map(SiteId))
                                    .collect(),
                            })
                        })
                        .collect()
                }

                async fn save_bank_details(&self, d: &BankDetails) -> StoreResult<()> {
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    ::sqlx::query(
                        "INSERT INTO expert_bank_details (user_id, payout_method, holder, bank_name, bank_country, iban, bic, paypal_email, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (user_id) DO UPDATE SET payout_method = excluded.payout_method, \
                         holder = excluded.holder, bank_name = excluded.bank_name, bank_country = excluded.bank_country, iban = excluded.iban, \
                         bic = excluded.bic, paypal_email = excluded.paypal_email, updated_at = excluded.updated_at",
                    )
                    .bind(d.user_id.0)
                    .bind(sql::payout_str(d.payout_method))
                    .bind(&d.holder)
                    .bind(&d.bank_name)
                    .bind(&d.bank_country)
                    .bind(d.iban.as_deref())
                    .bind(d.bic.as_deref())
                    .bind(d.paypal_email.as_deref())
                    .bind(sql::micros(d.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    // An expert without a presence row yet gets one, unavailable, so the date sticks.
                    ::sqlx::query(
                        "INSERT INTO expert_presence (user_id, status, modes_on, bank_details_at, updated_at) VALUES ($1, 'unavailable', '[]', $2, $2) \
                         ON CONFLICT (user_id) DO UPDATE SET bank_details_at = excluded.bank_details_at",
                    )
                    .bind(d.user_id.0)
                    .bind(sql::micros(d.updated_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    tx.commit().await.map_err(err)?;
                    Ok(())
                }

                async fn expert_details(&self, user: UserId) -> StoreResult<ExpertDetails> {
                    let row = ::sqlx::query(
                        "SELECT user_id, legal_name, company_name, company_number, vat_number, address, postal_code, city, \
                         country, phone, email_needs, package_price, package_minutes, free_minutes, visible_sites, terms_version, \
                         terms_accepted_at, updated_at FROM expert_details WHERE user_id = $1",
                    )
                    .bind(user.0)
                    .fetch_one(&self.reader)
                    .await
                    .map_err(err)?;
                    let sites: String = row.try_get("visible_sites").map_err(err)?;
                    let minutes: Option<i64> = row.try_get("package_minutes").map_err(err)?;
                    let free: i64 = row.try_get("free_minutes").map_err(err)?;
                    let version: Option<i64> = row.try_get("terms_version").map_err(err)?;
                    let accepted: Option<i64> = row.try_get("terms_accepted_at").map_err(err)?;
                    Ok(ExpertDetails {
                        user_id: user,
                        legal_name: row.try_get("legal_name").map_err(err)?,
                        company_name: row.try_get("company_name").map_err(err)?,
                        company_number: row.try_get("company_number").map_err(err)?,
                        vat_number: row.try_get("vat_number").map_err(err)?,
                        address: row.try_get("address").map_err(err)?,
                        postal_code: row.try_get("postal_code").map_err(err)?,
                        city: row.try_get("city").map_err(err)?,
                        country: row.try_get("country").map_err(err)?,
                        phone: row.try_get("phone").map_err(err)?,
                        email_needs: row.try_get("email_needs").map_err(err)?,
                        package_price: row.try_get("package_price").map_err(err)?,
                        package_minutes: minutes.and_then(|m| u32::try_from(m).ok()),
                        free_minutes: u32::try_from(free).unwrap_or(0),
                        visible_sites: sites
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| s.parse().map(SiteId).map_err(|_| StoreError::Corrupt(format!("site id {s}"))))
                            .collect::<StoreResult<_>>()?,
                        terms_version: version.and_then(|v| u32::try_from(v).ok()),
                        terms_accepted_at: accepted.map(sql::instant).transpose()?,
                        updated_at: sql::instant(row.try_get("updated_at").map_err(err)?)?,
                    })
                }

                async fn save_expert_details(&self, d: &ExpertDetails) -> StoreResult<()> {
                    let sites = d.visible_sites.iter().map(|s| s.0.to_string()).collect::<Vec<_>>().join(",");
                    ::sqlx::query(
                        "INSERT INTO expert_details (user_id, legal_name, company_name, company_number, vat_number, address, postal_code, \
                         city, country, phone, email_needs, package_price, package_minutes, free_minutes, visible_sites, terms_version, \
                         terms_accepted_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                         ON CONFLICT (user_id) DO UPDATE SET legal_name = excluded.legal_name, company_name = excluded.company_name, \
                         company_number = excluded.company_number, vat_number = excluded.vat_number, address = excluded.address, \
                         postal_code = excluded.postal_code, city = excluded.city, country = excluded.country, phone = excluded.phone, \
                         email_needs = excluded.email_needs, package_price = excluded.package_price, package_minutes = excluded.package_minutes, \
                         free_minutes = excluded.free_minutes, visible_sites = excluded.visible_sites, terms_version = excluded.terms_version, \
                         terms_accepted_at = excluded.terms_accepted_at, updated_at = excluded.updated_at",
                    )
                    .bind(d.user_id.0)
                    .bind(&d.legal_name)
                    .bind(&d.company_name)
                    .bind(&d.company_number)
                    .bind(&d.vat_number)
                    .bind(&d.address)
                    .bind(&d.postal_code)
                    .bind(&d.city)
                    .bind(&d.country)
                    .bind(&d.phone)
                    .bind(&d.email_needs)
                    .bind(d.package_price)
                    .bind(d.package_minutes.map(i64::from))
                    .bind(i64::from(d.free_minutes))
                    .bind(sites)
                    .bind(d.terms_version.map(i64::from))
                    .bind(d.terms_accepted_at.map(sql::micros))
                    .bind(sql::micros(d.updated_at))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn specialties(&self) -> StoreResult<Vec<Specialty>> {
                    let rows = ::sqlx::query("SELECT key, label, position, active FROM specialties ORDER BY position, key")
                        .fetch_all(&self.reader)
                        .await
                        .map_err(err)?;
                    rows.iter()
                        .map(|row| {
                            let active: i64 = row.try_get("active").map_err(err)?;
                            Ok(Specialty {
                                key: row.try_get("key").map_err(err)?,
                                label: row.try_get("label").map_err(err)?,
                                position: row.try_get("position").map_err(err)?,
                                active: active != 0,
                            })
                        })
                        .collect()
                }

                async fn save_specialty(&self, s: &Specialty) -> StoreResult<()> {
                    ::sqlx::query(
                        "INSERT INTO specialties (key, label, position, active) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (key) DO UPDATE SET label = excluded.label, position = excluded.position, active = excluded.active",
                    )
                    .bind(&s.key)
                    .bind(&s.label)
                    .bind(s.position)
                    .bind(i64::from(s.active))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn bank_details(&self, user: UserId) -> StoreResult<BankDetails> {
                    let row = ::sqlx::query(
                        "SELECT user_id, payout_method, holder, bank_name, bank_country, iban, bic, paypal_email, updated_at \
                         FROM expert_bank_details WHERE user_id = $1",
                    )
                    .bind(user.0)
                    .fetch_one(&self.reader)
                    .await
                    .map_err(err)?;
                    let method: String = row.try_get("payout_method").map_err(err)?;
                    Ok(BankDetails {
                        user_id: user,
                        payout_method: sql::parse_payout(&method).ok_or_else(|| StoreError::Corrupt(format!("payout method {method}")))?,
                        holder: row.try_get("holder").map_err(err)?,
                        bank_name: row.try_get("bank_name").map_err(err)?,
                        bank_country: row.try_get("bank_country").map_err(err)?,
                        iban: row.try_get("iban").map_err(err)?,
                        bic: row.try_get("bic").map_err(err)?,
                        paypal_email: row.try_get("paypal_email").map_err(err)?,
                        updated_at: sql::instant(row.try_get("updated_at").map_err(err)?)?,
                    })
                }

                async fn list_expert_cards(&self, limit: i64, offset: i64) -> StoreResult<Vec<ExpertCard>> {
                    let q = format!(
                        "SELECT {}, u.display_name, u.expert_code FROM expert_profiles p JOIN users u ON u.id = p.user_id \
                         ORDER BY u.id LIMIT $1 OFFSET $2",
                        sql::PROFILE_COLUMNS
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter()
                        .map(|row| {
                            let code: Option<i64> = row.try_get("expert_code").map_err(err)?;
                            Ok(ExpertCard {
                                profile: profile(row)?,
                                display_name: row.try_get("display_name").map_err(err)?,
                                expert_code: code.and_then(|c| u32::try_from(c).ok()).map(::augure_domain::ExpertCode),
                            })
                        })
                        .collect()
                }
            }


            fn back_alert(row: &DbRow) -> StoreResult<BackAlert> {
                let notified_at: Option<i64> = row.try_get("notified_at").map_err(err)?;
                Ok(BackAlert {
                    id: row.try_get("id").map_err(err)?,
                    client_id: UserId(row.try_get("client_id").map_err(err)?),
                    expert_id: UserId(row.try_get("expert_id").map_err(err)?),
                    created_at: sql::instant(row.try_get("created_at").map_err(err)?)?,
                    notified_at: notified_at.map(sql::instant).transpose()?,
                })
            }

            fn planned_slot(row: &DbRow) -> StoreResult<::augure_domain::planning::PlannedSlot> {
                let day: String = row.try_get("day").map_err(err)?;
                sql::planned_slot(&day, row.try_get("start_minute").map_err(err)?, row.try_get("end_minute").map_err(err)?)
            }

            #[async_trait]
            impl PlanningStore for $store {
                async fn planning(
                    &self,
                    user: UserId,
                    from: ::chrono::NaiveDate,
                    to: ::chrono::NaiveDate,
                ) -> StoreResult<Vec<::augure_domain::planning::PlannedSlot>> {
                    let rows = ::sqlx::query(
                        "SELECT day, start_minute, end_minute FROM expert_planning \
                         WHERE user_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, start_minute, end_minute",
                    )
                    .bind(user.0)
                    .bind(sql::day_str(from))
                    .bind(sql::day_str(to))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    rows.iter().map(planned_slot).collect()
                }

                async fn planning_between(
                    &self,
                    from: ::chrono::NaiveDate,
                    to: ::chrono::NaiveDate,
                ) -> StoreResult<Vec<(UserId, ::augure_domain::planning::PlannedSlot)>> {
                    let rows = ::sqlx::query(
                        "SELECT user_id, day, start_minute, end_minute FROM expert_planning \
                         WHERE day >= $1 AND day <= $2 ORDER BY user_id, day, start_minute, end_minute",
                    )
                    .bind(sql::day_str(from))
                    .bind(sql::day_str(to))
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    rows.iter().map(|row| Ok((UserId(row.try_get("user_id").map_err(err)?), planned_slot(row)?))).collect()
                }

                async fn replace_planning_day(
                    &self,
                    user: UserId,
                    day: ::chrono::NaiveDate,
                    slots: &[::augure_domain::planning::PlannedSlot],
                ) -> StoreResult<()> {
                    let day = sql::day_str(day);
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    // Two replacements of one expert's day must not interleave (both deleting
                    // nothing, then both inserting): lock the expert's row first.
                    ::sqlx::query(concat!("SELECT id FROM users WHERE id = $1 ", $lock))
                        .bind(user.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                    ::sqlx::query("DELETE FROM expert_planning WHERE user_id = $1 AND day = $2")
                        .bind(user.0)
                        .bind(&day)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    for slot in slots {
                        let (start, end) = slot.minutes();
                        ::sqlx::query(
                            "INSERT INTO expert_planning (user_id, day, start_minute, end_minute) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(user.0)
                        .bind(&day)
                        .bind(i64::from(start))
                        .bind(i64::from(end))
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    }
                    tx.commit().await.map_err(err)?;
                    Ok(())
                }

                async fn add_back_alert(&self, client: UserId, expert: UserId, at: DateTime<Utc>) -> StoreResult<bool> {
                    // The partial unique index on pending alerts makes a second ask a no-op.
                    let done = ::sqlx::query(
                        "INSERT INTO expert_alerts (client_id, expert_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(client.0)
                    .bind(expert.0)
                    .bind(sql::micros(at))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn pending_back_alerts(&self, expert: UserId) -> StoreResult<Vec<BackAlert>> {
                    let q = format!(
                        "SELECT {} FROM expert_alerts WHERE expert_id = $1 AND notified_at IS NULL ORDER BY id",
                        sql::ALERT_COLUMNS
                    );
                    // Through the writer: the job that sends them must see alerts just added.
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(expert.0).fetch_all(&self.writer).await.map_err(err)?;
                    rows.iter().map(back_alert).collect()
                }

                async fn mark_back_alerts_notified(&self, expert: UserId, at: DateTime<Utc>) -> StoreResult<Vec<BackAlert>> {
                    // One statement: a concurrent second UPDATE finds the rows no longer pending.
                    let q = format!(
                        "UPDATE expert_alerts SET notified_at = $2 WHERE expert_id = $1 AND notified_at IS NULL RETURNING {}",
                        sql::ALERT_COLUMNS
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(expert.0)
                        .bind(sql::micros(at))
                        .fetch_all(&self.writer)
                        .await
                        .map_err(err)?;
                    let mut alerts = rows.iter().map(back_alert).collect::<StoreResult<Vec<_>>>()?;
                    alerts.sort_by_key(|a| a.id);
                    Ok(alerts)
                }

                async fn has_back_alert(&self, client: UserId, expert: UserId) -> StoreResult<bool> {
                    let found: Option<i64> = ::sqlx::query_scalar(
                        "SELECT id FROM expert_alerts WHERE client_id = $1 AND expert_id = $2 AND notified_at IS NULL",
                    )
                    .bind(client.0)
                    .bind(expert.0)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err(err)?;
                    Ok(found.is_some())
                }
            }

            #[async_trait]
            impl LedgerStore for $store {
                async fn ledger_account(
                    &self,
                    owner: LedgerOwner,
                    kind: AccountKind,
                    currency: Currency,
                    now: DateTime<Utc>,
                ) -> StoreResult<LedgerAccount> {
                    ::sqlx::query(
                        "INSERT INTO ledger_accounts (owner_key, owner_id, kind, currency, flags, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner_key, kind, currency) DO NOTHING",
                    )
                    .bind(owner.key())
                    .bind(owner.user().map(|u| u.0))
                    .bind(kind.as_str())
                    .bind(currency.code())
                    .bind(sql::account_flags(kind.default_flags()))
                    .bind(sql::micros(now))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    let q = format!(
                        "SELECT {} FROM ledger_accounts WHERE owner_key = $1 AND kind = $2 AND currency = $3",
                        sql::ACCOUNT_COLUMNS
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(owner.key())
                        .bind(kind.as_str())
                        .bind(currency.code())
                        .fetch_one(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(account(&row)?.0)
                }

                async fn find_ledger_account(
                    &self,
                    owner: LedgerOwner,
                    kind: AccountKind,
                    currency: Currency,
                ) -> StoreResult<Option<LedgerAccount>> {
                    let q = format!(
                        "SELECT {} FROM ledger_accounts WHERE owner_key = $1 AND kind = $2 AND currency = $3",
                        sql::ACCOUNT_COLUMNS
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(owner.key())
                        .bind(kind.as_str())
                        .bind(currency.code())
                        .fetch_optional(&self.reader)
                        .await
                        .map_err(err)?;
                    row.map(|row| Ok(account(&row)?.0)).transpose()
                }

                async fn find_ledger_accounts(
                    &self,
                    owners: &[LedgerOwner],
                    kind: AccountKind,
                ) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>> {
                    let mut found = Vec::new();
                    for chunk in owners.chunks(400) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(format!(
                            "SELECT {} FROM ledger_accounts WHERE kind = ",
                            sql::ACCOUNT_COLUMNS
                        ));
                        qb.push_bind(kind.as_str()).push(" AND owner_key IN (");
                        let mut list = qb.separated(", ");
                        for owner in chunk {
                            list.push_bind(owner.key());
                        }
                        list.push_unseparated(")");
                        for row in qb.build().fetch_all(&self.reader).await.map_err(err)? {
                            found.push(account(&row)?);
                        }
                    }
                    found.sort_by_key(|(a, _)| a.id.0);
                    Ok(found)
                }

                async fn ledger_account_by_id(&self, id: AccountId) -> StoreResult<(LedgerAccount, LedgerOwner)> {
                    let q = format!("SELECT {} FROM ledger_accounts WHERE id = $1", sql::ACCOUNT_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    account(&row)
                }

                async fn ledger_accounts(&self, limit: i64, offset: i64) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>> {
                    let q = format!("SELECT {} FROM ledger_accounts ORDER BY id LIMIT $1 OFFSET $2", sql::ACCOUNT_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(account).collect()
                }

                async fn create_transfers(
                    &self,
                    requests: &[TransferRequest],
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
                    // A concurrent batch may insert the same key first; running again then
                    // sees it as an existing transfer.
                    let mut attempt = 0;
                    loop {
                        match self.try_create_transfers(requests, now).await {
                            Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
                            other => return other,
                        }
                    }
                }

                async fn transfer_by_key(&self, key: &str) -> StoreResult<Transfer> {
                    let q = format!("SELECT {} FROM ledger_transfers WHERE transfer_key = $1", sql::TRANSFER_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(key).fetch_one(&self.reader).await.map_err(err)?;
                    transfer(&row)
                }

                async fn account_transfers(&self, account_id: AccountId, limit: i64) -> StoreResult<Vec<Transfer>> {
                    // Walks the account's chain back from its last transfer: a point read per
                    // step, and no per-account index for every transfer to update.
                    let q = format!(
                        "WITH RECURSIVE chain (id, step) AS ( \
                             SELECT last_transfer_id, CAST(1 AS BIGINT) FROM ledger_accounts \
                             WHERE id = $1 AND last_transfer_id IS NOT NULL \
                             UNION ALL \
                             SELECT CASE WHEN t.debit_account_id = $1 THEN t.debit_previous_id ELSE t.credit_previous_id END, \
                                    chain.step + 1 \
                             FROM chain JOIN ledger_transfers t ON t.id = chain.id \
                             WHERE chain.step < $2 \
                               AND (CASE WHEN t.debit_account_id = $1 THEN t.debit_previous_id ELSE t.credit_previous_id END) IS NOT NULL \
                         ) \
                         SELECT {} FROM chain JOIN ledger_transfers t ON t.id = chain.id ORDER BY chain.step",
                        sql::TRANSFER_COLUMNS.replace("id, transfer_key", "t.id, t.transfer_key")
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(account_id.0).bind(limit).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(transfer).collect()
                }

                async fn recent_transfers(&self, limit: i64, offset: i64) -> StoreResult<Vec<Transfer>> {
                    let q = format!("SELECT {} FROM ledger_transfers ORDER BY id DESC LIMIT $1 OFFSET $2", sql::TRANSFER_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(transfer).collect()
                }

                async fn expired_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Transfer>> {
                    let q = format!(
                        "SELECT {} FROM ledger_transfers t WHERE t.mode = 'pending' AND t.expires_at <= $1 \
                         AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id) \
                         ORDER BY t.expires_at, t.id LIMIT $2",
                        sql::TRANSFER_COLUMNS.replace("id, transfer_key", "t.id, t.transfer_key")
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(sql::micros(now)).bind(limit).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(transfer).collect()
                }

                async fn trial_balance(&self) -> StoreResult<Vec<TrialBalance>> {
                    let rows = ::sqlx::query(
                        "SELECT currency, CAST(SUM(debits_posted) AS BIGINT) AS dp, CAST(SUM(credits_posted) AS BIGINT) AS cp, \
                         CAST(SUM(debits_pending) AS BIGINT) AS dn, CAST(SUM(credits_pending) AS BIGINT) AS cn \
                         FROM ledger_accounts GROUP BY currency ORDER BY currency",
                    )
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    rows.iter()
                        .map(|row| {
                            let code: String = row.try_get("currency").map_err(err)?;
                            Ok(TrialBalance {
                                currency: code.parse().map_err(|_| StoreError::Corrupt(format!("currency {code}")))?,
                                debits_posted: row.try_get("dp").map_err(err)?,
                                credits_posted: row.try_get("cp").map_err(err)?,
                                debits_pending: row.try_get("dn").map_err(err)?,
                                credits_pending: row.try_get("cn").map_err(err)?,
                            })
                        })
                        .collect()
                }

                async fn ledger_snapshot(&self) -> StoreResult<ledger::Books> {
                    // One read transaction: everything describes the same moment.
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                        "SELECT {}, last_transfer_id FROM ledger_accounts ORDER BY id",
                        sql::ACCOUNT_COLUMNS
                    )))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err)?;
                    let mut books = ledger::Books::default();
                    for row in &rows {
                        let (account, _) = account(row)?;
                        if let Some(last) = row.try_get::<Option<i64>, _>("last_transfer_id").map_err(err)? {
                            books.heads.insert(account.id, TransferId(last));
                        }
                        books.accounts.push(account);
                    }
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(format!(
                        "SELECT {}, debit_version, debit_previous_id, debit_debits_pending, debit_debits_posted, \
                         debit_credits_pending, debit_credits_posted, credit_version, credit_previous_id, \
                         credit_debits_pending, credit_debits_posted, credit_credits_pending, credit_credits_posted \
                         FROM ledger_transfers ORDER BY id",
                        sql::TRANSFER_COLUMNS
                    )))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err)?;
                    for row in &rows {
                        let t = transfer(row)?;
                        for (side, account) in [("debit", t.debit), ("credit", t.credit)] {
                            let column = |name: &str| format!("{side}_{name}");
                            let get = |name: &str| row.try_get::<i64, _>(column(name).as_str()).map_err(err);
                            books.entries.push(Entry {
                                account,
                                transfer: t.id,
                                version: get("version")?,
                                balances: ::augure_domain::ledger::Balances {
                                    debits_pending: get("debits_pending")?,
                                    debits_posted: get("debits_posted")?,
                                    credits_pending: get("credits_pending")?,
                                    credits_posted: get("credits_posted")?,
                                },
                                previous: row
                                    .try_get::<Option<i64>, _>(column("previous_id").as_str())
                                    .map_err(err)?
                                    .map(TransferId),
                            });
                        }
                        books.transfers.push(ReplayedTransfer {
                            id: t.id,
                            debit: t.debit,
                            credit: t.credit,
                            amount: t.amount,
                            mode: t.mode,
                            pending_id: t.pending_id,
                        });
                    }
                    tx.commit().await.map_err(err)?;
                    Ok(books)
                }
            }

            impl $store {
                async fn refund_in(&self, conn: &mut <$db as ::sqlx::Database>::Connection, key: &str) -> StoreResult<Option<Refund>> {
                    let row = ::sqlx::query("SELECT purchase_id, refund_key, amount, status FROM purchase_refunds WHERE refund_key = $1")
                        .bind(key)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(err)?;
                    row.as_ref().map(refund).transpose()
                }

                /// One batch in one transaction, with a constant number of statements per
                /// batch (not per transfer): that is what makes batching pay. Each transfer is
                /// one appended row carrying both sides' entries, and the touched accounts are
                /// updated by one statement.
                async fn try_create_transfers(
                    &self,
                    requests: &[TransferRequest],
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
                    // Held for the whole batch: the cache changes only with what was committed.
                    let mut cache = match self.ledger_cache() {
                        Some(cache) => Some(cache.lock().await),
                        None => None,
                    };
                    let result = self.write_transfers(requests, now, cache.as_deref_mut()).await;
                    if result.is_err() {
                        // Whatever failed, the database decides what the accounts hold now.
                        if let Some(cache) = cache.as_mut() {
                            cache.clear();
                        }
                    }
                    result
                }

                async fn write_transfers(
                    &self,
                    requests: &[TransferRequest],
                    now: DateTime<Utc>,
                    mut cache: Option<&mut sql::LedgerCache>,
                ) -> StoreResult<Vec<Result<Transfer, LedgerError>>> {
                    // Rows per multi-row statement: at 27 binds a row, well under both
                    // engines' bind limits (SQLite 32,766; PostgreSQL 65,535).
                    const CHUNK: usize = 400;
                    let mut tx = self.writer.begin().await.map_err(err)?;

                    // With one writer (SQLite), nobody else numbers transfers, so the batch's
                    // ids follow the largest; and the cached accounts are what the database
                    // holds as long as the largest id is the one this writer last wrote.
                    let largest_id = match cache.as_deref_mut() {
                        Some(cache) => {
                            let largest: i64 = ::sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM ledger_transfers")
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(err)?;
                            cache.validate(largest);
                            Some(largest)
                        }
                        None => None,
                    };

                    // Lock the accounts in id order, so concurrent batches cannot deadlock.
                    let mut ids: Vec<i64> = requests.iter().flat_map(|r| [r.debit.0, r.credit.0]).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let mut accounts: HashMap<AccountId, LedgerAccount> = HashMap::new();
                    // Per account: the version and last transfer as read, then as the batch leaves them.
                    let mut chains: HashMap<AccountId, sql::Chain> = HashMap::new();
                    if let Some(cache) = cache.as_deref() {
                        ids.retain(|id| match cache.account(AccountId(*id)) {
                            Some((account, version, last)) => {
                                chains.insert(account.id, sql::Chain::new(version, last));
                                accounts.insert(account.id, account.clone());
                                false
                            }
                            None => true,
                        });
                    }
                    for chunk in ids.chunks(CHUNK) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(
                            "SELECT id, owner_key, kind, currency, flags, debits_pending, debits_posted, credits_pending, \
                             credits_posted, version, last_transfer_id FROM ledger_accounts WHERE id IN (",
                        );
                        let mut list = qb.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        list.push_unseparated(") ORDER BY id ");
                        qb.push($lock);
                        for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                            let (account, _) = account(&row)?;
                            let version: i64 = row.try_get("version").map_err(err)?;
                            let last: Option<i64> = row.try_get("last_transfer_id").map_err(err)?;
                            chains.insert(account.id, sql::Chain::new(version, last.map(TransferId)));
                            accounts.insert(account.id, account);
                        }
                    }

                    // Transfers already stored under the batch's keys, and the holds it resolves.
                    let mut keys: Vec<&str> = requests
                        .iter()
                        .flat_map(|r| ::std::iter::once(r.key.as_str()).chain(r.pending_key.as_deref()))
                        .collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let mut known: HashMap<String, KnownTransfer> = HashMap::new();
                    for chunk in keys.chunks(CHUNK) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(
                            "SELECT t.id, t.transfer_key, t.debit_account_id, t.credit_account_id, t.amount, t.requested_amount, \
                             t.currency, t.code, t.user_data, t.mode, t.expires_at, t.pending_id, t.pending_key, t.linked, t.created_at, \
                             (SELECT r.mode FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolved_by \
                             FROM ledger_transfers t WHERE t.transfer_key IN (",
                        );
                        let mut list = qb.separated(", ");
                        for key in chunk {
                            list.push_bind(key.to_string());
                        }
                        list.push_unseparated(") ORDER BY t.id ");
                        qb.push($lock);
                        for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                            let stored = transfer(&row)?;
                            let resolved_by: Option<String> = row.try_get("resolved_by").map_err(err)?;
                            let hold_state = match (&stored.mode, resolved_by.as_deref()) {
                                (TransferMode::Pending { .. }, None) => Some(ledger::HoldState::Pending),
                                (TransferMode::Pending { .. }, Some("post_pending")) => Some(ledger::HoldState::Posted),
                                (TransferMode::Pending { .. }, Some("void_pending")) => Some(ledger::HoldState::Voided),
                                (TransferMode::Pending { .. }, Some(_)) => Some(ledger::HoldState::Expired),
                                _ => None,
                            };
                            known.insert(
                                stored.key.clone(),
                                KnownTransfer { id: stored.id, request: sql::request_of(&stored), hold_state, amount: stored.amount },
                            );
                        }
                    }

                    let outcomes = ledger::plan_batch(&mut accounts, &known, requests, now);
                    let created: Vec<(usize, &ledger::PlannedTransfer)> = outcomes
                        .iter()
                        .enumerate()
                        .filter_map(|(i, o)| match o {
                            Outcome::Created(p) => Some((i, &**p)),
                            _ => None,
                        })
                        .collect();

                    // Ids are taken now, under the account locks, so that the transfers of one
                    // account are numbered in the order they apply, and so that a transfer can
                    // name a hold or an entry made earlier in the same batch.
                    let sequence_sql: Option<&'static str> = None $(.or(Some($next_ids)))?;
                    let mut new_ids: Vec<i64> = match (largest_id, sequence_sql) {
                        (Some(largest), _) => (largest + 1..).take(created.len()).collect(),
                        (None, _) if created.is_empty() => Vec::new(),
                        (None, Some(sequence_sql)) => ::sqlx::query_scalar(sequence_sql)
                            .bind(created.len() as i64)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(err)?,
                        (None, None) => return Err(StoreError::Corrupt("no way to number transfers".into())),
                    };
                    new_ids.sort_unstable();
                    if new_ids.len() != created.len() {
                        return Err(StoreError::Corrupt(format!("{} transfer ids for {} transfers", new_ids.len(), created.len())));
                    }
                    let mut ids_by_key: HashMap<&str, TransferId> = known.iter().map(|(k, t)| (k.as_str(), t.id)).collect();
                    // As stored: instants keep microseconds.
                    let created_at = sql::instant(sql::micros(now))?;
                    let mut rows: Vec<(Transfer, [sql::EntryRow; 2])> = Vec::with_capacity(created.len());
                    for ((_, p), id) in created.iter().zip(&new_ids) {
                        let r = &p.request;
                        let id = TransferId(*id);
                        let mode = match r.mode {
                            TransferMode::Pending { expires_at } => TransferMode::Pending {
                                expires_at: expires_at.map(|at| sql::instant(sql::micros(at))).transpose()?,
                            },
                            other => other,
                        };
                        let sides = [(r.debit, p.debit_after), (r.credit, p.credit_after)].map(|(account, balances)| {
                            let chain = chains.entry(account).or_insert_with(|| sql::Chain::new(0, None));
                            let (version, previous) = chain.append(id);
                            sql::EntryRow { version, previous, balances }
                        });
                        let t = Transfer {
                            id,
                            key: r.key.clone(),
                            debit: r.debit,
                            credit: r.credit,
                            amount: p.amount,
                            requested_amount: r.amount,
                            currency: r.currency,
                            code: r.code.clone(),
                            user_data: r.user_data.clone(),
                            mode,
                            pending_id: r.pending_key.as_deref().and_then(|k| ids_by_key.get(k)).copied(),
                            pending_key: r.pending_key.clone(),
                            linked: r.linked,
                            created_at,
                        };
                        ids_by_key.insert(r.key.as_str(), id);
                        rows.push((t, sides));
                    }

                    for chunk in rows.chunks(CHUNK) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO ledger_transfers (id, transfer_key, debit_account_id, credit_account_id, amount, \
                             requested_amount, currency, code, user_data, mode, expires_at, pending_id, pending_key, linked, created_at, \
                             debit_version, debit_previous_id, debit_debits_pending, debit_debits_posted, debit_credits_pending, \
                             debit_credits_posted, credit_version, credit_previous_id, credit_debits_pending, credit_debits_posted, \
                             credit_credits_pending, credit_credits_posted) ",
                        );
                        qb.push_values(chunk, |mut row, (t, sides)| {
                            let expires_at = match t.mode {
                                TransferMode::Pending { expires_at } => expires_at.map(sql::micros),
                                _ => None,
                            };
                            row.push_bind(t.id.0)
                                .push_bind(t.key.clone())
                                .push_bind(t.debit.0)
                                .push_bind(t.credit.0)
                                .push_bind(t.amount)
                                .push_bind(t.requested_amount)
                                .push_bind(t.currency.code())
                                .push_bind(t.code.clone())
                                .push_bind(t.user_data.clone())
                                .push_bind(t.mode.as_str())
                                .push_bind(expires_at)
                                .push_bind(t.pending_id.map(|id| id.0))
                                .push_bind(t.pending_key.clone())
                                .push_bind(i64::from(t.linked))
                                .push_bind(sql::micros(t.created_at));
                            for side in sides {
                                row.push_bind(side.version)
                                    .push_bind(side.previous.map(|id| id.0))
                                    .push_bind(side.balances.debits_pending)
                                    .push_bind(side.balances.debits_posted)
                                    .push_bind(side.balances.credits_pending)
                                    .push_bind(side.balances.credits_posted);
                            }
                        });
                        qb.build().execute(&mut *tx).await.map_err(err)?;
                    }

                    // The accounts' new sums, versions and last transfers, in one statement per
                    // chunk. The version read under the lock must still be there: a count short
                    // of the accounts means another writer got in, and the batch starts over.
                    let mut touched: Vec<(AccountId, &sql::Chain)> =
                        chains.iter().filter(|(_, c)| c.changed()).map(|(id, c)| (*id, c)).collect();
                    touched.sort_unstable_by_key(|(id, _)| *id);
                    for chunk in touched.chunks(CHUNK) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(
                            "UPDATE ledger_accounts SET debits_pending = v.column2, debits_posted = v.column3, \
                             credits_pending = v.column4, credits_posted = v.column5, version = v.column6, \
                             last_transfer_id = v.column7 FROM (",
                        );
                        qb.push_values(chunk, |mut row, (account_id, chain)| {
                            let b = accounts[account_id].balances;
                            row.push_bind(account_id.0)
                                .push_bind(b.debits_pending)
                                .push_bind(b.debits_posted)
                                .push_bind(b.credits_pending)
                                .push_bind(b.credits_posted)
                                .push_bind(chain.version)
                                .push_bind(chain.last.map(|id| id.0))
                                .push_bind(chain.read_version);
                        });
                        qb.push(") AS v WHERE ledger_accounts.id = v.column1 AND ledger_accounts.version = v.column8");
                        let updated = qb.build().execute(&mut *tx).await.map_err(err)?.rows_affected();
                        if updated != chunk.len() as u64 {
                            return Err(StoreError::Conflict("ledger_account_version"));
                        }
                    }

                    // Replays answer with the stored transfer.
                    let existing: Vec<i64> = outcomes
                        .iter()
                        .filter_map(|o| match o {
                            Outcome::Exists(id) => Some(id.0),
                            _ => None,
                        })
                        .collect();
                    let mut by_id: HashMap<TransferId, Transfer> = HashMap::new();
                    for chunk in existing.chunks(CHUNK) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(format!("SELECT {} FROM ledger_transfers WHERE id IN (", sql::TRANSFER_COLUMNS));
                        let mut list = qb.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        list.push_unseparated(")");
                        for row in qb.build().fetch_all(&mut *tx).await.map_err(err)? {
                            let t = transfer(&row)?;
                            by_id.insert(t.id, t);
                        }
                    }
                    tx.commit().await.map_err(err)?;
                    if let (Some(cache), Some(largest)) = (cache, largest_id) {
                        let last = new_ids.last().copied().unwrap_or(largest);
                        cache.remember(accounts.values().map(|a| (a, chains[&a.id].version, chains[&a.id].last)), last);
                    }

                    let mut stored: HashMap<usize, Transfer> =
                        created.iter().zip(rows).map(|((i, _), (t, _))| (*i, t)).collect();
                    let mut results: Vec<Result<Transfer, LedgerError>> = Vec::with_capacity(outcomes.len());
                    for (i, outcome) in outcomes.into_iter().enumerate() {
                        let result = match outcome {
                            Outcome::Created(_) => Ok(stored.remove(&i).ok_or_else(|| StoreError::Corrupt(format!("transfer {i} not stored")))?),
                            Outcome::Exists(id) => Ok(by_id.get(&id).cloned().ok_or(StoreError::NotFound)?),
                            Outcome::SameAs(earlier) => results[earlier].clone(),
                            Outcome::Failed(e) => Err(e),
                        };
                        results.push(result);
                    }
                    Ok(results)
                }
            }

            #[async_trait]
            impl PaymentStore for $store {
                async fn create_credit_pack(&self, site: SiteId, price: Money, bonus: Money, now: DateTime<Utc>) -> StoreResult<CreditPack> {
                    let row = ::sqlx::query(
                        "INSERT INTO credit_packs (site_id, price, bonus, currency, active, created_at) VALUES ($1, $2, $3, $4, 1, $5) \
                         RETURNING id, site_id, price, bonus, currency, active",
                    )
                    .bind(site.0)
                    .bind(price.minor)
                    .bind(bonus.minor)
                    .bind(price.currency.code())
                    .bind(sql::micros(now))
                    .fetch_one(&self.writer)
                    .await
                    .map_err(err)?;
                    pack(&row)
                }

                async fn credit_pack(&self, id: i64) -> StoreResult<CreditPack> {
                    let row = ::sqlx::query("SELECT id, site_id, price, bonus, currency, active FROM credit_packs WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.reader)
                        .await
                        .map_err(err)?;
                    pack(&row)
                }

                async fn credit_packs(&self, site: SiteId) -> StoreResult<Vec<CreditPack>> {
                    let rows = ::sqlx::query(
                        "SELECT id, site_id, price, bonus, currency, active FROM credit_packs WHERE site_id = $1 AND active = 1 ORDER BY price, id",
                    )
                    .bind(site.0)
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    rows.iter().map(pack).collect()
                }

                async fn all_credit_packs(&self) -> StoreResult<Vec<CreditPack>> {
                    let rows = ::sqlx::query("SELECT id, site_id, price, bonus, currency, active FROM credit_packs ORDER BY site_id, price, id")
                        .fetch_all(&self.reader)
                        .await
                        .map_err(err)?;
                    rows.iter().map(pack).collect()
                }

                async fn set_credit_pack_active(&self, id: i64, active: bool) -> StoreResult<()> {
                    let done = ::sqlx::query("UPDATE credit_packs SET active = $1 WHERE id = $2")
                        .bind(i64::from(active))
                        .bind(id)
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                }

                async fn create_purchase(&self, user: UserId, p: &CreditPack, now: DateTime<Utc>) -> StoreResult<Purchase> {
                    let id: i64 = ::sqlx::query_scalar(
                        "INSERT INTO purchases (user_id, pack_id, price, bonus, currency, status, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING id",
                    )
                    .bind(user.0)
                    .bind(p.id)
                    .bind(p.price.minor)
                    .bind(p.bonus.minor)
                    .bind(p.price.currency.code())
                    .bind(sql::micros(now))
                    .fetch_one(&self.writer)
                    .await
                    .map_err(err)?;
                    self.purchase_on_writer(id).await
                }

                async fn set_checkout_session(&self, id: i64, session: &str) -> StoreResult<()> {
                    let done = ::sqlx::query("UPDATE purchases SET checkout_session = $1 WHERE id = $2 AND checkout_session IS NULL")
                        .bind(session)
                        .bind(id)
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    if done.rows_affected() == 0 { Err(StoreError::Conflict("checkout_session")) } else { Ok(()) }
                }

                async fn purchase(&self, id: i64) -> StoreResult<Purchase> {
                    let q = format!("SELECT {} FROM purchases p WHERE p.id = $1", sql::PURCHASE_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id).fetch_one(&self.reader).await.map_err(err)?;
                    purchase(&row)
                }

                async fn purchases_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Purchase>> {
                    let mut found = Vec::new();
                    for chunk in ids.chunks(400) {
                        let mut qb = ::sqlx::QueryBuilder::<$db>::new(format!(
                            "SELECT {} FROM purchases p WHERE p.id IN (",
                            sql::PURCHASE_COLUMNS
                        ));
                        let mut list = qb.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        list.push_unseparated(")");
                        for row in qb.build().fetch_all(&self.reader).await.map_err(err)? {
                            found.push(purchase(&row)?);
                        }
                    }
                    found.sort_by_key(|p| p.id);
                    Ok(found)
                }

                async fn user_purchases(&self, user: UserId, limit: i64) -> StoreResult<Vec<Purchase>> {
                    let q = format!("SELECT {} FROM purchases p WHERE p.user_id = $1 ORDER BY p.id DESC LIMIT $2", sql::PURCHASE_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(user.0).bind(limit).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(purchase).collect()
                }

                async fn recent_purchases(&self, limit: i64, offset: i64) -> StoreResult<Vec<Purchase>> {
                    let q = format!("SELECT {} FROM purchases p ORDER BY p.id DESC LIMIT $1 OFFSET $2", sql::PURCHASE_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(purchase).collect()
                }

                async fn mark_purchase_paid(&self, id: i64, payment_ref: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let done = ::sqlx::query(
                        "UPDATE purchases SET status = 'paid', payment_ref = $1, paid_at = $2 WHERE id = $3 AND status <> 'paid'",
                    )
                    .bind(payment_ref)
                    .bind(sql::micros(now))
                    .bind(id)
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn reserve_refund(&self, purchase_id: i64, key: &str, amount: i64, now: DateTime<Utc>) -> StoreResult<RefundReservation> {
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    // The purchase's lock serializes the refunds of one purchase.
                    let price: i64 = ::sqlx::query_scalar(concat!("SELECT price FROM purchases WHERE id = $1 ", $lock))
                        .bind(purchase_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?;
                    if let Some(existing) = self.refund_in(&mut tx, key).await? {
                        tx.commit().await.map_err(err)?;
                        return Ok(RefundReservation::Existing(existing));
                    }
                    let refunded: i64 = ::sqlx::query_scalar(
                        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM purchase_refunds \
                         WHERE purchase_id = $1 AND status <> 'failed'",
                    )
                    .bind(purchase_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?;
                    if refunded + amount > price {
                        return Ok(RefundReservation::Exceeds { refundable: (price - refunded).max(0) });
                    }
                    ::sqlx::query(
                        "INSERT INTO purchase_refunds (purchase_id, refund_key, amount, status, created_at) \
                         VALUES ($1, $2, $3, 'pending', $4)",
                    )
                    .bind(purchase_id)
                    .bind(key)
                    .bind(amount)
                    .bind(sql::micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    tx.commit().await.map_err(err)?;
                    Ok(RefundReservation::Reserved)
                }

                async fn refund_by_key(&self, key: &str) -> StoreResult<Option<Refund>> {
                    // A read: it need not wait for the (SQLite) writer.
                    let mut conn = self.reader.acquire().await.map_err(err)?;
                    self.refund_in(&mut conn, key).await
                }

                async fn pending_refunds(&self, limit: i64) -> StoreResult<Vec<Refund>> {
                    let rows = ::sqlx::query(
                        "SELECT purchase_id, refund_key, amount, status FROM purchase_refunds \
                         WHERE status = 'pending' ORDER BY id LIMIT $1",
                    )
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await
                    .map_err(err)?;
                    rows.iter().map(refund).collect()
                }

                async fn finish_refund(&self, key: &str, status: RefundStatus) -> StoreResult<()> {
                    ::sqlx::query("UPDATE purchase_refunds SET status = $2 WHERE refund_key = $1 AND status = 'pending'")
                        .bind(key)
                        .bind(status.as_str())
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(())
                }

                async fn cancel_refund(&self, key: &str) -> StoreResult<()> {
                    ::sqlx::query("DELETE FROM purchase_refunds WHERE refund_key = $1 AND status = 'pending'")
                        .bind(key)
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(())
                }

                async fn record_payment_event(&self, event_id: &str, event_type: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                    let done = ::sqlx::query(
                        "INSERT INTO payment_events (provider_event_id, event_type, received_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (provider_event_id) DO NOTHING",
                    )
                    .bind(event_id)
                    .bind(event_type)
                    .bind(sql::micros(now))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn stored_response(&self, user: UserId, key: &str) -> StoreResult<Option<StoredResponse>> {
                    let row = ::sqlx::query("SELECT request_hash, status, body FROM api_idempotency WHERE user_id = $1 AND idem_key = $2")
                        .bind(user.0)
                        .bind(key)
                        .fetch_optional(&self.writer)
                        .await
                        .map_err(err)?;
                    row.map(|row| {
                        let status: i64 = row.try_get("status").map_err(err)?;
                        Ok(StoredResponse {
                            request_hash: row.try_get("request_hash").map_err(err)?,
                            status: u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
                            body: row.try_get("body").map_err(err)?,
                        })
                    })
                    .transpose()
                }

                async fn store_response(&self, user: UserId, key: &str, r: &StoredResponse, now: DateTime<Utc>) -> StoreResult<()> {
                    ::sqlx::query(
                        "INSERT INTO api_idempotency (user_id, idem_key, request_hash, status, body, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, idem_key) DO NOTHING",
                    )
                    .bind(user.0)
                    .bind(key)
                    .bind(&r.request_hash)
                    .bind(i64::from(r.status))
                    .bind(&r.body)
                    .bind(sql::micros(now))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }
            }

            impl $store {
                /// Read back through the writer: the reader may not see the row yet.
                async fn purchase_on_writer(&self, id: i64) -> StoreResult<Purchase> {
                    let q = format!("SELECT {} FROM purchases p WHERE p.id = $1", sql::PURCHASE_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id).fetch_one(&self.writer).await.map_err(err)?;
                    purchase(&row)
                }
            }

            impl $store {
                async fn upsert_presence(&self, p: &ExpertPresence) -> StoreResult<()> {
                    let modes = sql::modes_json(&p.modes_on);
                    ::sqlx::query(
                        "INSERT INTO expert_presence (user_id, status, modes_on, paused_until, last_heartbeat, bank_details_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, \
                         modes_on = excluded.modes_on, paused_until = excluded.paused_until, last_heartbeat = excluded.last_heartbeat, \
                         bank_details_at = excluded.bank_details_at, updated_at = excluded.updated_at",
                    )
                    .bind(p.user_id.0)
                    .bind(sql::status_str(p.status))
                    .bind(modes)
                    .bind(p.paused_until.map(sql::micros))
                    .bind(p.last_heartbeat.map(sql::micros))
                    .bind(p.bank_details_at.map(sql::micros))
                    .bind(sql::micros(p.updated_at))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }
            }

            #[async_trait]
            impl SessionStore for $store {
                async fn create_session(&self, s: &NewSession) -> StoreResult<()> {
                    ::sqlx::query(
                        "INSERT INTO sessions (token_hash, user_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&s.token_hash)
                    .bind(s.user_id.0)
                    .bind(s.kind.as_str())
                    .bind(sql::micros(s.created_at))
                    .bind(sql::micros(s.expires_at))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session> {
                    let row = ::sqlx::query(
                        "SELECT s.token_hash, s.kind, s.created_at AS session_created_at, s.expires_at, \
                         u.id, u.email, u.role, u.display_name, u.locale, u.site_id, u.expert_code, u.password_hash, u.created_at \
                         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
                    )
                    .bind(token_hash)
                    .bind(sql::micros(now))
                    .fetch_one(&self.reader)
                    .await
                    .map_err(err)?;
                    let kind: String = row.try_get("kind").map_err(err)?;
                    Ok(Session {
                        token_hash: row.try_get("token_hash").map_err(err)?,
                        kind: SessionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("session kind {kind}")))?,
                        user: user(&row)?,
                        created_at: sql::instant(row.try_get("session_created_at").map_err(err)?)?,
                        expires_at: sql::instant(row.try_get("expires_at").map_err(err)?)?,
                    })
                }

                async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                    ::sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(())
                }

                async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let done = ::sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                        .bind(sql::micros(now))
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl PasswordResetStore for $store {
                async fn create_reset_token(&self, t: &NewResetToken) -> StoreResult<()> {
                    ::sqlx::query(
                        "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&t.token_hash)
                    .bind(t.user_id.0)
                    .bind(sql::micros(t.created_at))
                    .bind(sql::micros(t.expires_at))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn reset_password(
                    &self,
                    token_hash: &str,
                    new_password_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<UserId> {
                    let now_us = sql::micros(now);
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    let row = ::sqlx::query(
                        "SELECT user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(err)?;
                    let user_id: i64 = row.try_get("user_id").map_err(err)?;
                    let expires_at: i64 = row.try_get("expires_at").map_err(err)?;
                    let used_at: Option<i64> = row.try_get("used_at").map_err(err)?;
                    if used_at.is_some() {
                        return Err(StoreError::TokenUsed);
                    }
                    if expires_at <= now_us {
                        return Err(StoreError::TokenExpired);
                    }
                    // The guard on used_at makes a concurrent second use lose the race.
                    let spent = ::sqlx::query(
                        "UPDATE password_reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
                    )
                    .bind(now_us)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    if spent.rows_affected() == 0 {
                        return Err(StoreError::TokenUsed);
                    }
                    ::sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(new_password_hash)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    ::sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    tx.commit().await.map_err(err)?;
                    Ok(UserId(user_id))
                }
            }

            #[async_trait]
            impl MailStore for $store {
                async fn record_mail(&self, m: &OutboxMail) -> StoreResult<MailId> {
                    let inserted: Option<i64> = ::sqlx::query_scalar(
                        "INSERT INTO mail_outbox (mail_key, to_addr, subject, text_body, html_body, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mail_key) DO NOTHING RETURNING id",
                    )
                    .bind(&m.key)
                    .bind(&m.to)
                    .bind(&m.subject)
                    .bind(&m.text_body)
                    .bind(&m.html_body)
                    .bind(sql::micros(m.created_at))
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(err)?;
                    let id = match inserted {
                        Some(id) => id,
                        None => ::sqlx::query_scalar("SELECT id FROM mail_outbox WHERE mail_key = $1")
                            .bind(&m.key)
                            .fetch_one(&self.writer)
                            .await
                            .map_err(err)?,
                    };
                    Ok(MailId(id))
                }

                async fn mail(&self, id: MailId) -> StoreResult<StoredMail> {
                    let q = format!("SELECT {} FROM mail_outbox WHERE id = $1", sql::MAIL_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    mail(&row)
                }

                async fn list_mail(&self, limit: i64, offset: i64) -> StoreResult<Vec<StoredMail>> {
                    let q = format!("SELECT {} FROM mail_outbox ORDER BY id DESC LIMIT $1 OFFSET $2", sql::MAIL_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).bind(offset).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(mail).collect()
                }

                async fn mail_to(&self, to: &str) -> StoreResult<Vec<StoredMail>> {
                    let q = format!("SELECT {} FROM mail_outbox WHERE to_addr = $1 ORDER BY id", sql::MAIL_COLUMNS);
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(to).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(mail).collect()
                }
            }

            #[async_trait]
            impl JobStore for $store {
                async fn enqueue_job(&self, j: &NewJob) -> StoreResult<JobId> {
                    let inserted: Option<i64> = ::sqlx::query_scalar(
                        "INSERT INTO jobs (kind, payload, unique_key, status, attempts, run_at, created_at) \
                         VALUES ($1, $2, $3, 'queued', 0, $4, $5) ON CONFLICT (unique_key) DO NOTHING RETURNING id",
                    )
                    .bind(&j.kind)
                    .bind(j.payload.to_string())
                    .bind(j.unique_key.as_deref())
                    .bind(sql::micros(j.run_at))
                    .bind(sql::micros(j.created_at))
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(err)?;
                    let id = match inserted {
                        Some(id) => id,
                        None => ::sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
                            .bind(j.unique_key.as_deref())
                            .fetch_one(&self.writer)
                            .await
                            .map_err(err)?,
                    };
                    Ok(JobId(id))
                }

                async fn claim_job(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<Job>> {
                    let row = ::sqlx::query($claim)
                        .bind(sql::micros(now))
                        .bind(sql::micros(lease_until))
                        .fetch_optional(&self.writer)
                        .await
                        .map_err(err)?;
                    row.as_ref().map(job).transpose()
                }

                async fn complete_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<()> {
                    ::sqlx::query(
                        "UPDATE jobs SET status = 'done', finished_at = $2, locked_until = NULL WHERE id = $1",
                    )
                    .bind(id.0)
                    .bind(sql::micros(now))
                    .execute(&self.writer)
                    .await
                    .map_err(err)?;
                    Ok(())
                }

                async fn fail_job(
                    &self,
                    id: JobId,
                    error: &str,
                    retry_at: Option<DateTime<Utc>>,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let q = match retry_at {
                        Some(_) => "UPDATE jobs SET status = 'queued', run_at = $3, last_error = $2, locked_until = NULL WHERE id = $1",
                        None => "UPDATE jobs SET status = 'failed', finished_at = $3, last_error = $2, locked_until = NULL WHERE id = $1",
                    };
                    ::sqlx::query(q)
                        .bind(id.0)
                        .bind(error)
                        .bind(sql::micros(retry_at.unwrap_or(now)))
                        .execute(&self.writer)
                        .await
                        .map_err(err)?;
                    Ok(())
                }

                async fn job(&self, id: JobId) -> StoreResult<Job> {
                    let q = format!("SELECT {} FROM jobs WHERE id = $1", sql::JOB_COLUMNS);
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    job(&row)
                }

                async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
                    let q = format!(
                        "SELECT {} FROM jobs WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT $2",
                        sql::JOB_COLUMNS
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(status.map(|s| s.as_str()))
                        .bind(limit)
                        .fetch_all(&self.reader)
                        .await
                        .map_err(err)?;
                    rows.iter().map(job).collect()
                }
            }

            const MEDIA_COLUMNS: &str = "id, user_id, kind, locale, status, content_type, body, width, height, duration_ms, size, reason, created_at, decided_at";

            fn media_item(row: &DbRow) -> StoreResult<MediaItem> {
                let kind: String = row.try_get("kind").map_err(err)?;
                let status: String = row.try_get("status").map_err(err)?;
                let dim = |name: &str| -> StoreResult<Option<u32>> {
                    let v: Option<i64> = row.try_get(name).map_err(err)?;
                    Ok(v.and_then(|v| u32::try_from(v).ok()))
                };
                let decided: Option<i64> = row.try_get("decided_at").map_err(err)?;
                Ok(MediaItem {
                    id: ::augure_domain::MediaId(row.try_get("id").map_err(err)?),
                    user_id: UserId(row.try_get("user_id").map_err(err)?),
                    kind: kind.parse().map_err(StoreError::Corrupt)?,
                    locale: row.try_get("locale").map_err(err)?,
                    status: status.parse().map_err(StoreError::Corrupt)?,
                    content_type: row.try_get("content_type").map_err(err)?,
                    body: row.try_get("body").map_err(err)?,
                    width: dim("width")?,
                    height: dim("height")?,
                    duration_ms: dim("duration_ms")?,
                    size: row.try_get("size").map_err(err)?,
                    reason: row.try_get("reason").map_err(err)?,
                    created_at: sql::instant(row.try_get("created_at").map_err(err)?)?,
                    decided_at: decided.map(sql::instant).transpose()?,
                })
            }

            #[async_trait]
            impl MediaStore for $store {
                async fn submit_media(&self, m: &NewMedia) -> StoreResult<MediaItem> {
                    let mut tx = self.writer.begin().await.map_err(err)?;
                    ::sqlx::query(
                        "UPDATE expert_media SET status = 'superseded' \
                         WHERE user_id = $1 AND kind = $2 AND locale = $3 AND status = 'pending'",
                    )
                    .bind(m.user_id.0)
                    .bind(m.kind.as_str())
                    .bind(&m.locale)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    let q = format!(
                        "INSERT INTO expert_media (user_id, kind, locale, status, content, content_type, body, width, height, \
                         duration_ms, size, created_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11) \
                         RETURNING {MEDIA_COLUMNS}"
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(m.user_id.0)
                        .bind(m.kind.as_str())
                        .bind(&m.locale)
                        .bind((!m.content.is_empty()).then_some(m.content.as_slice()))
                        .bind(&m.content_type)
                        .bind(&m.body)
                        .bind(m.width.map(i64::from))
                        .bind(m.height.map(i64::from))
                        .bind(m.duration_ms.map(i64::from))
                        .bind(i64::try_from(m.content.len().max(m.body.len())).unwrap_or(i64::MAX))
                        .bind(sql::micros(m.created_at))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(err)?;
                    let item = media_item(&row)?;
                    tx.commit().await.map_err(err)?;
                    Ok(item)
                }

                async fn media_item(&self, id: ::augure_domain::MediaId) -> StoreResult<MediaItem> {
                    let q = format!("SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id = $1");
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    media_item(&row)
                }

                async fn media_content(&self, id: ::augure_domain::MediaId) -> StoreResult<(MediaItem, Vec<u8>)> {
                    let q = format!("SELECT {MEDIA_COLUMNS}, content FROM expert_media WHERE id = $1");
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(id.0).fetch_one(&self.reader).await.map_err(err)?;
                    let content: Option<Vec<u8>> = row.try_get("content").map_err(err)?;
                    Ok((media_item(&row)?, content.unwrap_or_default()))
                }

                async fn pending_media(&self, limit: i64) -> StoreResult<Vec<MediaItem>> {
                    let q = format!("SELECT {MEDIA_COLUMNS} FROM expert_media WHERE status = 'pending' ORDER BY id LIMIT $1");
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(limit).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(media_item).collect()
                }

                async fn decide_media(
                    &self,
                    id: ::augure_domain::MediaId,
                    approve: bool,
                    reason: Option<&str>,
                    at: DateTime<Utc>,
                ) -> StoreResult<MediaItem> {
                    let q = format!(
                        "UPDATE expert_media SET status = $2, reason = $3, decided_at = $4 \
                         WHERE id = $1 AND status = 'pending' RETURNING {MEDIA_COLUMNS}"
                    );
                    let row = ::sqlx::query(::sqlx::AssertSqlSafe(q))
                        .bind(id.0)
                        .bind(if approve { "approved" } else { "refused" })
                        .bind(reason)
                        .bind(sql::micros(at))
                        .fetch_optional(&self.writer)
                        .await
                        .map_err(err)?;
                    match row {
                        Some(row) => media_item(&row),
                        None => {
                            // Tell "already decided" from "never existed".
                            self.media_item(id).await?;
                            Err(StoreError::Conflict("media already decided"))
                        }
                    }
                }

                async fn published_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>> {
                    let q = format!(
                        "SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
                         WHERE user_id = $1 AND status = 'approved' GROUP BY kind, locale) ORDER BY kind, locale"
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(user.0).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(media_item).collect()
                }

                async fn latest_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>> {
                    let q = format!(
                        "SELECT {MEDIA_COLUMNS} FROM expert_media WHERE id IN (SELECT MAX(id) FROM expert_media \
                         WHERE user_id = $1 AND status <> 'superseded' GROUP BY kind, locale) ORDER BY kind, locale"
                    );
                    let rows = ::sqlx::query(::sqlx::AssertSqlSafe(q)).bind(user.0).fetch_all(&self.reader).await.map_err(err)?;
                    rows.iter().map(media_item).collect()
                }
            }

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> StoreResult<()> {
                    ::sqlx::query("SELECT 1").execute(&self.reader).await.map_err(err)?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    $backend
                }
            }
        }
    };
}
