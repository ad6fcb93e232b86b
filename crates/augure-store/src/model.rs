//! Rows as the rest of augure sees them.

use augure_domain::availability::Status;
use augure_domain::ledger::{AccountId, TransferId, TransferMode};
use augure_domain::media::{MediaKind, MediaStatus};
use augure_domain::{Currency, Email, ExpertCode, JobId, MailId, MediaId, Mode, Money, Role, SiteId, UserId};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub role: Role,
    pub display_name: String,
    pub locale: String,
    pub site_id: Option<SiteId>,
    pub expert_code: Option<ExpertCode>,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub display_name: String,
    pub locale: String,
    pub site_id: Option<SiteId>,
    pub expert_code: Option<ExpertCode>,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Browser sessions ride in a cookie; API sessions are bearer tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Web,
    Api,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(SessionKind::Web),
            "api" => Some(SessionKind::Api),
            _ => None,
        }
    }
}

/// Only the hash of a session token is stored: a leaked table signs nobody in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: UserId,
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub kind: SessionKind,
    pub user: User,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewResetToken {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMail {
    /// Idempotency key: the same key is recorded once.
    pub key: String,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMail {
    pub id: MailId,
    pub mail: OutboxMail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Gave up after its last attempt.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// Which handler runs it, e.g. `mail.deliver`.
    pub kind: String,
    /// JSON the handler understands.
    pub payload: serde_json::Value,
    pub unique_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub unique_key: Option<String>,
    pub status: JobStatus,
    /// Runs started so far, including the current one.
    pub attempts: u32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What an expert shows clients. Issue-by-issue this grows into the full profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertProfile {
    pub user_id: UserId,
    pub headline: String,
    pub specialties: Vec<String>,
    /// Spoken languages, ISO 639-1.
    pub languages: Vec<String>,
    pub modes: Vec<Mode>,
    /// One price set per currency of the sites the expert chose, in currency-code order.
    /// What a client pays on a site: [`augure_domain::pricing::effective_prices`].
    pub prices: Vec<augure_domain::pricing::PriceSet>,
}

/// A profile with the account fields a listing shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertCard {
    pub profile: ExpertProfile,
    pub display_name: String,
    pub expert_code: Option<ExpertCode>,
}

/// Who a ledger account belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedgerOwner {
    /// The operator: revenue, clearing, promotions.
    Platform,
    User(UserId),
}

impl LedgerOwner {
    pub fn key(self) -> String {
        match self {
            LedgerOwner::Platform => "platform".into(),
            LedgerOwner::User(id) => format!("user:{id}"),
        }
    }

    pub fn user(self) -> Option<UserId> {
        match self {
            LedgerOwner::Platform => None,
            LedgerOwner::User(id) => Some(id),
        }
    }
}

/// A transfer as stored: immutable once written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub id: TransferId,
    pub key: String,
    pub debit: AccountId,
    pub credit: AccountId,
    /// What moved: for a post the posted part, 0 for a void or an expiry.
    pub amount: i64,
    /// As requested (`None`: post the whole hold).
    pub requested_amount: Option<i64>,
    pub currency: Currency,
    pub code: String,
    pub user_data: Option<String>,
    pub mode: TransferMode,
    pub pending_id: Option<TransferId>,
    pub pending_key: Option<String>,
    pub linked: bool,
    pub created_at: DateTime<Utc>,
}

/// Per currency: the sums over every account (equal pairs when the ledger is sound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalance {
    pub currency: Currency,
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
}

/// A prepaid credit pack on sale on one site (price, plus optional bonus credit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditPack {
    pub id: i64,
    pub site_id: SiteId,
    pub price: Money,
    pub bonus: Money,
    pub active: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PurchaseStatus {
    /// Checkout started; no money yet.
    Pending,
    /// The provider confirmed payment; credit granted.
    Paid,
    Failed,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseStatus::Pending => "pending",
            PurchaseStatus::Paid => "paid",
            PurchaseStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [PurchaseStatus::Pending, PurchaseStatus::Paid, PurchaseStatus::Failed].into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub id: i64,
    pub user_id: UserId,
    pub pack_id: i64,
    pub price: Money,
    pub bonus: Money,
    pub status: PurchaseStatus,
    pub checkout_session: Option<String>,
    pub payment_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Σ of its refunds, those under way included (not those the provider refused).
    pub refunded: Money,
    /// When the checkout closed unpaid, with the money on its way (a delayed method).
    pub processing_at: Option<DateTime<Utc>>,
}

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Reserved against the purchase; the credit and the card are being dealt with.
    Pending,
    Done,
    /// The provider refused it; its credit was given back.
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Done => "done",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RefundStatus::Pending, RefundStatus::Done, RefundStatus::Failed].into_iter().find(|r| r.as_str() == s)
    }
}

/// One refund of a purchase, identified by the request's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub purchase_id: i64,
    pub key: String,
    pub amount: i64,
    /// The share of the purchase's bonus it takes back from the client's credit.
    pub bonus: i64,
    pub status: RefundStatus,
    pub created_at: DateTime<Utc>,
}

