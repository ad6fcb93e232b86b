//! The local test-mode checkout (the payment provider's hosted page when no real provider
//! is configured) and the endpoint where providers deliver webhooks.

use askama::Template;
use augure_app::credit::{EventOutcome, TestCardOutcome, WEBHOOK_JOB};
use augure_store::{NewJob, Purchase, PurchaseStatus};
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

/// The purchase a test checkout session belongs to, if it is still awaiting payment.
async fn pending_purchase(st: &AppState, session: &str) -> Result<Purchase, Problem> {
    let not_found = || Problem::status(StatusCode::NOT_FOUND);
    if st.app.credit.payments().test_checkout().is_none() {
        return Err(not_found());
    }
    let id: i64 = session
        .strip_prefix("cs_test_")
        .and_then(|rest| rest.split('_').next())
        .and_then(|id| id.parse().ok())
        .ok_or_else(not_found)?;
    let purchase = st.app.store.purchase(id).await.map_err(|_| not_found())?;
    if purchase.checkout_session.as_deref() != Some(session) {
        return Err(not_found());
    }
    if purchase.status != PurchaseStatus::Pending {
        return Err(Problem::new(StatusCode::GONE, "err-checkout-done"));
    }
    Ok(purchase)
}

pub async fn page(State(st): State<AppState>, ctx: PageCtx, Path(session): Path<String>) -> PageResult {
    let purchase = pending_purchase(&st, &session).await?;
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
    let purchase = pending_purchase(&st, &session).await?;
    let checkout = st.app.credit.payments().test_checkout().ok_or_else(|| Problem::status(StatusCode::NOT_FOUND))?;
    let now = st.app.clock.now();
    let (status, key, attempt) = match checkout.pay(&purchase, &form.card, form.attempt, now) {
        TestCardOutcome::Approved { body, signature } => {
            // The provider calls us back on its own schedule: queue the signed webhook.
            st.app
                .store
                .enqueue_job(&NewJob {
                    kind: WEBHOOK_JOB.into(),
                    payload: serde_json::json!({"body": body, "signature": signature}),
                    unique_key: Some(format!("test-webhook:{}", purchase.id)),
                    run_at: now,
                    created_at: now,
                })
                .await?;
            let to = format!("/wallet?purchase={}", purchase.id);
            return Ok(Redirect::to(&to).into_response());
        }
        TestCardOutcome::Declined => (StatusCode::PAYMENT_REQUIRED, "checkout-declined", form.attempt),
        TestCardOutcome::RetryNeeded => (StatusCode::SERVICE_UNAVAILABLE, "checkout-retry", form.attempt + 1),
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
        EventOutcome::Ignored => "ignored",
    };
    Ok(Json(serde_json::json!({"received": true, "outcome": outcome})))
}
