//! The double-entry ledger's rules (TigerBeetle's model): accounts hold four running sums,
//! transfers move an amount from a debit account to a credit account, either at once
//! (posted) or in two phases (a pending hold later posted in full or in part, voided, or
//! expired). Everything here is pure; the store applies it inside one transaction.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// A ledger account's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

/// A transfer's id (its row), distinct from the caller's idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an account stands for. One account per owner, kind and currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What a client has prepaid and not spent. Never negative.
    ClientCredit,
    /// What the platform owes an expert. Never negative.
    ExpertEarnings,
    /// The platform's commission.
    PlatformRevenue,
    /// Money held by the card processor for us: debited when a client pays.
    ProviderClearing,
    /// Money the phone operator collects on premium-rate calls (SP-audiotel).
    PremiumRateClearing,
    /// Credit given away (bonus packs, goodwill): the platform's expense.
    Promotions,
}

impl AccountKind {
    pub const ALL: [AccountKind; 6] = [
        AccountKind::ClientCredit,
        AccountKind::ExpertEarnings,
        AccountKind::PlatformRevenue,
        AccountKind::ProviderClearing,
        AccountKind::PremiumRateClearing,
        AccountKind::Promotions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ClientCredit => "client_credit",
            AccountKind::ExpertEarnings => "expert_earnings",
            AccountKind::PlatformRevenue => "platform_revenue",
            AccountKind::ProviderClearing => "provider_clearing",
            AccountKind::PremiumRateClearing => "premium_rate_clearing",
            AccountKind::Promotions => "promotions",
        }
    }

    /// Liabilities and revenue must never be overdrawn; clearing and expense accounts are
    /// debit-normal and free.
    pub fn default_flags(self) -> AccountFlags {
        match self {
            AccountKind::ClientCredit | AccountKind::ExpertEarnings | AccountKind::PlatformRevenue => {
                AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: false }
            }
            AccountKind::ProviderClearing | AccountKind::PremiumRateClearing | AccountKind::Promotions => {
                AccountFlags::default()
            }
        }
    }
}

impl FromStr for AccountKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown account kind {s:?}"))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFlags {
    /// debits (pending + posted) ≤ credits posted: a balance that cannot go below zero.
    pub debits_must_not_exceed_credits: bool,
    /// credits (pending + posted) ≤ debits posted.
    pub credits_must_not_exceed_debits: bool,
}

/// An account's four running sums, in minor units of its currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

impl Balances {
    /// For credit-normal accounts (client credit, earnings): what can still be spent.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// Posted credits minus posted debits.
    pub fn net_posted(&self) -> i64 {
        self.credits_posted - self.debits_posted
    }

    pub fn respects(&self, flags: AccountFlags) -> bool {
        let debits = self.debits_pending.checked_add(self.debits_posted);
        let credits = self.credits_pending.checked_add(self.credits_posted);
        let non_negative = self.debits_pending >= 0
            && self.debits_posted >= 0
            && self.credits_pending >= 0
            && self.credits_posted >= 0;
        non_negative
            && debits.is_some()
            && credits.is_some()
            && (!flags.debits_must_not_exceed_credits || debits.is_some_and(|d| d <= self.credits_posted))
            && (!flags.credits_must_not_exceed_debits || credits.is_some_and(|c| c <= self.debits_posted))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerAccount {
    pub id: AccountId,
    pub kind: AccountKind,
    pub currency: Currency,
    pub flags: AccountFlags,
    pub balances: Balances,
}

/// How a transfer moves money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferMode {
    /// Moves the amount now.
    Posted,
    /// Holds the amount until posted, voided, or `expires_at`.
    Pending { expires_at: Option<DateTime<Utc>> },
    /// Settles a hold: `amount` of it (the whole hold if `None`) is posted, the rest released.
    PostPending,
    /// Releases a hold entirely.
    VoidPending,
    /// Releases a hold whose time ran out (written by the ledger itself).
    Expire,
}

impl TransferMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMode::Posted => "posted",
            TransferMode::Pending { .. } => "pending",
            TransferMode::PostPending => "post_pending",
            TransferMode::VoidPending => "void_pending",
            TransferMode::Expire => "expire",
        }
    }

    pub fn resolves_a_hold(self) -> bool {
        matches!(self, TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire)
    }
}

/// Where a hold stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldState {
    Pending,
    Posted,
    Voided,
    Expired,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Pending => "pending",
            HoldState::Posted => "posted",
            HoldState::Voided => "voided",
            HoldState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [HoldState::Pending, HoldState::Posted, HoldState::Voided, HoldState::Expired]
            .into_iter()
            .find(|h| h.as_str() == s)
    }
}

