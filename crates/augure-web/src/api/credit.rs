//! Prepaid credit over the API: the packs on sale, buying one, and the wallet.

use augure_app::idempotency::Begin;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ProblemView};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::Problem;

pub fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new().route("/packs", get(packs)).route("/purchases", post(create_purchase)).route("/wallet", get(wallet))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PacksQuery {
    /// A site code, e.g. `CH`; by default the caller's home site (the first site for an
    /// anonymous caller).
    site: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct PackView {
    /// Send as `pack_id` to `POST /api/v1/purchases`.
    id: i64,
    /// The site it is sold on.
    site: String,
    /// Minor units of `currency`.
    price: i64,
    /// Credit given on top of the price, minor units.
    bonus: i64,
    currency: String,
}

/// The credit packs on sale on a site. A client can buy only those of their home site.
#[utoipa::path(get, path = "/api/v1/packs", tag = "credit", params(PacksQuery), security((), ("bearer" = [])),
    responses((status = 200, body = [PackView]),
        (status = 401, description = "The token sent is unknown or expired", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Unknown site", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn packs(
    State(st): State<AppState>,
    caller: Option<ApiCaller>,
    Query(query): Query<PacksQuery>,
) -> Result<Json<Vec<PackView>>, Problem> {
    let sites = st.app.sites.list().await?;
    let site = match query.site.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => sites.iter().find(|s| s.code.as_str().eq_ignore_ascii_case(code)),
        None => {
            let home = caller.as_ref().and_then(|c| c.session.user.site_id);
            sites.iter().find(|s| Some(s.id) == home).or(sites.first())
        }
    };
    let site = match (site, &query.site) {
        (Some(site), _) => site,
        (None, Some(_)) => return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site")),
        (None, None) => return Ok(Json(Vec::new())),
    };
    let packs = st.app.credit.packs_on(site.id).await?;
    Ok(Json(
        packs
            .into_iter()
            .map(|p| PackView {
                id: p.id,
                site: site.code.to_string(),
                price: p.price.minor,
                bonus: p.bonus.minor,
                currency: p.price.currency.code().into(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PurchaseRequest {
    #[serde(deserialize_with = "super::whole_number")]
    pack_id: i64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub(super) struct PurchaseView {
    purchase_id: i64,
    /// Minor units.
    price: i64,
    bonus: i64,
    currency: String,
    status: String,
    /// Send the buyer here to pay.
    checkout_url: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct WalletLine {
    at: String,
    code: String,
    /// Minor units; negative when credit left the wallet.
    amount: i64,
}

#[derive(Serialize, ToSchema)]
pub(super) struct WalletView {
    currency: String,
    available: i64,
    on_hold: i64,
    history: Vec<WalletLine>,
}

/// Starts buying a credit pack. Send an `Idempotency-Key` header: retrying with the same
/// key and body returns the first answer instead of opening a second purchase.
#[utoipa::path(post, path = "/api/v1/purchases", tag = "credit", request_body = PurchaseRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, body = PurchaseView),
        (status = 404, description = "Unknown pack", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still in progress: retry", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Key reused with another body, or pack not sold here", body = ProblemView, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_purchase(
    State(st): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PurchaseRequest>,
) -> Result<Response, Problem> {
    let user = &caller.session.user;
    let request_hash = format!("purchases:{}", body.pack_id);
    let key = idempotency_key(&headers)?;
    if let Some(key) = &key
        && let Begin::Replay(stored) = st.app.idempotency.begin(user.id, key, &request_hash).await?
    {
        return Ok(replay(stored));
    }
    let started = st.app.credit.start_purchase(user, body.pack_id, &st.app.settings.public_url).await;
    let (purchase, checkout) = match started {
        Ok(started) => started,
        Err(e) => {
            // Nothing was bought: the key is free for a retry.
            if let Some(key) = &key {
                st.app.idempotency.abandon(user.id, key).await?;
            }
            return Err(e.into());
        }
    };
    let view = PurchaseView {
        purchase_id: purchase.id,
        price: purchase.price.minor,
        bonus: purchase.bonus.minor,
        currency: purchase.price.currency.code().into(),
        status: purchase.status.as_str().into(),
        checkout_url: checkout.url,
    };
    let json = serde_json::to_string(&view).map_err(Problem::internal)?;
    if let Some(key) = &key {
        let stored = augure_store::StoredResponse { request_hash, status: 201, body: json.clone() };
        st.app.idempotency.finish(user.id, key, &stored).await?;
    }
    Ok((StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The `Idempotency-Key` header, if sent: 1–255 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255);
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        Problem::new(StatusCode::BAD_REQUEST, "err-bad-request")
            .with_detail("Idempotency-Key must be 1-255 visible characters")
    })
}

/// The first answer given for this key, sent again (a JSON body, or none).
pub(super) fn replay(stored: augure_store::StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let replayed = (axum::http::header::HeaderName::from_static("idempotent-replayed"), "true");
    if stored.body.is_empty() {
        return (status, [replayed]).into_response();
    }
    (status, [(axum::http::header::CONTENT_TYPE, "application/json"), replayed], stored.body).into_response()
}

/// The caller's credit: what is available, what live consultations hold, and the history.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "credit", security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, body = ProblemView, content_type = "application/problem+json"),
        (status = 403, description = "the caller is not a client", body = ProblemView, content_type = "application/problem+json")))]
pub(super) async fn wallet(State(st): State<AppState>, caller: ApiCaller) -> Result<Json<WalletView>, Problem> {
    let w = st.app.credit.wallet(&caller.session.user).await?;
    let history = w
        .history
        .iter()
        .filter(|t| t.amount > 0)
        .map(|t| WalletLine { at: t.created_at.to_rfc3339(), code: t.code.clone(), amount: w.signed_amount(t) })
        .collect();
    Ok(Json(WalletView {
        currency: w.currency.code().into(),
        available: w.available.minor,
        on_hold: w.on_hold.minor,
        history,
    }))
}
