//! The local test-mode checkout (the payment provider's hosted page when no real provider
//! is configured) and the endpoint where providers deliver webhooks.

use askama::Template;
use augure_app::credit::{CreditError, EventOutcome, TestPayment};
use augure_store::PurchaseStatus;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::{Layout, PageCtx, PageForm, PageResult, render};
use crate::AppState;
use crate::error::Problem;

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage<'a> {
    l: Layout<'a>,
    session: String,
    amount: String,
    error: Option<String>,
    attempt: u32,
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    card: String,
    #[serde(default)]
    attempt: u32,
}

/// A checkout already paid or closed (the browser's Back after paying): where the
/// purchase stands, and the way to the wallet.
#[derive(Template)]
#[template(path = "checkout_closed.html")]
struct ClosedPage<'a> {
    l: Layout<'a>,
    amount: String,
    state: String,
}

async fn closed(st: &AppState, ctx: &PageCtx, session: &str) -> PageResult {
    let purchase = st.app.credit.test_checkout_session(session).await?;
    let l = ctx.layout(st);
    let amount = purchase.price.format(l.tr.locale);
    let state = match purchase.status {
        PurchaseStatus::Paid => "checkout-closed-paid",
        PurchaseStatus::Failed => "checkout-closed-failed",
        PurchaseStatus::Pending => "checkout-closed-processing",
    };
    let state = l.tr.t(state);
    render(StatusCode::OK, &ClosedPage { l, amount, state })
}

pub async fn page(State(st): State<AppState>, ctx: PageCtx, Path(session): Path<String>) -> PageResult {
    let purchase = match st.app.credit.test_checkout_purchase(&session).await {
        Err(CreditError::CheckoutDone) => return closed(&st, &ctx, &session).await,
        other => other?,
    };
    let l = ctx.layout(&st);
    let amount = purchase.price.format(l.tr.locale);
    render(StatusCode::OK, &CheckoutPage { l, session, amount, error: None, attempt: 0 })
}

pub async fn pay(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(session): Path<String>,
    PageForm(form): PageForm<CardForm>,
) -> PageResult {
    let purchase = match st.app.credit.test_checkout_purchase(&session).await {
        Err(CreditError::CheckoutDone) => return closed(&st, &ctx, &session).await,
        other => other?,
    };
    let (status, key, attempt) = match st.app.credit.pay_test_checkout(&purchase, &form.card, form.attempt).await? {
        TestPayment::Approved | TestPayment::Processing => {
            let to = format!("/wallet?purchase={}", purchase.id);
            return Ok(Redirect::to(&to).into_response());
        }
        TestPayment::Declined => (StatusCode::PAYMENT_REQUIRED, "checkout-declined", form.attempt),
        TestPayment::RetryNeeded => (StatusCode::SERVICE_UNAVAILABLE, "checkout-retry", form.attempt + 1),
    };
    let l = ctx.layout(&st);
    let amount = purchase.price.format(l.tr.locale);
    let error = Some(l.tr.t(key));
    render(status, &CheckoutPage { l, session, amount, error, attempt })
}

/// Where the payment provider posts its events. The signature is checked over the raw
/// body; an event already handled is acknowledged again without effect.
pub async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, Problem> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let outcome = st.app.credit.handle_webhook(signature, &body).await?;
    let outcome = match outcome {
        EventOutcome::Credited => "credited",
        EventOutcome::AlreadyDone => "already_done",
        EventOutcome::AwaitingFunds => "awaiting_funds",
        EventOutcome::PaymentFailed => "payment_failed",
        EventOutcome::Reconciled => "reconciled",
        EventOutcome::Ignored => "ignored",
    };
    Ok(Json(serde_json::json!({"received": true, "outcome": outcome})))
}