/// Why a transfer was refused. A refused transfer changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum LedgerError {
    #[error("the amount must be positive")]
    AmountMustBePositive,
    #[error("debit and credit accounts must differ")]
    SameAccount,
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("the transfer's currency differs from an account's")]
    CurrencyMismatch,
    #[error("insufficient funds")]
    ExceedsCredits,
    #[error("the credit account's limit would be exceeded")]
    ExceedsDebits,
    #[error("the hold does not exist")]
    HoldNotFound,
    #[error("the hold was already {0}")]
    HoldAlreadyResolved(String),
    #[error("the hold has expired")]
    HoldExpired,
    #[error("the hold has not expired yet")]
    HoldNotExpired,
    #[error("cannot post more than the hold")]
    ExceedsHold,
    #[error("the accounts or amount differ from the hold's")]
    HoldMismatch,
    #[error("this idempotency key was used for a different transfer")]
    KeyReusedWithDifferentContent,
    #[error("a linked transfer failed")]
    LinkedTransferFailed,
    #[error("the amount overflows")]
    Overflow,
}

/// A hold as the rules need to see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: i64,
    pub state: HoldState,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The change a transfer makes to its two accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Movement {
    pub debit: Balances,
    pub credit: Balances,
    /// The amount that actually moved (for a post: what was posted).
    pub amount: i64,
}

/// Applies one transfer to the two accounts' balances, enforcing every rule. `hold` is the
/// pending transfer a post, void or expiry resolves. Pure: returns the new balances.
pub fn apply(
    debit: &LedgerAccount,
    credit: &LedgerAccount,
    currency: Currency,
    amount: Option<i64>,
    mode: TransferMode,
    hold: Option<&Hold>,
    now: DateTime<Utc>,
) -> Result<Movement, LedgerError> {
    if debit.id == credit.id {
        return Err(LedgerError::SameAccount);
    }
    if debit.currency != currency || credit.currency != currency {
        return Err(LedgerError::CurrencyMismatch);
    }
    let (mut d, mut c) = (debit.balances, credit.balances);
    let add = |a: i64, b: i64| a.checked_add(b).ok_or(LedgerError::Overflow);
    let moved = match mode {
        TransferMode::Posted | TransferMode::Pending { .. } => {
            let amount = amount.filter(|a| *a > 0).ok_or(LedgerError::AmountMustBePositive)?;
            if matches!(mode, TransferMode::Posted) {
                d.debits_posted = add(d.debits_posted, amount)?;
                c.credits_posted = add(c.credits_posted, amount)?;
            } else {
                d.debits_pending = add(d.debits_pending, amount)?;
                c.credits_pending = add(c.credits_pending, amount)?;
            }
            amount
        }
        TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire => {
            let hold = hold.ok_or(LedgerError::HoldNotFound)?;
            if hold.debit != debit.id || hold.credit != credit.id {
                return Err(LedgerError::HoldMismatch);
            }
            if hold.state != HoldState::Pending {
                return Err(LedgerError::HoldAlreadyResolved(hold.state.as_str().into()));
            }
            let timed_out = hold.expires_at.is_some_and(|at| at <= now);
            if timed_out && mode != TransferMode::Expire {
                return Err(LedgerError::HoldExpired);
            }
            // Only time releases a hold this way; a live one is voided or posted.
            if !timed_out && mode == TransferMode::Expire {
                return Err(LedgerError::HoldNotExpired);
            }
            let posted = match mode {
                TransferMode::PostPending => match amount {
                    None => hold.amount,
                    Some(a) if a <= 0 => return Err(LedgerError::AmountMustBePositive),
                    Some(a) if a > hold.amount => return Err(LedgerError::ExceedsHold),
                    Some(a) => a,
                },
                _ => 0,
            };
            d.debits_pending -= hold.amount;
            c.credits_pending -= hold.amount;
            d.debits_posted = add(d.debits_posted, posted)?;
            c.credits_posted = add(c.credits_posted, posted)?;
            posted
        }
    };
    if !d.respects(debit.flags) {
        return Err(LedgerError::ExceedsCredits);
    }
    if !c.respects(credit.flags) {
        return Err(LedgerError::ExceedsDebits);
    }
    Ok(Movement { debit: d, credit: c, amount: moved })
}

/// The state a hold reaches through a transfer that resolves it.
pub fn resolved_state(mode: TransferMode) -> Option<HoldState> {
    match mode {
        TransferMode::PostPending => Some(HoldState::Posted),
        TransferMode::VoidPending => Some(HoldState::Voided),
        TransferMode::Expire => Some(HoldState::Expired),
        _ => None,
    }
}

/// One transfer as `verify` replays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedTransfer {
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    /// What moved (for a post: the posted part; for a void or expiry: 0).
    pub amount: i64,
    pub mode: TransferMode,
    /// For post, void and expire: the hold resolved.
    pub pending_id: Option<TransferId>,
}

/// One account's entry: its balances right after a transfer, numbered per account, and
/// the account's previous transfer, so that an account's history is a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub account: AccountId,
    pub transfer: TransferId,
    pub version: i64,
    pub balances: Balances,
    pub previous: Option<TransferId>,
}

