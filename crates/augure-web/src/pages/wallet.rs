//! The client's wallet (balance, holds, history, purchases and receipts) and the admin's
//! list of purchases with refunds.

use askama::Template;
use augure_app::credit::{CreditError, ProviderAction, RefundOutcome, Wallet};
use augure_domain::{Money, Role};
use augure_store::{Purchase, Transfer};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;
use crate::flash::Flash;

#[derive(Template)]
#[template(path = "wallet.html")]
struct WalletPage<'a> {
    l: Layout<'a>,
    available: String,
    on_hold: String,
    /// What the client owes, when they owe something.
    debt: Option<String>,
    packs: Vec<PackView>,
    purchases: Vec<PurchaseView>,
    history: Vec<LineView>,
    just_paid: bool,
    /// A payment is on its way: the page follows the credit until it lands.
    watching: bool,
}

struct PackView {
    id: i64,
    price: String,
    bonus: Option<String>,
}

struct PurchaseView {
    id: i64,
    at: String,
    price: String,
    status: String,
    paid: bool,
    /// Waiting for a payment that was never made: the buyer may drop it.
    cancellable: bool,
    refunded: Option<String>,
}

struct LineView {
    at: String,
    label: String,
    amount: String,
}

#[derive(Deserialize)]
pub struct WalletQuery {
    purchase: Option<i64>,
}

fn purchase_view(l: &Layout<'_>, p: &Purchase, zone: chrono_tz::Tz) -> PurchaseView {
    PurchaseView {
        id: p.id,
        at: super::when(&l.tr, p.created_at, zone),
        price: p.price.format(l.tr.locale),
        status: match p.status {
            augure_store::PurchaseStatus::Pending if p.processing_at.is_some() => l.tr.t("purchase-status-processing"),
            // Closed unpaid (expired or cancelled), not a payment that failed.
            augure_store::PurchaseStatus::Failed if p.processing_at.is_none() => l.tr.t("purchase-status-closed"),
            status => l.tr.t(&format!("purchase-status-{}", status.as_str())),
        },
        paid: p.status == augure_store::PurchaseStatus::Paid,
        cancellable: p.status == augure_store::PurchaseStatus::Pending && p.processing_at.is_none(),
        refunded: (p.refunded.minor > 0).then(|| p.refunded.format(l.tr.locale)),
    }
}

fn line_view(l: &Layout<'_>, wallet: &Wallet, t: &Transfer, zone: chrono_tz::Tz) -> LineView {
    let signed = wallet.signed_amount(t);
    let label = match t.code.as_str() {
        code @ ("purchase" | "bonus" | "refund" | "refund_bonus" | "refund_refused" | "provider_refund" | "dispute"
        | "dispute_won" | "debt_repaid") => l.tr.t(&format!("wallet-code-{}", code.replace('_', "-"))),
        _ => l.tr.t("wallet-code-other"),
    };
    LineView {
        at: super::when(&l.tr, t.created_at, zone),
        label,
        amount: Money::new(signed, t.currency).format(l.tr.locale),
    }
}

pub async fn wallet(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<WalletQuery>) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let wallet = st.app.credit.wallet(&me).await?;
    let packs = st.app.credit.packs_for(&me).await?;
    let zone = st.app.sites.zone_for(me.site_id).await?;
    let l = ctx.layout(&st);
    let page = WalletPage {
        available: wallet.available.format(l.tr.locale),
        on_hold: wallet.on_hold.format(l.tr.locale),
        debt: (wallet.debt.minor > 0).then(|| wallet.debt.format(l.tr.locale)),
        packs: packs
            .iter()
            .map(|p| PackView {
                id: p.id,
                price: p.price.format(l.tr.locale),
                bonus: (p.bonus.minor > 0).then(|| p.bonus.format(l.tr.locale)),
            })
            .collect(),
        purchases: wallet.purchases.iter().map(|p| purchase_view(&l, p, zone)).collect(),
        history: wallet.history.iter().filter(|t| t.amount > 0).map(|t| line_view(&l, &wallet, t, zone)).collect(),
        just_paid: q.purchase.is_some_and(|id| wallet.purchases.iter().any(|p| p.id == id)),
        watching: wallet.purchases.iter().any(|p| {
            p.status == augure_store::PurchaseStatus::Pending && (p.processing_at.is_some() || q.purchase == Some(p.id))
        }),
        l,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct BuyForm {
    #[serde(default)]
    pack_id: String,
}

pub async fn buy(State(st): State<AppState>, ctx: PageCtx, PageForm(form): PageForm<BuyForm>) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let pack_id = form.pack_id.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "err-unknown-pack"))?;
    let (_, checkout) = st.app.credit.start_purchase(&me, pack_id, &st.app.settings.public_url).await?;
    Ok(Redirect::to(&checkout.url).into_response())
}

