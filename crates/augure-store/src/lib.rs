//! The storage port. One supertrait, [`Store`], split by aggregate; `augure-store-sql`
//! implements it for both engines, and each backend crate runs the [`conformance`] suite
//! against itself. Methods take `now`
//! explicitly: a store never reads a clock.

mod chat;
mod commissions;
mod consultations;
mod error;
mod model;
mod notifications;
mod sms;

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;
use augure_domain::consultation::EndReason;
use augure_domain::ledger::{AccountId, AccountKind, Books, LedgerAccount, LedgerError, TransferRequest};
use augure_domain::legal::PageKind;
use augure_domain::planning::PlannedSlot;
use augure_domain::{
    ConsultationId, Currency, Email, JobId, MailId, MediaId, Money, Role, Site, SiteCode, SiteId, UserId, site::NewSite,
};
use chrono::{DateTime, NaiveDate, Utc};

pub use chat::*;
pub use commissions::*;
pub use consultations::*;
pub use error::{StoreError, StoreResult};
pub use model::*;
pub use notifications::*;
pub use sms::*;

#[async_trait]
pub trait SiteStore {
    /// Creates a site; `Conflict("site_code")` if the code is taken.
    async fn create_site(&self, site: &NewSite) -> StoreResult<Site>;
    async fn list_sites(&self) -> StoreResult<Vec<Site>>;
    async fn site_by_code(&self, code: &SiteCode) -> StoreResult<Site>;
    /// Replaces what an operator edits of a site (name, numbers, tariffs, the imposed
    /// per-minute price); its code and currency stay. `NotFound` for an unknown id.
    async fn update_site(&self, site: &Site) -> StoreResult<()>;
    /// Replaces the numbers clients dial (E.164); `NotFound` for an unknown site.
    async fn set_site_phone_numbers(&self, site: SiteId, numbers: &[String]) -> StoreResult<Site>;
}