/// The whole ledger at one moment, as `verify` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Books {
    pub accounts: Vec<LedgerAccount>,
    /// In the order they were applied (by id).
    pub transfers: Vec<ReplayedTransfer>,
    pub entries: Vec<Entry>,
    /// Each account's last transfer, where its history chain starts.
    pub heads: HashMap<AccountId, TransferId>,
}

/// What `augure ledger verify` found. Empty `problems` means the ledger is sound.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audit {
    pub accounts: usize,
    pub transfers: usize,
    /// Σ debits posted and Σ credits posted per currency (equal when sound).
    pub trial_balance: BTreeMap<Currency, (i64, i64)>,
    pub problems: Vec<String>,
}

/// Replays every transfer from zero and checks: each account's stored balances equal the
/// replay; each entry equals the balances after its transfer, versions run 1, 2, 3…, and
/// its chain names the account's previous transfer (the account its last one); no balance
/// ever broke its account's limits; every hold was resolved at most once; and per currency
/// Σ debits = Σ credits, pending and posted.
pub fn audit(books: &Books) -> Audit {
    let Books { accounts, transfers, entries, heads } = books;
    let mut audit = Audit { accounts: accounts.len(), transfers: transfers.len(), ..Audit::default() };
    let by_id: HashMap<AccountId, &LedgerAccount> = accounts.iter().map(|a| (a.id, a)).collect();
    let mut replay: HashMap<AccountId, Balances> = accounts.iter().map(|a| (a.id, Balances::default())).collect();
    let mut versions: HashMap<AccountId, i64> = HashMap::new();
    let mut lasts: HashMap<AccountId, TransferId> = HashMap::new();
    let mut holds: HashMap<TransferId, (i64, usize)> = HashMap::new();
    let mut entries_by_transfer: HashMap<(TransferId, AccountId), &Entry> = HashMap::new();
    for e in entries {
        if entries_by_transfer.insert((e.transfer, e.account), e).is_some() {
            audit.problems.push(format!("transfer {} has two entries on account {}", e.transfer, e.account));
        }
    }
    for t in transfers {
        let (Some(debit), Some(credit)) = (by_id.get(&t.debit), by_id.get(&t.credit)) else {
            audit.problems.push(format!("transfer {} names an unknown account", t.id));
            continue;
        };
        let (d, c) =
            (replay.get(&t.debit).copied().unwrap_or_default(), replay.get(&t.credit).copied().unwrap_or_default());
        let (mut d2, mut c2) = (d, c);
        match t.mode {
            TransferMode::Posted => {
                d2.debits_posted += t.amount;
                c2.credits_posted += t.amount;
            }
            TransferMode::Pending { .. } => {
                d2.debits_pending += t.amount;
                c2.credits_pending += t.amount;
                holds.insert(t.id, (t.amount, 0));
            }
            TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire => {
                let Some(hold) = t.pending_id.and_then(|p| holds.get_mut(&p)) else {
                    audit.problems.push(format!("transfer {} resolves an unknown hold", t.id));
                    continue;
                };
                hold.1 += 1;
                if hold.1 > 1 {
                    audit.problems.push(format!("hold {:?} resolved more than once", t.pending_id));
                }
                d2.debits_pending -= hold.0;
                c2.credits_pending -= hold.0;
                d2.debits_posted += t.amount;
                c2.credits_posted += t.amount;
                if t.amount > hold.0 {
                    audit.problems.push(format!("transfer {} posts more than its hold", t.id));
                }
            }
        }
        for (account, after, flags) in [(debit, d2, debit.flags), (credit, c2, credit.flags)] {
            if !after.respects(flags) {
                audit.problems.push(format!("transfer {} breaks the limits of account {}", t.id, account.id));
            }
            let version = versions.entry(account.id).or_insert(0);
            *version += 1;
            let previous = lasts.insert(account.id, t.id);
            match entries_by_transfer.get(&(t.id, account.id)) {
                Some(e) if e.balances == after && e.version == *version && e.previous == previous => {}
                Some(e) => audit.problems.push(format!(
                    "entry of transfer {} on account {}: stored {:?} v{} after {:?}, replayed {:?} v{} after {:?}",
                    t.id, account.id, e.balances, e.version, e.previous, after, version, previous
                )),
                None => audit.problems.push(format!("transfer {} has no entry on account {}", t.id, account.id)),
            }
        }
        replay.insert(t.debit, d2);
        replay.insert(t.credit, c2);
    }
    let mut pending_sums: BTreeMap<Currency, (i64, i64)> = BTreeMap::new();
    for account in accounts {
        if heads.get(&account.id) != lasts.get(&account.id) {
            audit.problems.push(format!(
                "account {}: history starts at {:?}, its last transfer is {:?}",
                account.id,
                heads.get(&account.id),
                lasts.get(&account.id)
            ));
        }
        let replayed = replay.get(&account.id).copied().unwrap_or_default();
        if replayed != account.balances {
            audit
                .problems
                .push(format!("account {}: stored {:?}, replayed {:?}", account.id, account.balances, replayed));
        }
        let sums = audit.trial_balance.entry(account.currency).or_default();
        sums.0 += account.balances.debits_posted;
        sums.1 += account.balances.credits_posted;
        let pending = pending_sums.entry(account.currency).or_default();
        pending.0 += account.balances.debits_pending;
        pending.1 += account.balances.credits_pending;
    }
    for (currency, (debits, credits)) in &audit.trial_balance {
        if debits != credits {
            audit.problems.push(format!("{currency}: Σ debits posted {debits} ≠ Σ credits posted {credits}"));
        }
    }
    for (currency, (debits, credits)) in &pending_sums {
        if debits != credits {
            audit.problems.push(format!("{currency}: Σ debits pending {debits} ≠ Σ credits pending {credits}"));
        }
    }
    audit
}