/// A client drops a purchase they did not pay (a checkout they left).
pub async fn cancel(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    st.app.credit.cancel_purchase(&me, id).await?;
    Ok(Flash::new("purchase-cancelled").id(id).redirect("/wallet"))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    l: Layout<'a>,
    id: i64,
    name: String,
    email: String,
    at: String,
    price: String,
    bonus: Option<String>,
    refunded: Option<String>,
    payment_ref: String,
}

/// A receipt to keep: a standalone HTML document, downloaded as a file.
pub async fn receipt(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let me = ctx.require(Role::Client)?.clone();
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let purchase = st.app.credit.receipt(&me, id).await?;
    let zone = st.app.sites.zone_for(me.site_id).await?;
    let l = ctx.layout(&st);
    let page = ReceiptPage {
        id,
        name: me.display_name.clone(),
        email: me.email.to_string(),
        at: super::when(&l.tr, purchase.paid_at.unwrap_or(purchase.created_at), zone),
        price: purchase.price.format(l.tr.locale),
        bonus: (purchase.bonus.minor > 0).then(|| purchase.bonus.format(l.tr.locale)),
        refunded: (purchase.refunded.minor > 0).then(|| purchase.refunded.format(l.tr.locale)),
        payment_ref: purchase.payment_ref.clone().unwrap_or_default(),
        l,
    };
    let html = page.render()?;
    let disposition = format!("attachment; filename=\"augure-receipt-{id}.html\"");
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        html,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/purchases.html")]
struct PurchasesPage<'a> {
    l: Layout<'a>,
    rows: Vec<(PurchaseView, String, i64, String)>,
    pending: Vec<PendingRefundRow>,
    incidents: Vec<IncidentRow>,
    /// The test-mode checkout lets an admin act as the provider on paid purchases.
    provider_test: bool,
    nonce: String,
    error: Option<RefundRefusal>,
}

/// Money the provider took back, as the admin's list shows it.
struct IncidentRow {
    purchase_id: i64,
    at: String,
    what: String,
    amount: String,
    taken: String,
    debt: String,
    status: String,
}

/// A refund still waiting for the provider, and what asking again posts.
struct PendingRefundRow {
    purchase_id: i64,
    amount: String,
    amount_major: String,
    key: String,
    since: String,
    stuck: bool,
}

pub async fn admin_purchases(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    purchases_page(&st, &ctx, StatusCode::OK, None).await
}

/// A refund the admin asked for and was refused, shown above the list with what was typed.
struct RefundRefusal {
    purchase_id: i64,
    amount: String,
    message: String,
}

async fn purchases_page(st: &AppState, ctx: &PageCtx, status: StatusCode, error: Option<RefundRefusal>) -> PageResult {
    let purchases = st.app.credit.recent_purchases(100).await?;
    let refunds = st.app.credit.pending_refunds(100).await?;
    let incidents = st.app.credit.incidents(50).await?;
    let l = ctx.layout(st);
    let zone = st.app.sites.zone_for(None).await?;
    let when = |at: chrono::DateTime<chrono::Utc>| super::when(&l.tr, at, zone);
    let incidents = incidents
        .into_iter()
        .map(|i| IncidentRow {
            purchase_id: i.incident.purchase_id,
            at: when(i.incident.created_at),
            what: l.tr.t(&format!("admin-incident-{}", i.incident.kind.as_str())),
            amount: i.amount.format(l.tr.locale),
            taken: i.taken.format(l.tr.locale),
            debt: i.debt.format(l.tr.locale),
            status: l.tr.t(&format!("admin-incident-status-{}", i.incident.status.as_str())),
        })
        .collect();
    let rows = purchases
        .iter()
        .map(|r| {
            let p = &r.purchase;
            (purchase_view(&l, p, zone), r.refundable.format(l.tr.locale), r.refundable.minor, r.buyer.clone())
        })
        .collect();
    // Sending the request's key again resumes the refund.
    let pending = refunds
        .into_iter()
        .map(|r| PendingRefundRow {
            purchase_id: r.purchase_id,
            amount: r.amount.format(l.tr.locale),
            amount_major: r.amount.to_major().replace('.', if l.tr.locale.starts_with("en") { "." } else { "," }),
            key: r.request_key,
            since: when(r.since),
            stuck: r.stuck,
        })
        .collect();
    // A fresh key per page: submitting the same form twice refunds once.
    let nonce = new_nonce();
    let provider_test = st.app.credit.payments().test_checkout().is_some();
    render(status, &PurchasesPage { l, rows, pending, incidents, provider_test, nonce, error })
}

