//! The money of one live consultation, decided without I/O (ARCHITECTURE, "The charging
//! engine"): what each grant posts and holds, how far the held and the whole credit go,
//! and what the settlement posts and splits. The engine in `augure-app` applies these
//! plans to the ledger; every amount comes from [`crate::tariff`].
//!
//! Credit is held a slice at a time as a pending transfer from the client's credit to the
//! consultation clearing account. At grant n the engine posts, from hold n − 1, exactly
//! `charge(billable so far) − posted so far`, releases the rest and holds the next slice,
//! in one linked chain. The split between the expert and the platform is posted once, at
//! settlement, on the total. Keys name the consultation and the grant's sequence number,
//! so a replayed plan moves nothing twice.

mod session;

pub use session::{Due, PauseError, Session};

use chrono::{DateTime, Utc};

use crate::ConsultationId;
use crate::ledger::{AccountId, TransferMode, TransferRequest};
use crate::money::Money;
use crate::pricing::SitePrices;
use crate::tariff::{self, Plan, Rate, Split, TariffError, TariffRules};

/// The ledger accounts a consultation moves money between, all in its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsultationAccounts {
    pub client_credit: AccountId,
    /// The platform's consultation clearing: what was taken and not yet split.
    pub clearing: AccountId,
    pub expert_earnings: AccountId,
    pub platform_revenue: AccountId,
}

/// Where a consultation's credit stands after its latest grant: `posted` of the client's
/// credit is in the clearing account, `held` more is reserved by the pending transfer of
/// grant `seq` (none while `seq` is 0 or `held` is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantState {
    pub seq: u32,
    pub posted: i64,
    pub held: i64,
}

/// What the arithmetic of one consultation needs: its frozen prices and plan, the
/// operator's tariff rules and the commission rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pricing<'a> {
    pub prices: &'a SitePrices,
    pub plan: Plan,
    pub rules: TariffRules,
    pub rate: Rate,
}

impl Pricing<'_> {
    /// What the first `seconds` billable seconds cost.
    pub fn charge(&self, seconds: u64) -> Result<i64, TariffError> {
        Ok(tariff::charge(self.prices, self.plan, seconds, &self.rules)?.charge.minor)
    }

    /// The most billable seconds `credit` pays for.
    pub fn affordable(&self, credit: i64) -> Result<u64, TariffError> {
        tariff::affordable_seconds(self.prices, self.plan, Money::new(credit, self.prices.currency()))
    }

    fn money(&self, minor: i64) -> Money {
        Money::new(minor, self.prices.currency())
    }
}

/// The ledger key of grant `seq`'s hold.
pub fn hold_key(id: ConsultationId, seq: u32) -> String {
    format!("consultation:{id}:hold:{seq}")
}

/// The key of the transfer that posts (or voids) grant `seq`'s hold.
pub fn release_key(id: ConsultationId, seq: u32) -> String {
    format!("consultation:{id}:release:{seq}")
}

/// How much a grant holds ahead, and until when the hold stands if nobody settles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub seconds: u64,
    pub expires_at: DateTime<Utc>,
}

/// A grant to write: the chain of transfers and the state it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantPlan {
    pub requests: Vec<TransferRequest>,
    pub state: GrantState,
}

/// The next grant of consultation `id` at `billable` seconds: posts what they cost beyond
/// what is posted (never more than is held), releases the rest of the current hold and
/// holds the next `slice` — for a package, at least the whole package (PH-package) — or
/// as much of it as the client's `available` credit (outside this consultation) and the
/// released rest pay.
pub fn plan_grant(
    id: ConsultationId,
    pricing: &Pricing<'_>,
    accounts: &ConsultationAccounts,
    current: GrantState,
    billable: u64,
    available: i64,
    slice: Slice,
) -> Result<GrantPlan, TariffError> {
    let charged = pricing.charge(billable)?.min(current.posted + current.held).max(current.posted);
    let mut requests = release(id, pricing, accounts, current, charged);
    let free_again = current.held - (charged - current.posted);
    let mut horizon = billable.saturating_add(slice.seconds);
    if let (Plan::Package, Some(package)) = (pricing.plan, pricing.prices.package) {
        horizon = horizon.max(u64::from(package.minutes) * 60);
    }
    let wanted = pricing.charge(horizon)? - charged;
    let held = wanted.min(available.max(0).saturating_add(free_again)).max(0);
    let seq = current.seq + 1;
    if held > 0 {
        if let Some(last) = requests.last_mut() {
            last.linked = true;
        }
        requests.push(TransferRequest {
            key: hold_key(id, seq),
            debit: accounts.client_credit,
            credit: accounts.clearing,
            amount: Some(held),
            currency: pricing.prices.currency(),
            code: "consultation_hold".into(),
            user_data: Some(format!("consultation:{id}")),
            mode: TransferMode::Pending { expires_at: Some(slice.expires_at) },
            pending_key: None,
            linked: false,
        });
    }
    Ok(GrantPlan { requests, state: GrantState { seq, posted: charged, held } })
}

