//! PH-commission, AT-split: the commission an admin gave an expert per channel. It wins
//! over the settings' rate for the site and channel; without one the settings apply.

use async_trait::async_trait;
use augure_domain::UserId;
use augure_domain::consultation::Channel;
use augure_domain::tariff::Rate;
use chrono::{DateTime, Utc};

use crate::StoreResult;

#[async_trait]
pub trait CommissionStore {
    /// Sets the expert's own rate on `channel` (`None` removes it: the settings apply
    /// again). `NotFound` when setting a rate for an unknown user; removing one that is
    /// not there changes nothing.
    async fn set_expert_commission(
        &self,
        expert: UserId,
        channel: Channel,
        rate: Option<Rate>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The expert's own rates, in the order of [`Channel::ALL`]; channels without one are
    /// left out.
    async fn expert_commissions(&self, expert: UserId) -> StoreResult<Vec<(Channel, Rate)>>;
}