/// Money the provider took back on its own, reconciled into the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIncident {
    pub id: i64,
    pub purchase_id: i64,
    pub kind: IncidentKind,
    /// The provider's id for it: the dispute's, or the refunded total's.
    pub provider_ref: String,
    pub amount: i64,
    /// Taken from the client's unspent credit.
    pub taken: i64,
    /// Already spent: now owed by the client.
    pub debt: i64,
    pub status: IncidentStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentKind {
    /// A refund made from the provider's dashboard.
    Refund,
    /// A chargeback.
    Dispute,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Refund => "refund",
            IncidentKind::Dispute => "dispute",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [IncidentKind::Refund, IncidentKind::Dispute].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentStatus {
    /// A provider refund, reconciled.
    Done,
    /// A dispute not yet decided.
    Open,
    Won,
    Lost,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Done => "done",
            IncidentStatus::Open => "open",
            IncidentStatus::Won => "won",
            IncidentStatus::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [IncidentStatus::Done, IncidentStatus::Open, IncidentStatus::Won, IncidentStatus::Lost]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// What asking to reserve a refund found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundReservation {
    Reserved,
    /// The key was used before: that refund, wherever it stands.
    Existing(Refund),
    /// Refunds already reserved or done leave only this much of the price.
    Exceeds {
        refundable: i64,
    },
}

/// A stored answer to an API call made with an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// What reserving an `Idempotency-Key` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseReservation {
    /// The key is now this request's: act, then complete or release it.
    Reserved,
    /// Another request with this key is still being answered.
    InFlight { request_hash: String },
    /// The answer first given under this key.
    Answered(StoredResponse),
}

/// An expert's availability as stored; `augure_domain::availability` turns it into live
/// modes and a listing position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertPresence {
    pub user_id: UserId,
    pub status: Status,
    pub modes_on: Vec<Mode>,
    pub paused_until: Option<DateTime<Utc>>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub bank_details_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// One expert as the directory lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub card: ExpertCard,
    pub signed_up_at: DateTime<Utc>,
    pub site_id: Option<SiteId>,
    /// `None` until the expert first sets their availability.
    pub presence: Option<ExpertPresence>,
    /// The approved photo, if any (SP-media).
    pub photo: Option<MediaId>,
    /// Approved presentations: `(locale, text)` (SP-presentation).
    pub presentations: Vec<(String, String)>,
    /// Sites the expert chose to be listed on (SP-options); empty until they choose,
    /// when they are listed on their sign-up site.
    pub visible_sites: Vec<SiteId>,
}

/// SP-profile: an expert's payout details, already validated (IBAN, BIC, email).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankDetails {
    pub user_id: UserId,
    pub payout_method: augure_domain::bank::PayoutMethod,
    pub holder: String,
    pub bank_name: String,
    pub bank_country: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub paypal_email: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A submission for moderation (SP-media, SP-presentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMedia {
    pub user_id: UserId,
    pub kind: MediaKind,
    /// The presentation's language; empty for a photo or audio.
    pub locale: String,
    /// The processed file (re-encoded photo, checked MP3); empty for a presentation.
    pub content: Vec<u8>,
    pub content_type: String,
    /// The presentation text; empty for files.
    pub body: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// A stored submission, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaItem {
    pub id: MediaId,
    pub user_id: UserId,
    pub kind: MediaKind,
    pub locale: String,
    pub status: MediaStatus,
    pub content_type: String,
    pub body: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    pub size: i64,
    /// Why an admin refused it.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// SP-profile, SP-options, SP-contract: the expert's private and commercial details
/// (prices are the profile's, per currency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpertDetails {
    pub user_id: UserId,
    pub legal_name: String,
    pub company_name: String,
    /// SIRET, partita IVA or the like.
    pub company_number: String,
    pub vat_number: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: String,
    /// "What I need from you for an email consultation", shown before writing.
    pub email_needs: String,
    /// Sites where the expert is listed.
    pub visible_sites: Vec<SiteId>,
    /// The terms and code of ethics version accepted, and when (SP-contract).
    pub terms_version: Option<u32>,
    pub terms_accepted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ExpertDetails {
    /// Nothing filled in yet.
    pub fn empty(user_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            user_id,
            legal_name: String::new(),
            company_name: String::new(),
            company_number: String::new(),
            vat_number: String::new(),
            address: String::new(),
            postal_code: String::new(),
            city: String::new(),
            country: String::new(),
            phone: String::new(),
            email_needs: String::new(),
            visible_sites: Vec::new(),
            terms_version: None,
            terms_accepted_at: None,
            updated_at: now,
        }
    }
}

/// An entry of the operator's specialty list (SP-options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Specialty {
    /// Stable key, e.g. `tarot`; translations use `specialty-{key}`.
    pub key: String,
    /// The name shown when no translation exists (specialties added by the operator).
    pub label: String,
    pub position: i64,
    pub active: bool,
}

/// SP-return: a client waiting to be told that an expert is available again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackAlert {
    pub id: i64,
    pub client_id: UserId,
    pub expert_id: UserId,
    pub created_at: DateTime<Utc>,
    /// When the "is back" mail was queued; `None` while pending.
    pub notified_at: Option<DateTime<Utc>>,
}

/// A site's public information page in one language, as the operator wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SitePage {
    pub site_id: SiteId,
    pub kind: augure_domain::legal::PageKind,
    /// `fr`, `it` or `en`.
    pub locale: String,
    pub title: String,
    /// In the markup of [`augure_domain::legal::blocks`].
    pub body: String,
    pub updated_at: DateTime<Utc>,
}