#[async_trait]
pub trait UserStore {
    /// Creates an account; `Conflict("email")` or `Conflict("expert_code")` when taken.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<User>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<User>;
    async fn user_by_expert_code(&self, code: u32) -> StoreResult<User>;
    async fn list_users(&self, role: Option<Role>, limit: i64, offset: i64) -> StoreResult<Vec<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    async fn set_user_locale(&self, id: UserId, locale: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait SessionStore {
    async fn create_session(&self, session: &NewSession) -> StoreResult<()>;
    /// The live session with this token hash and its user; `NotFound` if unknown or expired.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<Session>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait PasswordResetStore {
    async fn create_reset_token(&self, token: &NewResetToken) -> StoreResult<()>;
    /// In one transaction: spends the token, sets the new password hash and signs the user
    /// out everywhere. `NotFound`, `TokenExpired` or `TokenUsed` change nothing.
    async fn reset_password(
        &self,
        token_hash: &str,
        new_password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<UserId>;
}

#[async_trait]
pub trait MailStore {
    /// Records a mail in the outbox once per `key`: a second call with the same key
    /// returns the first mail's id and records nothing.
    async fn record_mail(&self, mail: &OutboxMail) -> StoreResult<MailId>;
    async fn mail(&self, id: MailId) -> StoreResult<StoredMail>;
    /// Newest first.
    async fn list_mail(&self, limit: i64, offset: i64) -> StoreResult<Vec<StoredMail>>;
    async fn mail_to(&self, to: &str) -> StoreResult<Vec<StoredMail>>;
    /// Deletes at most `limit` mails recorded before `before`; returns how many. Callers
    /// repeat while a full batch goes, so that no one statement holds the writer long.
    async fn purge_mail(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
}

#[async_trait]
pub trait JobStore {
    /// Queues a job. With a `unique_key` already queued or done, returns the existing job's
    /// id and queues nothing: enqueueing is idempotent.
    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<JobId>;
    /// Takes the oldest due job (or one whose lease ran out) and leases it until
    /// `lease_until`. Two workers never hold the same job at once.
    async fn claim_job(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<Job>>;
    async fn complete_job(&self, id: JobId, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records a failure; `retry_at` requeues it, `None` gives it up.
    async fn fail_job(
        &self,
        id: JobId,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn job(&self, id: JobId) -> StoreResult<Job>;
    /// Newest first.
    async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>>;
    /// Deletes at most `limit` jobs done or given up before `before`; queued and running
    /// ones stay whatever their age. Returns how many went.
    async fn purge_finished_jobs(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
}

#[async_trait]
pub trait ExpertStore {
    /// Creates or replaces the profile of an expert account, its price sets included (in
    /// one transaction: currencies left out are removed).
    async fn upsert_expert_profile(&self, profile: &ExpertProfile) -> StoreResult<()>;
    async fn expert_profile(&self, user: UserId) -> StoreResult<ExpertProfile>;
    /// Profiles with their expert's name and code, oldest account first.
    async fn list_expert_cards(&self, limit: i64, offset: i64) -> StoreResult<Vec<ExpertCard>>;
    /// Creates or replaces an expert's availability.
    async fn save_presence(&self, presence: &ExpertPresence) -> StoreResult<()>;
    async fn presence(&self, user: UserId) -> StoreResult<ExpertPresence>;
    /// Every expert with a profile, with their availability: what the directory ranks.
    async fn directory(&self) -> StoreResult<Vec<DirectoryEntry>>;
    /// Saves payout details and, in the same transaction, marks the expert's bank details
    /// as complete (SP-bank unblocks their modes).
    async fn save_bank_details(&self, details: &BankDetails) -> StoreResult<()>;
    async fn bank_details(&self, user: UserId) -> StoreResult<BankDetails>;
    /// `NotFound` until the expert first saves their profile.
    async fn expert_details(&self, user: UserId) -> StoreResult<ExpertDetails>;
    async fn save_expert_details(&self, details: &ExpertDetails) -> StoreResult<()>;
    /// The operator's specialty list, in display order (inactive ones included).
    async fn specialties(&self) -> StoreResult<Vec<Specialty>>;
    /// Adds a specialty or changes its label, position or active flag.
    async fn save_specialty(&self, specialty: &Specialty) -> StoreResult<()>;
}

/// SP-media, SP-presentation: submissions and their moderation.
#[async_trait]
pub trait MediaStore {
    /// Records a pending submission; a pending one of the same kind and language is
    /// superseded in the same transaction.
    async fn submit_media(&self, media: &NewMedia) -> StoreResult<MediaItem>;
    async fn media_item(&self, id: MediaId) -> StoreResult<MediaItem>;
    /// The item and its bytes.
    async fn media_content(&self, id: MediaId) -> StoreResult<(MediaItem, Vec<u8>)>;
    /// The moderation queue, oldest first.
    async fn pending_media(&self, limit: i64) -> StoreResult<Vec<MediaItem>>;
    /// Approves or refuses a pending submission. `Conflict` when it was already decided
    /// or superseded (two admins, or a newer submission), `NotFound` when it never was.
    async fn decide_media(
        &self,
        id: MediaId,
        approve: bool,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<MediaItem>;
    /// For each kind and language, the latest approved submission: what clients see.
    async fn published_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>>;
    /// For each kind and language, the latest submission that is not superseded: what
    /// the expert sees of their own (pending, refused with a reason, or approved).
    async fn latest_media(&self, user: UserId) -> StoreResult<Vec<MediaItem>>;
}

/// SP-planning and SP-return: an expert's planned hours, and the clients waiting for them.
#[async_trait]
pub trait PlanningStore {
    /// The expert's slots on local dates `from` to `to` (both included), by date and start.
    async fn planning(&self, user: UserId, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<PlannedSlot>>;
    /// Every expert's slots on local dates `from` to `to`, by expert, date and start: what
    /// the directory reads to show each card's expected return.
    async fn planning_between(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<(UserId, PlannedSlot)>>;
    /// Replaces every slot of one local day, in one transaction: readers see the old day or
    /// the new one, never a mix. An empty list clears the day. Each slot is stored under
    /// `day` (callers check that the slots belong to it).
    async fn replace_planning_day(&self, user: UserId, day: NaiveDate, slots: &[PlannedSlot]) -> StoreResult<()>;
    /// `client` asks to be told when `expert` is back. Idempotent: while an alert is
    /// pending, asking again changes nothing and returns false.
    async fn add_back_alert(&self, client: UserId, expert: UserId, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Alerts about `expert` not sent yet, oldest first.
    async fn pending_back_alerts(&self, expert: UserId) -> StoreResult<Vec<BackAlert>>;
    /// Marks every pending alert about `expert` as sent at `at` and returns them. Atomic:
    /// when two workers race, each alert is returned to one of them only.
    async fn mark_back_alerts_notified(&self, expert: UserId, at: DateTime<Utc>) -> StoreResult<Vec<BackAlert>>;
    /// Whether `client` has a pending alert about `expert`.
    async fn has_back_alert(&self, client: UserId, expert: UserId) -> StoreResult<bool>;
}

#[async_trait]
pub trait LedgerStore {
    /// The account of `owner` for `kind` and `currency`, created empty on first use with
    /// the kind's default limits.
    async fn ledger_account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> StoreResult<LedgerAccount>;
    /// The account of `owner` for `kind` and `currency` if it exists. A read: it never
    /// creates one, so pages that only show balances need not wait for the writer.
    async fn find_ledger_account(
        &self,
        owner: LedgerOwner,
        kind: AccountKind,
        currency: Currency,
    ) -> StoreResult<Option<LedgerAccount>>;
    /// The accounts of `kind` that exist for any of `owners`, in every currency, oldest
    /// first. A read, like [`LedgerStore::find_ledger_account`].
    async fn find_ledger_accounts(
        &self,
        owners: &[LedgerOwner],
        kind: AccountKind,
    ) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>>;
    async fn ledger_account_by_id(&self, id: AccountId) -> StoreResult<(LedgerAccount, LedgerOwner)>;
    /// All accounts, oldest first.
    async fn ledger_accounts(&self, limit: i64, offset: i64) -> StoreResult<Vec<(LedgerAccount, LedgerOwner)>>;
    /// Applies a batch in one transaction, in order (see `augure_domain::ledger::plan_batch`).
    /// Each request gets its transfer or the reason it was refused; refused ones change nothing.
    async fn create_transfers(
        &self,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Result<Transfer, LedgerError>>>;
    async fn transfer_by_key(&self, key: &str) -> StoreResult<Transfer>;
    /// Transfers touching an account, newest first.
    async fn account_transfers(&self, account: AccountId, limit: i64) -> StoreResult<Vec<Transfer>>;
    /// Newest first.
    async fn recent_transfers(&self, limit: i64, offset: i64) -> StoreResult<Vec<Transfer>>;
    /// Holds still pending whose time ran out at `now`.
    async fn expired_holds(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Transfer>>;
    async fn trial_balance(&self) -> StoreResult<Vec<TrialBalance>>;
    /// Everything `augure ledger verify` replays.
    async fn ledger_snapshot(&self) -> StoreResult<Books>;
}

#[async_trait]
pub trait PaymentStore {
    async fn create_credit_pack(
        &self,
        site: SiteId,
        price: Money,
        bonus: Money,
        now: DateTime<Utc>,
    ) -> StoreResult<CreditPack>;
    async fn credit_pack(&self, id: i64) -> StoreResult<CreditPack>;
    /// Packs on sale on a site, cheapest first.
    async fn credit_packs(&self, site: SiteId) -> StoreResult<Vec<CreditPack>>;
    /// Every pack of every site, withdrawn ones included (the admin's list).
    async fn all_credit_packs(&self) -> StoreResult<Vec<CreditPack>>;
    /// Puts a pack on sale or withdraws it; purchases already made keep their terms.
    async fn set_credit_pack_active(&self, id: i64, active: bool) -> StoreResult<()>;
    async fn create_purchase(&self, user: UserId, pack: &CreditPack, now: DateTime<Utc>) -> StoreResult<Purchase>;
    async fn set_checkout_session(&self, purchase: i64, session: &str) -> StoreResult<()>;
    async fn purchase(&self, id: i64) -> StoreResult<Purchase>;
    /// The purchases with these ids, oldest first; unknown ids are left out.
    async fn purchases_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Purchase>>;
    /// A user's purchases, newest first.
    async fn user_purchases(&self, user: UserId, limit: i64) -> StoreResult<Vec<Purchase>>;
    /// Every purchase, newest first (the admin's list).
    async fn recent_purchases(&self, limit: i64, offset: i64) -> StoreResult<Vec<Purchase>>;
    /// Pending → paid; a purchase already paid stays as it is (returns false).
    async fn mark_purchase_paid(&self, id: i64, payment_ref: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// The purchase paid by the provider's payment `payment_ref`.
    async fn purchase_by_payment_ref(&self, payment_ref: &str) -> StoreResult<Option<Purchase>>;
    /// Marks a pending purchase as paid by a method whose money is still on its way.
    async fn mark_purchase_processing(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()>;
    /// Pending → failed; returns false (and changes nothing) if it was no longer pending.
    async fn mark_purchase_failed(&self, id: i64) -> StoreResult<bool>;
    /// Reserves a refund of `amount` under `key` (status pending), under the purchase's lock:
    /// refused when the purchase's refunds, pending and done, would exceed its price. A key
    /// used before answers with that refund and changes nothing. The bonus it takes back
    /// is `bonus_for(refunded before it)`, read under the same lock.
    async fn reserve_refund(
        &self,
        purchase: i64,
        key: &str,
        amount: i64,
        bonus_for: &(dyn Fn(i64) -> i64 + Send + Sync),
        now: DateTime<Utc>,
    ) -> StoreResult<RefundReservation>;
    async fn refund_by_key(&self, key: &str) -> StoreResult<Option<Refund>>;
    /// Refunds still pending (the card refund not yet answered), oldest first.
    async fn pending_refunds(&self, limit: i64) -> StoreResult<Vec<Refund>>;
    /// Ends a pending refund (done or failed); a refund no longer pending is left as it is
    /// and false returned: only the call that moved it acts on it.
    async fn finish_refund(&self, key: &str, status: RefundStatus) -> StoreResult<bool>;
    /// Records an incident once per `provider_ref`; false if it was recorded before.
    async fn record_incident(&self, incident: &PaymentIncident) -> StoreResult<bool>;
    async fn incident_by_ref(&self, provider_ref: &str) -> StoreResult<Option<PaymentIncident>>;
    /// Open → won or lost; false if it was no longer open.
    async fn close_incident(&self, provider_ref: &str, status: IncidentStatus, now: DateTime<Utc>)
    -> StoreResult<bool>;
    /// The latest incidents, newest first (the admin's list).
    async fn recent_incidents(&self, limit: i64) -> StoreResult<Vec<PaymentIncident>>;
    /// Withdraws a pending refund before any money moved, freeing its amount.
    async fn cancel_refund(&self, key: &str) -> StoreResult<()>;
    /// Records a provider event id; false if it was seen before.
    async fn record_payment_event(&self, event_id: &str, event_type: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// The answer given under `(user, key)`, once there is one.
    async fn stored_response(&self, user: UserId, key: &str) -> StoreResult<Option<StoredResponse>>;
    /// Reserves `key` for a request of `user` (`request_hash`) before it acts: of
    /// concurrent requests with one key, exactly one gets `Reserved`. A reservation still
    /// unanswered since before `stale_before` (its request died) is taken over.
    async fn reserve_response(
        &self,
        user: UserId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> StoreResult<ResponseReservation>;
    /// Records the answer under a reserved key; a key already answered keeps its answer.
    async fn complete_response(&self, user: UserId, key: &str, response: &StoredResponse) -> StoreResult<()>;
    /// Frees a reserved key whose request failed, so that a retry can act.
    async fn release_response(&self, user: UserId, key: &str) -> StoreResult<()>;
    /// Deletes at most `limit` provider event ids received before `before`; an event
    /// delivered again after that is no longer recognised. Returns how many went.
    async fn purge_payment_events(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
    /// Deletes at most `limit` idempotency records (answered or reserved) made before
    /// `before`. Returns how many went.
    async fn purge_responses(&self, before: DateTime<Utc>, limit: i64) -> StoreResult<u64>;
}

/// A site's public pages (legal notice, terms, privacy, contact) and the record of who
/// accepted which version of the terms.
#[async_trait]
pub trait LegalStore {
    /// The page of `site` of this kind in `locale`; `NotFound` until written.
    async fn site_page(&self, site: SiteId, kind: PageKind, locale: &str) -> StoreResult<SitePage>;
    /// Every page written for `site`, by kind then language.
    async fn site_pages(&self, site: SiteId) -> StoreResult<Vec<SitePage>>;
    /// Creates or replaces the page of its site, kind and language.
    async fn save_site_page(&self, page: &SitePage) -> StoreResult<()>;
    /// Records that `user` accepted terms `version` at `at`; the first record of a
    /// version stays (idempotent).
    async fn record_terms_acceptance(&self, user: UserId, version: u32, at: DateTime<Utc>) -> StoreResult<()>;
    /// The versions `user` accepted, with when, oldest first.
    async fn terms_acceptances(&self, user: UserId) -> StoreResult<Vec<(u32, DateTime<Utc>)>>;
}

/// Consultations and their money (SPEC §4): a grant or a settlement is written with its
/// ledger transfers in one transaction, so the consultation's row always says what the
/// ledger holds for it.
#[async_trait]
pub trait ConsultationStore {
    /// `Conflict("live_consultation")` when the expert already has one ringing or live.
    async fn create_consultation(&self, new: &NewConsultation) -> StoreResult<Consultation>;
    async fn consultation(&self, id: ConsultationId) -> StoreResult<Consultation>;
    /// In one transaction: the transfers and the grant's new state (the consultation
    /// becomes live), both or neither. `NotFound` for an unknown consultation.
    async fn grant_consultation(
        &self,
        grant: &GrantRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite>;
    /// Several consultations' grants in one transaction, `requests` being all their
    /// transfers: one commit for many is what lets a node keep up with thousands of live
    /// consultations. All applied (`true`), or nothing written (`false`: one was refused
    /// or stale; the caller then writes each alone to learn which).
    async fn grant_consultations(
        &self,
        grants: &[GrantRecord],
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// In one transaction: the settlement's transfers and the consultation's end, both or
    /// neither; the expert is free again. A second settlement is `Stale`.
    async fn settle_consultation(
        &self,
        settlement: &SettlementRecord,
        requests: &[TransferRequest],
        now: DateTime<Utc>,
    ) -> StoreResult<ConsultationWrite>;
    /// A node's tick: every checkpoint and the renewal of the node's leases until
    /// `lease_until`, in one statement per few thousand consultations. A checkpoint never
    /// moves back, and only consultations `node` runs are touched. Returns how many.
    async fn checkpoint_consultations(
        &self,
        node: &str,
        checkpoints: &[Checkpoint],
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Ringing → lost (SP-lost), freeing the expert; false if it was no longer ringing.
    async fn mark_consultation_lost(
        &self,
        id: ConsultationId,
        reason: EndReason,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The open (ringing or live) consultations `node` runs: what it settles at start.
    async fn node_consultations(&self, node: &str) -> StoreResult<Vec<Consultation>>;
    /// Open consultations whose lease ran out at `now`, oldest lease first.
    async fn lapsed_consultations(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<Consultation>>;
    /// Moves a consultation whose lease ran out to `node`; false if its lease was renewed
    /// or another node took it first.
    async fn take_over_consultation(
        &self,
        id: ConsultationId,
        node: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Every open consultation, oldest first (the admin's live view).
    async fn open_consultations(&self, limit: i64) -> StoreResult<Vec<Consultation>>;
    /// The consultations `user` took part in, as client or expert, newest first.
    async fn user_consultations(&self, user: UserId, limit: i64) -> StoreResult<Vec<Consultation>>;
    /// Whether `client` already had a consultation with `expert` that really started
    /// (PH-free: free minutes are for the first one only).
    async fn has_consulted(&self, client: UserId, expert: UserId) -> StoreResult<bool>;
}

/// Everything augure stores. Backends: `augure-store-sqlite`, `augure-store-postgres`.
#[async_trait]
pub trait Store:
    SiteStore
    + UserStore
    + ExpertStore
    + MediaStore
    + PlanningStore
    + PaymentStore
    + LedgerStore
    + SessionStore
    + PasswordResetStore
    + MailStore
    + JobStore
    + LegalStore
    + ConsultationStore
    + ChatStore
    + CommissionStore
    + NotificationStore
    + SmsStore
    + Send
    + Sync
    + 'static
{
    /// Answers when the database can serve queries (readiness).
    async fn ping(&self) -> StoreResult<()>;
    /// The backend's name for logs and `/readyz`: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}
