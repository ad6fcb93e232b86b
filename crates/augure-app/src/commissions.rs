//! PH-commission, AT-split: an administrator gives an expert their own commission on a
//! channel, which wins over the site's rate from the settings. Consultations freeze the
//! rate in their terms when they start, so a change applies to the next ones only.

use std::sync::Arc;

use augure_domain::Role;
use augure_domain::consultation::Channel;
use augure_domain::tariff::Rate;
use augure_domain::{Clock, SiteCode};
use augure_store::{Store, StoreError, User};

use crate::Settings;
use crate::sites::Sites;

/// One channel of an expert's commission as the admin page shows it.
#[derive(Clone, Debug)]
pub struct ChannelCommission {
    pub channel: Channel,
    /// The admin's rate for this expert, if any.
    pub own: Option<Rate>,
    /// What applies without it: the settings' rate on the expert's home site.
    pub site_default: Rate,
}

#[derive(Clone, Debug)]
pub struct ExpertCommission {
    pub expert: User,
    /// The site whose settings give the defaults (code and name); `None` when the expert
    /// has no home site.
    pub site: Option<(SiteCode, String)>,
    pub channels: Vec<ChannelCommission>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    #[error("no expert has this code")]
    UnknownExpert,
    /// What was typed for `channel` is not a percentage from 0 to 100.
    #[error("not a rate: {typed:?}")]
    NotARate { channel: Channel, typed: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Commissions {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    sites: Sites,
    settings: Arc<Settings>,
}

impl Commissions {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, sites: Sites, settings: Arc<Settings>) -> Self {
        Self { store, clock, sites, settings }
    }

    /// The expert's rate on each channel, their own or the site's.
    pub async fn of_expert(&self, code: u32) -> Result<ExpertCommission, CommissionError> {
        let expert = match self.store.user_by_expert_code(code).await {
            Ok(user) if user.role == Role::Expert => user,
            Ok(_) | Err(StoreError::NotFound) => return Err(CommissionError::UnknownExpert),
            Err(e) => return Err(e.into()),
        };
        let site = match expert.site_id {
            Some(id) => self.sites.list().await?.iter().find(|s| s.id == id).map(|s| (s.code.clone(), s.name.clone())),
            None => None,
        };
        let own = self.store.expert_commissions(expert.id).await?;
        let rates = &self.settings.consultations.commission;
        let channels = Channel::ALL
            .into_iter()
            .map(|channel| ChannelCommission {
                channel,
                own: own.iter().find(|(c, _)| *c == channel).map(|(_, r)| *r),
                site_default: match &site {
                    Some((code, _)) => rates.rate(code, channel, None),
                    None => rates.default.of(channel),
                },
            })
            .collect();
        Ok(ExpertCommission { expert, site, channels })
    }

    /// Saves what the admin typed per channel: a percentage, or blank for the site's
    /// rate. Nothing is saved unless every channel reads.
    pub async fn set_expert(
        &self,
        code: u32,
        typed: &[(Channel, String)],
    ) -> Result<ExpertCommission, CommissionError> {
        let current = self.of_expert(code).await?;
        let mut wanted = Vec::with_capacity(typed.len());
        for (channel, text) in typed {
            let rate = if text.trim().is_empty() {
                None
            } else {
                let rate = Rate::parse_percent(text)
                    .ok_or_else(|| CommissionError::NotARate { channel: *channel, typed: text.clone() })?;
                Some(rate)
            };
            wanted.push((*channel, rate));
        }
        let at = self.clock.now();
        for (channel, rate) in wanted {
            let before = current.channels.iter().find(|c| c.channel == channel).and_then(|c| c.own);
            if before != rate {
                self.store.set_expert_commission(current.expert.id, channel, rate, at).await?;
            }
        }
        self.of_expert(code).await
    }

    /// The rate a consultation of this expert on `channel` and `site` starts with.
    pub async fn rate(&self, expert: &User, site: &SiteCode, channel: Channel) -> Result<Rate, StoreError> {
        let own = self.store.expert_commissions(expert.id).await?;
        let own = own.into_iter().find(|(c, _)| *c == channel).map(|(_, r)| r);
        Ok(self.settings.consultations.commission.rate(site, channel, own))
    }
}
