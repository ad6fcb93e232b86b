//! Who a chat is between and on what terms: the terms are the quote's (the client's site,
//! the expert's prices there, free minutes on a first consultation only, the package if
//! chosen), frozen with the ledger accounts the charge moves between.

use augure_domain::charging::ConsultationAccounts;
use augure_domain::consultation::Channel;
use augure_domain::ledger::AccountKind;
use augure_domain::{Mode, UserId};
use augure_store::{ConsultationStatus, ConsultationTerms, LedgerOwner, Store, StoreResult, User};

use super::{ChatError, Inner};
use crate::pricing::QuoteRequest;

pub(super) async fn terms(
    inner: &Inner,
    client: &User,
    expert: &User,
    expert_code: u32,
    package: bool,
) -> Result<ConsultationTerms, ChatError> {
    let ask = QuoteRequest { expert_code, site: None, viewer: Some(client), mode: Mode::Chat, seconds: 60, package };
    let quote = inner.pricing.quote(&inner.directory, &inner.credit, &ask).await?;
    let site = inner.sites.by_code(&quote.site).await?.ok_or(ChatError::UnknownExpert)?;
    let currency = site.currency;
    let account = |owner, kind| inner.ledger.account(owner, kind, currency);
    let accounts = ConsultationAccounts {
        client_credit: account(LedgerOwner::User(client.id), AccountKind::ClientCredit).await?.id,
        clearing: account(LedgerOwner::Platform, AccountKind::ConsultationClearing).await?.id,
        expert_earnings: account(LedgerOwner::User(expert.id), AccountKind::ExpertEarnings).await?.id,
        platform_revenue: account(LedgerOwner::Platform, AccountKind::PlatformRevenue).await?.id,
    };
    let rate = inner.commissions.rate(expert, &site.code, Channel::Chat).await?;
    Ok(ConsultationTerms {
        site: site.id,
        channel: Channel::Chat,
        plan: quote.plan,
        prices: quote.prices,
        rate,
        accounts,
    })
}

/// How many consultations the two had that really started (the expert sees it on the ring).
pub(super) async fn past_consultations(store: &dyn Store, client: UserId, expert: UserId) -> StoreResult<u64> {
    let mine = store.user_consultations(client, 1000).await?;
    let together = mine
        .iter()
        .filter(|c| c.expert == expert && c.status == ConsultationStatus::Settled && c.started_at.is_some())
        .count();
    Ok(together as u64)
}