/// What a caller asks the ledger to do. `key` is the idempotency key: the same key with
/// the same content returns the first result; with other content it is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub key: String,
    pub debit: AccountId,
    pub credit: AccountId,
    /// Required for posted and pending transfers; for a post, `None` posts the whole hold.
    pub amount: Option<i64>,
    pub currency: Currency,
    /// What the movement is for, e.g. `purchase`, `consumption`, `refund`.
    pub code: String,
    /// A reference for people and reports (a purchase, a consultation).
    pub user_data: Option<String>,
    pub mode: TransferMode,
    /// For post and void: the key of the hold.
    pub pending_key: Option<String>,
    /// Linked to the next request: the chain succeeds or fails as a whole.
    pub linked: bool,
}

impl TransferRequest {
    /// The request as the ledger keeps it: instants to the microsecond, the precision of
    /// the store. A replay is compared in this form, so a hold whose expiry carries
    /// nanoseconds is still recognised as the same request.
    pub fn as_stored(&self) -> TransferRequest {
        let micros = |at: DateTime<Utc>| DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
        let mode = match self.mode {
            TransferMode::Pending { expires_at } => TransferMode::Pending { expires_at: expires_at.map(micros) },
            other => other,
        };
        TransferRequest { mode, ..self.clone() }
    }
}

/// A transfer already in the ledger, as the planner needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownTransfer {
    pub id: TransferId,
    pub request: TransferRequest,
    /// For holds: where they stand now.
    pub hold_state: Option<HoldState>,
    /// What actually moved.
    pub amount: i64,
}

/// A transfer the planner accepted, with the balances it leaves behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTransfer {
    pub request: TransferRequest,
    pub amount: i64,
    pub debit_after: Balances,
    pub credit_after: Balances,
    /// For post/void: the hold's key, whose state becomes `resolved`.
    pub resolves: Option<(String, HoldState)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted now: the store writes it.
    Created(Box<PlannedTransfer>),
    /// Already in the ledger with the same content: nothing to write.
    Exists(TransferId),
    /// Repeats the request at this index of the same batch: the same transfer.
    SameAs(usize),
    Failed(LedgerError),
}

