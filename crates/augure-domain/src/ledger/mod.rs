//! The double-entry ledger's rules (TigerBeetle's model): accounts hold four running sums,
//! transfers move an amount from a debit account to a credit account, either at once
//! (posted) or in two phases (a pending hold later posted in full or in part, voided, or
//! expired). Everything here is pure; the store applies it inside one transaction.
//!
//! This module holds the accounts, transfers and the rule that applies one transfer;
//! [`plan_batch`] (in `plan`) decides a batch against stored state, and [`audit`] (in
//! `audit`) replays the books.

mod audit;
mod plan;
#[cfg(test)]
mod tests;

pub use audit::*;
pub use plan::*;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// The largest amount one transfer may move, in minor units: 10¹² (ten billion in major
/// units). Accounts only ever add up their debits and credits, so a shared account (the
/// provider's clearing, the platform's revenue) reaches `i64::MAX` only after some nine
/// million transfers of this size; one transfer near `i64::MAX` would instead leave it
/// unable to take any other, and every later purchase in its currency refused.
pub const MAX_TRANSFER_AMOUNT: i64 = 1_000_000_000_000;

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
    /// What a client owes: credit spent and then taken back by the provider (a refund made
    /// at the provider, a chargeback). Debit-normal; paid back, never below zero.
    ClientDebt,
    /// What live consultations have taken from clients and not yet split between the
    /// expert and the platform (at settlement). Never negative: a split can only pay out
    /// what was collected.
    ConsultationClearing,
}

impl AccountKind {
    pub const ALL: [AccountKind; 8] = [
        AccountKind::ClientCredit,
        AccountKind::ExpertEarnings,
        AccountKind::PlatformRevenue,
        AccountKind::ProviderClearing,
        AccountKind::PremiumRateClearing,
        AccountKind::Promotions,
        AccountKind::ClientDebt,
        AccountKind::ConsultationClearing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ClientCredit => "client_credit",
            AccountKind::ExpertEarnings => "expert_earnings",
            AccountKind::PlatformRevenue => "platform_revenue",
            AccountKind::ProviderClearing => "provider_clearing",
            AccountKind::PremiumRateClearing => "premium_rate_clearing",
            AccountKind::Promotions => "promotions",
            AccountKind::ClientDebt => "client_debt",
            AccountKind::ConsultationClearing => "consultation_clearing",
        }
    }

    /// Liabilities and revenue must never be overdrawn; clearing and expense accounts are
    /// debit-normal and free.
    pub fn default_flags(self) -> AccountFlags {
        match self {
            AccountKind::ClientCredit
            | AccountKind::ExpertEarnings
            | AccountKind::PlatformRevenue
            | AccountKind::ConsultationClearing => {
                AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: false }
            }
            AccountKind::ProviderClearing | AccountKind::PremiumRateClearing | AccountKind::Promotions => {
                AccountFlags::default()
            }
            AccountKind::ClientDebt => {
                AccountFlags { debits_must_not_exceed_credits: false, credits_must_not_exceed_debits: true }
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
    #[error("the amount exceeds the ledger's maximum per transfer ({MAX_TRANSFER_AMOUNT} minor units)")]
    AmountTooLarge,
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
            if amount > MAX_TRANSFER_AMOUNT {
                return Err(LedgerError::AmountTooLarge);
            }
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
