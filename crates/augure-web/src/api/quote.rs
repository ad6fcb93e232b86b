//! Quote over the API (SPEC §3): what a consultation of a given length with an expert
//! costs the caller, free minutes and package applied, and how long their credit lasts.

use augure_app::pricing::{MAX_QUOTE_SECONDS, QuoteError, QuoteRequest};
use augure_domain::{Mode, SiteCode};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::ProblemView;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(paths(quote), components(schemas(QuoteView, AmountView, QuoteMode)))]
pub struct QuoteDoc;

/// The query as sent: every value is read here, so that a wrong one is a problem document
/// naming it rather than the framework's text.
#[derive(Deserialize)]
pub(super) struct QuoteQuery {
    mode: Option<String>,
    seconds: Option<String>,
    package: Option<String>,
    site: Option<String>,
}

/// The modes billed by the minute, all at the same price (WG-rate).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // Only describes the parameter: the handler reads a `Mode`.
pub(super) enum QuoteMode {
    Phone,
    Chat,
    Video,
}

/// An amount of money.
#[derive(Serialize, ToSchema)]
pub(super) struct AmountView {
    /// Minor units (cents, centimes) of `currency`.
    pub(super) minor: i64,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub(super) currency: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct QuoteView {
    /// The site whose prices apply (its code).
    #[schema(example = "FR")]
    site: String,
    /// The seconds asked for.
    billable_seconds: u64,
    /// Of those, the seconds given free: the expert's free minutes, on a client's first
    /// consultation with them only, by the minute only (PH-free).
    free_seconds: u64,
    /// Of those, the seconds the package covers (0 by the minute).
    package_seconds: u64,
    /// What those seconds cost: P × N ÷ 60 rounded half-up on the total (WG-rate); with the
    /// package, its price (nothing under the very-short threshold) plus the per-minute
    /// price beyond it (PH-package).
    charge: AmountView,
    /// How many seconds the calling client's available credit in that currency pays for
    /// with this plan, free seconds included (0 while they owe a debt). `null` for an
    /// anonymous caller, an expert or an admin: they hold no credit.
    affordable_seconds: Option<u64>,
}

/// The exact price of a consultation of `seconds` with an expert, computed as it will be
/// billed. A signed-in client is quoted on their own site (or on `site`) with their
/// history: free minutes only if they never consulted this expert. Anyone else is quoted
/// as a new client, on `site` or the expert's home site.
#[utoipa::path(get, path = "/api/v1/experts/{code}/quote", tag = "experts", security((), ("bearer" = [])),
    params(
        ("code" = u32, Path, description = "The expert code (SP-code)"),
        ("mode" = QuoteMode, Query, description = "The mode of the consultation"),
        ("seconds" = u64, Query, minimum = 1, maximum = 86400, description = "Its billable length, in seconds"),
        ("package" = Option<bool>, Query, description = "`true`: with the expert's package (PH-package) instead of by the minute"),
        ("site" = Option<String>, Query, description = "A site code; by default the client's own site where the expert is listed, else the expert's home site"),
    ),
    responses(
        (status = 200, body = QuoteView),
        (status = 400, description = "Unknown mode, or seconds not 1 to 86400", body = ProblemView, content_type = "application/problem+json"),
        (status = 401, description = "The token sent is unknown or expired", body = ProblemView, content_type = "application/problem+json"),
        (status = 404, description = "No such expert, or not listed on the site", body = ProblemView, content_type = "application/problem+json"),
        (status = 409, description = "`package=true` but the expert sells no package", body = ProblemView, content_type = "application/problem+json"),
        (status = 422, description = "Unknown site", body = ProblemView, content_type = "application/problem+json"),
    ))]
pub(super) async fn quote(
    State(st): State<AppState>,
    caller: Option<ApiCaller>,
    Path(code): Path<String>,
    Query(query): Query<QuoteQuery>,
) -> Result<Json<QuoteView>, Problem> {
    let filled = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let expert_code = code.parse().map_err(|_| QuoteError::UnknownExpert)?;
    let mode: Mode = filled(&query.mode).and_then(|m| m.parse().ok()).ok_or(QuoteError::Mode)?;
    let seconds_wrong = || QuoteError::Seconds { max: MAX_QUOTE_SECONDS };
    let seconds = filled(&query.seconds).and_then(|s| s.parse().ok()).ok_or_else(seconds_wrong)?;
    let package = match filled(&query.package).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(Problem::status(axum::http::StatusCode::BAD_REQUEST).with_detail("package is true or false"));
        }
    };
    let site = match filled(&query.site) {
        Some(code) => Some(code.parse::<SiteCode>().map_err(|_| QuoteError::UnknownSite)?),
        None => None,
    };
    let request =
        QuoteRequest { expert_code, site, viewer: caller.as_ref().map(|c| &c.session.user), mode, seconds, package };
    let q = st.app.pricing.quote(&st.app.directory, &st.app.credit, &request).await?;
    Ok(Json(QuoteView {
        site: q.site.to_string(),
        billable_seconds: q.charge.billable_seconds,
        free_seconds: q.charge.free_seconds,
        package_seconds: q.charge.package_seconds,
        charge: AmountView { minor: q.charge.charge.minor, currency: q.charge.charge.currency.code().into() },
        affordable_seconds: q.affordable_seconds,
    }))
}