/// Plans a batch of transfers against the accounts and holds the store loaded (and locked).
/// Transfers apply in order, each seeing the ones before it; a failure inside a linked
/// chain fails the whole chain and undoes its earlier members. Pure.
pub fn plan_batch(
    accounts: &mut HashMap<AccountId, LedgerAccount>,
    known: &HashMap<String, KnownTransfer>,
    requests: &[TransferRequest],
    now: DateTime<Utc>,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(requests.len());
    // Holds as they stand during the batch: key → hold (with the batch's own holds).
    let mut holds: HashMap<String, Hold> = known
        .values()
        .filter_map(|t| match (t.request.mode, t.hold_state) {
            (TransferMode::Pending { expires_at }, Some(state)) => Some((
                t.request.key.clone(),
                Hold { debit: t.request.debit, credit: t.request.credit, amount: t.amount, state, expires_at },
            )),
            _ => None,
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Where the open linked chain began, and the state to restore if it fails.
    let mut chain_start: Option<ChainStart> = None;
    let mut chain_failed = false;
    for (i, request) in requests.iter().enumerate() {
        if chain_start.is_none() && request.linked {
            chain_start = Some((i, accounts.clone(), holds.clone()));
            chain_failed = false;
        }
        let outcome = if chain_failed {
            Outcome::Failed(LedgerError::LinkedTransferFailed)
        } else if let Some(existing) = known.get(&request.key) {
            if existing.request == request.as_stored() {
                Outcome::Exists(existing.id)
            } else {
                Outcome::Failed(LedgerError::KeyReusedWithDifferentContent)
            }
        } else if let Some(&earlier) = seen.get(&request.key) {
            match &outcomes[earlier] {
                Outcome::Created(p) if p.request == *request => Outcome::SameAs(earlier),
                _ => Outcome::Failed(LedgerError::KeyReusedWithDifferentContent),
            }
        } else {
            plan_one(accounts, &mut holds, request, now)
        };
        if !matches!(outcome, Outcome::Failed(_)) {
            seen.entry(request.key.clone()).or_insert(i);
        }
        let failed = matches!(outcome, Outcome::Failed(_));
        outcomes.push(outcome);
        if let Some((start, saved_accounts, saved_holds)) = &chain_start {
            if failed && !chain_failed {
                chain_failed = true;
                *accounts = saved_accounts.clone();
                holds = saved_holds.clone();
                for earlier in outcomes.iter_mut().take(i).skip(*start) {
                    *earlier = Outcome::Failed(LedgerError::LinkedTransferFailed);
                }
                for key in requests[*start..i].iter().map(|r| &r.key) {
                    seen.remove(key);
                }
            }
            if !request.linked {
                chain_start = None;
                chain_failed = false;
            }
        }
    }
    // A chain left open at the end of the batch fails: its last link is missing.
    if let Some((start, saved_accounts, _)) = chain_start {
        *accounts = saved_accounts;
        for outcome in outcomes.iter_mut().skip(start) {
            if !matches!(outcome, Outcome::Failed(_)) {
                *outcome = Outcome::Failed(LedgerError::LinkedTransferFailed);
            }
        }
    }
    outcomes
}

type ChainStart = (usize, HashMap<AccountId, LedgerAccount>, HashMap<String, Hold>);

fn plan_one(
    accounts: &mut HashMap<AccountId, LedgerAccount>,
    holds: &mut HashMap<String, Hold>,
    request: &TransferRequest,
    now: DateTime<Utc>,
) -> Outcome {
    let debit = match accounts.get(&request.debit) {
        Some(a) => a.clone(),
        None => return Outcome::Failed(LedgerError::AccountNotFound(request.debit)),
    };
    let credit = match accounts.get(&request.credit) {
        Some(a) => a.clone(),
        None => return Outcome::Failed(LedgerError::AccountNotFound(request.credit)),
    };
    let hold = match request.mode {
        TransferMode::PostPending | TransferMode::VoidPending | TransferMode::Expire => {
            match request.pending_key.as_ref().and_then(|k| holds.get(k)) {
                Some(h) => Some(*h),
                None => return Outcome::Failed(LedgerError::HoldNotFound),
            }
        }
        _ => None,
    };
    match apply(&debit, &credit, request.currency, request.amount, request.mode, hold.as_ref(), now) {
        Ok(m) => {
            if let Some(a) = accounts.get_mut(&request.debit) {
                a.balances = m.debit;
            }
            if let Some(a) = accounts.get_mut(&request.credit) {
                a.balances = m.credit;
            }
            let resolves = resolved_state(request.mode).zip(request.pending_key.clone()).map(|(state, key)| {
                if let Some(h) = holds.get_mut(&key) {
                    h.state = state;
                }
                (key, state)
            });
            if let TransferMode::Pending { expires_at } = request.mode {
                holds.insert(
                    request.key.clone(),
                    Hold {
                        debit: request.debit,
                        credit: request.credit,
                        amount: m.amount,
                        state: HoldState::Pending,
                        expires_at,
                    },
                );
            }
            Outcome::Created(Box::new(PlannedTransfer {
                request: request.clone(),
                amount: m.amount,
                debit_after: m.debit,
                credit_after: m.credit,
                resolves,
            }))
        }
        Err(e) => Outcome::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    const EUR: Currency = Currency::Eur;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    /// A tiny in-memory ledger over the pure planner: what the stores do, minus SQL.
    #[derive(Clone, Default)]
    struct Book {
        accounts: HashMap<AccountId, LedgerAccount>,
        known: HashMap<String, KnownTransfer>,
        transfers: Vec<ReplayedTransfer>,
        entries: Vec<Entry>,
        versions: HashMap<AccountId, i64>,
        heads: HashMap<AccountId, TransferId>,
    }

    impl Book {
        fn account(&mut self, kind: AccountKind) -> AccountId {
            let id = AccountId(self.accounts.len() as i64 + 1);
            let account =
                LedgerAccount { id, kind, currency: EUR, flags: kind.default_flags(), balances: Balances::default() };
            self.accounts.insert(id, account);
            id
        }

        fn submit(&mut self, requests: &[TransferRequest], now: DateTime<Utc>) -> Vec<Result<TransferId, LedgerError>> {
            let outcomes = plan_batch(&mut self.accounts, &self.known, requests, now);
            let mut ids: Vec<Option<TransferId>> = Vec::new();
            let mut results = Vec::new();
            for outcome in outcomes {
                let result = match outcome {
                    Outcome::Created(p) => {
                        let id = TransferId(self.transfers.len() as i64 + 1);
                        let pending_id = p.request.pending_key.as_ref().map(|k| self.known[k].id);
                        if let Some((key, state)) = &p.resolves {
                            self.known.get_mut(key).unwrap().hold_state = Some(*state);
                        }
                        self.transfers.push(ReplayedTransfer {
                            id,
                            debit: p.request.debit,
                            credit: p.request.credit,
                            amount: p.amount,
                            mode: p.request.mode,
                            pending_id,
                        });
                        for (account, balances) in
                            [(p.request.debit, p.debit_after), (p.request.credit, p.credit_after)]
                        {
                            let v = self.versions.entry(account).or_insert(0);
                            *v += 1;
                            let previous = self.heads.insert(account, id);
                            self.entries.push(Entry { account, transfer: id, version: *v, balances, previous });
                        }
                        let hold_state =
                            matches!(p.request.mode, TransferMode::Pending { .. }).then_some(HoldState::Pending);
                        self.known.insert(
                            p.request.key.clone(),
                            KnownTransfer { id, request: p.request.clone(), hold_state, amount: p.amount },
                        );
                        Ok(id)
                    }
                    Outcome::Exists(id) => Ok(id),
                    Outcome::SameAs(i) => ids[i].ok_or(LedgerError::LinkedTransferFailed),
                    Outcome::Failed(e) => Err(e),
                };
                ids.push(result.as_ref().ok().copied());
                results.push(result);
            }
            results
        }

        fn balances(&self, id: AccountId) -> Balances {
            self.accounts[&id].balances
        }

        fn audit(&self) -> Audit {
            audit(&Books {
                accounts: self.accounts.values().cloned().collect(),
                transfers: self.transfers.clone(),
                entries: self.entries.clone(),
                heads: self.heads.clone(),
            })
        }
    }

    fn req(key: &str, debit: AccountId, credit: AccountId, amount: i64, mode: TransferMode) -> TransferRequest {
        TransferRequest {
            key: key.into(),
            debit,
            credit,
            amount: Some(amount),
            currency: EUR,
            code: "test".into(),
            user_data: None,
            mode,
            pending_key: None,
            linked: false,
        }
    }

    fn resolve(key: &str, hold: &TransferRequest, amount: Option<i64>, mode: TransferMode) -> TransferRequest {
        TransferRequest { key: key.into(), amount, mode, pending_key: Some(hold.key.clone()), ..hold.clone() }
    }

    /// A client with `credit` bought from the provider.
    fn funded(credit: i64) -> (Book, AccountId, AccountId, AccountId) {
        let mut book = Book::default();
        let provider = book.account(AccountKind::ProviderClearing);
        let client = book.account(AccountKind::ClientCredit);
        let expert = book.account(AccountKind::ExpertEarnings);
        if credit > 0 {
            book.submit(&[req("buy", provider, client, credit, TransferMode::Posted)], t0())[0].clone().unwrap();
        }
        (book, provider, client, expert)
    }

    #[test]
    fn client_credit_cannot_be_overdrawn() {
        let (mut book, _, client, expert) = funded(1000);
        let r = book.submit(&[req("spend", client, expert, 1001, TransferMode::Posted)], t0());
        assert_eq!(r[0], Err(LedgerError::ExceedsCredits));
        assert_eq!(book.balances(client).available(), 1000);
        assert!(book.submit(&[req("spend2", client, expert, 1000, TransferMode::Posted)], t0())[0].is_ok());
        assert_eq!(book.balances(client).available(), 0);
    }

    #[test]
    fn same_key_same_content_returns_the_first_result_and_moves_money_once() {
        let (mut book, _, client, expert) = funded(1000);
        let spend = req("spend", client, expert, 300, TransferMode::Posted);
        let first = book.submit(std::slice::from_ref(&spend), t0())[0].clone().unwrap();
        let again = book.submit(std::slice::from_ref(&spend), t0())[0].clone().unwrap();
        assert_eq!(first, again);
        assert_eq!(book.balances(client).available(), 700);
        let changed = TransferRequest { amount: Some(301), ..spend };
        assert_eq!(book.submit(&[changed], t0())[0], Err(LedgerError::KeyReusedWithDifferentContent));
        assert!(book.audit().problems.is_empty());
    }

    #[test]
    fn a_hold_reserves_credit_and_is_posted_in_part_with_the_rest_released() {
        let (mut book, _, client, expert) = funded(1000);
        let hold = req("hold", client, expert, 600, TransferMode::Pending { expires_at: None });
        book.submit(std::slice::from_ref(&hold), t0())[0].clone().unwrap();
        assert_eq!(book.balances(client).available(), 400);
        assert_eq!(
            book.submit(&[req("x", client, expert, 401, TransferMode::Posted)], t0())[0],
            Err(LedgerError::ExceedsCredits)
        );
        book.submit(&[resolve("post", &hold, Some(250), TransferMode::PostPending)], t0())[0].clone().unwrap();
        assert_eq!(book.balances(client).available(), 750);
        assert_eq!(book.balances(expert).credits_posted, 250);
        assert_eq!(book.balances(expert).credits_pending, 0);
        let twice = book.submit(&[resolve("void", &hold, None, TransferMode::VoidPending)], t0());
        assert_eq!(twice[0], Err(LedgerError::HoldAlreadyResolved("posted".into())));
        assert!(book.audit().problems.is_empty());
    }

    #[test]
    fn posting_more_than_the_hold_is_refused() {
        let (mut book, _, client, expert) = funded(1000);
        let hold = req("hold", client, expert, 100, TransferMode::Pending { expires_at: None });
        book.submit(std::slice::from_ref(&hold), t0());
        let r = book.submit(&[resolve("post", &hold, Some(101), TransferMode::PostPending)], t0());
        assert_eq!(r[0], Err(LedgerError::ExceedsHold));
    }

    #[test]
    fn a_hold_cannot_be_expired_before_its_time() {
        let (mut book, _, client, expert) = funded(1000);
        let at = t0() + Duration::minutes(5);
        let hold = req("hold", client, expert, 500, TransferMode::Pending { expires_at: Some(at) });
        book.submit(std::slice::from_ref(&hold), t0());
        let early = book.submit(&[resolve("expire", &hold, None, TransferMode::Expire)], at - Duration::seconds(1));
        assert_eq!(early[0], Err(LedgerError::HoldNotExpired));
        let never = req("open", client, expert, 100, TransferMode::Pending { expires_at: None });
        book.submit(std::slice::from_ref(&never), t0());
        let r = book.submit(&[resolve("expire-open", &never, None, TransferMode::Expire)], at);
        assert_eq!(r[0], Err(LedgerError::HoldNotExpired), "a hold without a deadline never expires");
        assert_eq!(book.balances(client).available(), 400);
        assert!(book.audit().problems.is_empty());
    }

    #[test]
    fn an_expired_hold_cannot_be_posted_only_expired() {
        let (mut book, _, client, expert) = funded(1000);
        let hold =
            req("hold", client, expert, 500, TransferMode::Pending { expires_at: Some(t0() + Duration::minutes(5)) });
        book.submit(std::slice::from_ref(&hold), t0());
        let later = t0() + Duration::minutes(5);
        assert_eq!(
            book.submit(&[resolve("post", &hold, None, TransferMode::PostPending)], later)[0],
            Err(LedgerError::HoldExpired)
        );
        book.submit(&[resolve("expire", &hold, None, TransferMode::Expire)], later)[0].clone().unwrap();
        assert_eq!(book.balances(client).available(), 1000);
        assert!(book.audit().problems.is_empty());
    }

    #[test]
    fn linked_transfers_succeed_or_fail_together() {
        let (mut book, _, client, expert) = funded(1000);
        let platform = book.account(AccountKind::PlatformRevenue);
        let mut share = req("share", client, expert, 700, TransferMode::Posted);
        share.linked = true;
        let commission = req("commission", client, platform, 400, TransferMode::Posted);
        let r = book.submit(&[share.clone(), commission], t0());
        assert_eq!(r, [Err(LedgerError::LinkedTransferFailed), Err(LedgerError::ExceedsCredits)]);
        assert_eq!(book.balances(client).available(), 1000, "nothing moved");
        let commission = req("commission2", client, platform, 300, TransferMode::Posted);
        let r = book.submit(&[share, commission], t0());
        assert!(r.iter().all(Result::is_ok));
        assert_eq!(book.balances(client).available(), 0);
        assert!(book.audit().problems.is_empty());
    }

    #[test]
    fn a_chain_left_open_at_the_end_of_a_batch_fails() {
        let (mut book, _, client, expert) = funded(1000);
        let mut share = req("share", client, expert, 100, TransferMode::Posted);
        share.linked = true;
        assert_eq!(book.submit(&[share], t0()), [Err(LedgerError::LinkedTransferFailed)]);
        assert_eq!(book.balances(client).available(), 1000);
    }

    #[test]
    fn currencies_do_not_mix() {
        let (mut book, _, client, expert) = funded(1000);
        let mut chf = req("chf", client, expert, 10, TransferMode::Posted);
        chf.currency = Currency::Chf;
        assert_eq!(book.submit(&[chf], t0())[0], Err(LedgerError::CurrencyMismatch));
        assert_eq!(
            book.submit(&[req("self", client, client, 1, TransferMode::Posted)], t0())[0],
            Err(LedgerError::SameAccount)
        );
        assert_eq!(
            book.submit(&[req("zero", client, expert, 0, TransferMode::Posted)], t0())[0],
            Err(LedgerError::AmountMustBePositive)
        );
    }

    #[test]
    fn audit_finds_a_tampered_balance() {
        let (mut book, _, client, _) = funded(1000);
        book.accounts.get_mut(&client).unwrap().balances.credits_posted += 1;
        let audit = book.audit();
        assert!(!audit.problems.is_empty());
    }

    #[test]
    fn audit_finds_a_broken_history_chain() {
        let (mut book, _, client, expert) = funded(1000);
        book.submit(&[req("spend", client, expert, 100, TransferMode::Posted)], t0());
        assert!(book.audit().problems.is_empty());

        // An entry that skips the account's previous transfer hides it from the history.
        let mut skipped = book.clone();
        let entry = skipped.entries.iter_mut().rfind(|e| e.account == client).unwrap();
        entry.previous = None;
        assert!(skipped.audit().problems.iter().any(|p| p.contains("entry of transfer")));

        // A history that starts anywhere but the last transfer.
        let mut stale = book.clone();
        let first = stale.entries.iter().find(|e| e.account == client).unwrap().transfer;
        stale.heads.insert(client, first);
        assert!(stale.audit().problems.iter().any(|p| p.contains("history starts at")));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Spend(usize, i64),
        Hold(usize, i64),
        Post(usize, i64),
        Void(usize),
        Expire(usize),
        Buy(usize, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3_usize, 1..800_i64).prop_map(|(c, a)| Op::Spend(c, a)),
            (0..3_usize, 1..800_i64).prop_map(|(c, a)| Op::Hold(c, a)),
            (0..40_usize, 0..900_i64).prop_map(|(h, a)| Op::Post(h, a)),
            (0..40_usize).prop_map(Op::Void),
            (0..40_usize).prop_map(Op::Expire),
            (0..3_usize, 1..2000_i64).prop_map(|(c, a)| Op::Buy(c, a)),
        ]
    }

    proptest! {
        /// Any sequence of operations: money is conserved, no credit account goes below
        /// zero, each hold resolves at most once, and the audit replays to the same state.
        #[test]
        fn ledger_invariants_hold_under_any_sequence(ops in prop::collection::vec(op(), 1..60)) {
            let mut book = Book::default();
            let provider = book.account(AccountKind::ProviderClearing);
            let expert = book.account(AccountKind::ExpertEarnings);
            let clients: Vec<_> = (0..3).map(|_| book.account(AccountKind::ClientCredit)).collect();
            let mut holds: Vec<TransferRequest> = Vec::new();
            let now = t0() + Duration::minutes(10);
            for (i, op) in ops.iter().enumerate() {
                let key = format!("op{i}");
                let request = match op {
                    Op::Buy(c, a) => req(&key, provider, clients[*c], *a, TransferMode::Posted),
                    Op::Spend(c, a) => req(&key, clients[*c], expert, *a, TransferMode::Posted),
                    Op::Hold(c, a) => {
                        let expires = if a % 2 == 0 { Some(t0()) } else { None };
                        let h = req(&key, clients[*c], expert, *a, TransferMode::Pending { expires_at: expires });
                        holds.push(h.clone());
                        h
                    }
                    Op::Post(h, a) if !holds.is_empty() => {
                        let hold = &holds[h % holds.len()];
                        resolve(&key, hold, (*a > 0).then_some(*a), TransferMode::PostPending)
                    }
                    Op::Void(h) if !holds.is_empty() => resolve(&key, &holds[h % holds.len()], None, TransferMode::VoidPending),
                    Op::Expire(h) if !holds.is_empty() => resolve(&key, &holds[h % holds.len()], None, TransferMode::Expire),
                    _ => continue,
                };
                let _ = book.submit(&[request], now);
                for c in &clients {
                    let b = book.balances(*c);
                    prop_assert!(b.available() >= 0, "overdraft: {:?}", b);
                }
            }
            let audit = book.audit();
            prop_assert!(audit.problems.is_empty(), "{:?}", audit.problems);
            let (debits, credits) = audit.trial_balance[&EUR];
            prop_assert_eq!(debits, credits);
        }

        /// A transfer and its reversal restore both balances.
        #[test]
        fn a_transfer_and_its_reversal_restore_balances(funds in 1..10_000_i64, amount in 1..10_000_i64) {
            let (mut book, _, client, expert) = funded(funds);
            let before = (book.balances(client), book.balances(expert));
            if book.submit(&[req("t", client, expert, amount, TransferMode::Posted)], t0())[0].is_ok() {
                book.submit(&[req("r", expert, client, amount, TransferMode::Posted)], t0())[0].clone().unwrap();
                let after = (book.balances(client), book.balances(expert));
                prop_assert_eq!(before.0.net_posted(), after.0.net_posted());
                prop_assert_eq!(before.1.net_posted(), after.1.net_posted());
            } else {
                prop_assert!(amount > funds);
            }
        }

        /// Two transfers move the same as one of their sum.
        #[test]
        fn two_transfers_equal_their_sum(a in 1..5_000_i64, b in 1..5_000_i64) {
            let (mut two, _, c2, e2) = funded(10_000);
            two.submit(&[req("a", c2, e2, a, TransferMode::Posted), req("b", c2, e2, b, TransferMode::Posted)], t0());
            let (mut one, _, c1, e1) = funded(10_000);
            one.submit(&[req("ab", c1, e1, a + b, TransferMode::Posted)], t0());
            prop_assert_eq!(two.balances(c2), one.balances(c1));
            prop_assert_eq!(two.balances(e2), one.balances(e1));
        }
    }
}