fn new_nonce() -> String {
    let mut buf = [0_u8; 12];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    key: String,
}

pub async fn admin_refund(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<RefundForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let (outcome, amount) = match st.app.credit.refund_typed(id, &form.amount, &form.key).await {
        Ok(done) => done,
        // Refused: the list again, the admin still signed in, with why and what was typed.
        Err(
            e @ (CreditError::NotRefundable(_)
            | CreditError::InvalidAmount
            | CreditError::MissingRequestKey
            | CreditError::RefundFailed
            | CreditError::Payment(_)),
        ) => {
            let problem = Problem::from(e);
            let message = problem.message(&ctx.layout(&st).tr);
            let error = RefundRefusal { purchase_id: id, amount: form.amount.clone(), message };
            return purchases_page(&st, &ctx, problem.status, Some(error)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let done = match outcome {
        RefundOutcome::Done => "refund-done",
        RefundOutcome::Retrying => "refund-retrying",
    };
    Ok(Flash::new(done).id(id).amount(amount).redirect("/admin/purchases"))
}

#[derive(Deserialize)]
pub struct ProviderTestForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    amount: String,
}

/// The test-mode checkout: an admin acts as the provider (a refund from its dashboard, a
/// chargeback) to see how the platform reconciles it.
pub async fn admin_provider_test(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<ProviderTestForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let action =
        ProviderAction::parse(&form.action).ok_or_else(|| Problem::status(StatusCode::UNPROCESSABLE_ENTITY))?;
    st.app.credit.simulate_at_provider(id, action, &form.amount).await?;
    Ok(Flash::new("provider-event").redirect("/admin/purchases"))
}

#[derive(Template)]
#[template(path = "admin/packs.html")]
struct PacksPage<'a> {
    l: Layout<'a>,
    sites: Vec<SitePacks>,
    error: Option<String>,
    /// The new pack's form as typed, shown again when it was refused.
    typed: PackForm,
}

struct SitePacks {
    code: String,
    name: String,
    packs: Vec<PackRow>,
}

struct PackRow {
    id: i64,
    price: String,
    bonus: String,
    active: bool,
}

async fn packs_page(
    st: &AppState,
    ctx: &PageCtx,
    status: StatusCode,
    error: Option<Problem>,
    typed: PackForm,
) -> PageResult {
    let sites = st.app.sites.list().await?;
    let packs = st.app.credit.all_packs().await?;
    let l = ctx.layout(st);
    let sites = sites
        .iter()
        .cloned()
        .map(|site| {
            let rows = packs
                .iter()
                .filter(|p| p.site_id == site.id)
                .map(|p| PackRow {
                    id: p.id,
                    price: p.price.format(l.tr.locale),
                    bonus: p.bonus.format(l.tr.locale),
                    active: p.active,
                })
                .collect();
            SitePacks { code: site.code.to_string(), name: site.name, packs: rows }
        })
        .collect();
    let error = error.map(|p| p.message(&l.tr));
    render(status, &PacksPage { l, sites, error, typed })
}

pub async fn admin_packs(State(st): State<AppState>, ctx: PageCtx) -> PageResult {
    ctx.require(Role::Admin)?;
    packs_page(&st, &ctx, StatusCode::OK, None, PackForm::default()).await
}

#[derive(Default, Deserialize)]
pub struct PackForm {
    #[serde(default)]
    site: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    bonus: String,
}

pub async fn admin_add_pack(
    State(st): State<AppState>,
    ctx: PageCtx,
    PageForm(form): PageForm<PackForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let limits = st.app.settings.pricing.pack_limits();
    match st.app.credit.add_pack(&form.site, &form.price, &form.bonus, limits).await {
        Ok(pack) => Ok(Flash::new("pack-added").amount(pack.price).redirect("/admin/packs")),
        // Shown above the form, which stays as it was typed.
        Err(e @ (CreditError::UnknownSite | CreditError::InvalidAmount | CreditError::PackTerms(_))) => {
            let problem = Problem::from(e);
            packs_page(&st, &ctx, problem.status, Some(problem), form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    active: String,
}

pub async fn admin_toggle_pack(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    PageForm(form): PageForm<ToggleForm>,
) -> PageResult {
    ctx.require(Role::Admin)?;
    let id: i64 = id.parse().map_err(|_| Problem::status(StatusCode::NOT_FOUND))?;
    let active = form.active == "true";
    st.app.credit.set_pack_active(id, active).await?;
    Ok(Flash::new(if active { "pack-on-sale" } else { "pack-withdrawn" }).id(id).redirect("/admin/packs"))
}