/// Posts `charged − posted` of the current hold (or voids it when nothing more is due).
fn release(
    id: ConsultationId,
    pricing: &Pricing<'_>,
    accounts: &ConsultationAccounts,
    current: GrantState,
    charged: i64,
) -> Vec<TransferRequest> {
    if current.held <= 0 {
        return Vec::new();
    }
    let due = charged - current.posted;
    vec![TransferRequest {
        key: release_key(id, current.seq),
        debit: accounts.client_credit,
        credit: accounts.clearing,
        amount: (due > 0).then_some(due),
        currency: pricing.prices.currency(),
        code: "consultation_charge".into(),
        user_data: Some(format!("consultation:{id}")),
        mode: if due > 0 { TransferMode::PostPending } else { TransferMode::VoidPending },
        pending_key: Some(hold_key(id, current.seq)),
        linked: false,
    }]
}

/// How far the credit goes, in billable seconds since the real start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    /// What is posted and held pays up to here: the next grant is due before.
    pub held_until: u64,
    /// What the client has in all pays up to here: the cut.
    pub cut: u64,
}

/// The reach of a grant state when the client has `available` more credit outside it.
pub fn reach(pricing: &Pricing<'_>, state: GrantState, available: i64) -> Result<Reach, TariffError> {
    let mine = state.posted + state.held;
    Ok(Reach { held_until: pricing.affordable(mine)?, cut: pricing.affordable(mine.saturating_add(available.max(0)))? })
}

/// The settlement to write: its chain of transfers and what it records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementPlan {
    pub requests: Vec<TransferRequest>,
    /// What the client pays in all, and its split.
    pub charge: i64,
    pub split: Split,
}

/// Ends consultation `id` at `billable` seconds: posts what they cost beyond what is
/// posted (never more than is held), releases the rest, and pays the expert's share and
/// the platform's commission out of the clearing account, on the total. With
/// `hold_lapsed` the last hold expired unsettled (its money is back with the client): the
/// total is what was posted.
pub fn plan_settlement(
    id: ConsultationId,
    pricing: &Pricing<'_>,
    accounts: &ConsultationAccounts,
    state: GrantState,
    billable: u64,
    hold_lapsed: bool,
) -> Result<SettlementPlan, TariffError> {
    let (charge, mut requests) = if hold_lapsed {
        (state.posted, Vec::new())
    } else {
        let charged = pricing.charge(billable)?.min(state.posted + state.held).max(state.posted);
        (charged, release(id, pricing, accounts, state, charged))
    };
    let split = tariff::split(pricing.money(charge), pricing.rate);
    for (to, amount, part) in [
        (accounts.expert_earnings, split.earnings.minor, "earnings"),
        (accounts.platform_revenue, split.commission.minor, "commission"),
    ] {
        if amount <= 0 {
            continue;
        }
        if let Some(last) = requests.last_mut() {
            last.linked = true;
        }
        requests.push(TransferRequest {
            key: format!("consultation:{id}:{part}"),
            debit: accounts.clearing,
            credit: to,
            amount: Some(amount),
            currency: pricing.prices.currency(),
            code: format!("consultation_{part}"),
            user_data: Some(format!("consultation:{id}")),
            mode: TransferMode::Posted,
            pending_key: None,
            linked: false,
        });
    }
    Ok(SettlementPlan { requests, charge, split })
}

#[cfg(test)]
mod tests;
