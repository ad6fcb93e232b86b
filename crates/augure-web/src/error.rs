//! The one place where failures become responses. Handlers return a [`Problem`] (a status
//! and a message key); [`render_errors`] turns it, and any bare error response from the
//! framework (404, 405, 413, CSRF 403, a rejected body), into an HTML page in the
//! visitor's language or, under `/api/`, an RFC 9457 `application/problem+json` document.

use askama::Template;
use augure_app::AccountError;
use augure_app::credit::{CreditError, PaymentError};
use augure_app::i18n::Tr;
use augure_app::idempotency::IdempotencyError;
use augure_domain::account::PasswordError;
use augure_domain::{Money, Role, TextError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::locale;
use crate::pages::Layout;

/// A failure to report: the status, the key of its message in the locale files, and for
/// the API an optional technical detail.
#[derive(Clone, Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub key: &'static str,
    /// Fluent arguments for the message, e.g. a minimum length.
    pub arg: Option<(&'static str, String)>,
    /// An amount for the message, written the way the reader's language writes money.
    pub money: Option<(&'static str, Money)>,
    /// The price set a message is about, named `$prices` ("francs suisses (augure
    /// Suisse)"): its currency in the reader's language, and its sites.
    /// Boxed: a `Problem` travels in every `Err`, and is rarely about prices.
    pub prices: Option<Box<augure_app::pricing::PriceScope>>,
    /// Boxed like `prices`, so that a `Problem` stays small enough to return in `Err`.
    pub detail: Option<Box<str>>,
}

impl Problem {
    pub fn new(status: StatusCode, key: &'static str) -> Self {
        Self { status, key, arg: None, money: None, prices: None, detail: None }
    }

    pub fn status(status: StatusCode) -> Self {
        Self::new(status, default_key(status))
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into().into_boxed_str());
        self
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::status(StatusCode::INTERNAL_SERVER_ERROR).with_detail(error.to_string())
    }

    /// The message people read, in their language.
    pub fn message(&self, tr: &Tr<'_>) -> String {
        let mut args: Vec<(&str, String)> = Vec::new();
        if let Some((name, value)) = &self.arg {
            args.push((name, value.clone()));
        }
        if let Some((name, amount)) = &self.money {
            args.push((name, amount.format(tr.locale)));
        }
        if let Some(scope) = &self.prices {
            args.push(("prices", prices_label(tr, scope.currency, &scope.sites)));
        }
        if args.is_empty() { tr.t(self.key) } else { tr.t_args(self.key, &args) }
    }

    fn with_money(mut self, name: &'static str, amount: Money) -> Self {
        self.money = Some((name, amount));
        self
    }
}

/// A price set named for people: "francs suisses (augure Suisse)", or the currency alone.
pub fn prices_label(tr: &Tr<'_>, currency: augure_domain::Currency, sites: &[String]) -> String {
    let currency = tr.t(&format!("currency-{}", currency.code().to_lowercase()));
    if sites.is_empty() {
        return currency;
    }
    tr.t2("prices-scope", "currency", &currency, "sites", &sites.join(", "))
}

/// The text rule's refusals (a control character, a name with nothing visible), the same
/// message whichever form they come from.
impl From<TextError> for Problem {
    fn from(e: TextError) -> Self {
        let key = match e {
            TextError::ControlCharacter => "err-text-control",
            TextError::Invisible => "err-text-invisible",
        };
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key)
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        use AccountError as E;
        let p = |status, key| Problem::new(status, key);
        match e {
            E::InvalidEmail => p(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-email"),
            E::WeakPassword(PasswordError::TooShort(min)) => Problem {
                arg: Some(("min", min.to_string())),
                ..p(StatusCode::UNPROCESSABLE_ENTITY, "err-password-too-short")
            },
            E::WeakPassword(PasswordError::TooLong(max)) => Problem {
                arg: Some(("max", max.to_string())),
                ..p(StatusCode::UNPROCESSABLE_ENTITY, "err-password-too-long")
            },
            E::InvalidName => p(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-name"),
            E::Text(e) => e.into(),
            E::EmailTaken => p(StatusCode::CONFLICT, "err-email-taken"),
            E::UnknownSite => p(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site"),
            E::RoleNotAllowed => p(StatusCode::FORBIDDEN, "err-role-not-allowed"),
            E::TermsNotAccepted => p(StatusCode::UNPROCESSABLE_ENTITY, "err-terms-signup"),
            E::WrongCredentials => p(StatusCode::UNAUTHORIZED, "err-wrong-credentials"),
            E::WrongEntryPoint(Role::Client) => p(StatusCode::FORBIDDEN, "err-wrong-entry-client"),
            E::WrongEntryPoint(Role::Expert) => p(StatusCode::FORBIDDEN, "err-wrong-entry-expert"),
            E::WrongEntryPoint(Role::Admin) => p(StatusCode::FORBIDDEN, "err-wrong-entry-admin"),
            E::NotSignedIn => p(StatusCode::UNAUTHORIZED, "err-not-signed-in"),
            E::ResetLinkUnknown => p(StatusCode::NOT_FOUND, "err-reset-unknown"),
            E::ResetLinkExpired => p(StatusCode::GONE, "err-reset-expired"),
            E::ResetLinkUsed => p(StatusCode::GONE, "err-reset-used"),
            E::Store(e) => Problem::internal(e),
            E::Internal(e) => Problem::internal(e),
        }
    }
}

impl From<CreditError> for Problem {
    fn from(e: CreditError) -> Self {
        let p = |status, key| Problem::new(status, key);
        match e {
            CreditError::UnknownPack => p(StatusCode::NOT_FOUND, "err-unknown-pack"),
            CreditError::PackNotForSale => p(StatusCode::UNPROCESSABLE_ENTITY, "err-pack-not-for-sale"),
            CreditError::UnknownPurchase => p(StatusCode::NOT_FOUND, "err-not-found"),
            CreditError::NotAClient => p(StatusCode::FORBIDDEN, "err-forbidden"),
            CreditError::CheckoutDone => p(StatusCode::GONE, "err-checkout-done"),
            CreditError::UnknownSite => p(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site"),
            CreditError::InvalidAmount => p(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-amount"),
            CreditError::PackTerms(e) => {
                use augure_domain::credit::PackTermsError as T;
                match e {
                    T::PriceAboveMaximum(max) => {
                        p(StatusCode::UNPROCESSABLE_ENTITY, "err-pack-price-max").with_money("max", max)
                    }
                    T::BonusAboveMaximum(max) => {
                        p(StatusCode::UNPROCESSABLE_ENTITY, "err-pack-bonus-max").with_money("max", max)
                    }
                    T::Malformed | T::OutOfRange => p(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-amount"),
                }
            }
            CreditError::MissingRequestKey => Problem::status(StatusCode::UNPROCESSABLE_ENTITY),
            CreditError::NotRefundable(max) => {
                p(StatusCode::UNPROCESSABLE_ENTITY, "err-not-refundable").with_money("max", max)
            }
            CreditError::PaymentMismatch => p(StatusCode::UNPROCESSABLE_ENTITY, "err-payment-mismatch"),
            CreditError::Payment(PaymentError::BadSignature(d) | PaymentError::BadPayload(d)) => {
                p(StatusCode::BAD_REQUEST, "err-bad-signature").with_detail(d)
            }
            CreditError::Payment(PaymentError::Unavailable(d)) => {
                p(StatusCode::SERVICE_UNAVAILABLE, "err-payment-unavailable").with_detail(d)
            }
            CreditError::Payment(PaymentError::Refused(d)) => {
                p(StatusCode::UNPROCESSABLE_ENTITY, "err-payment-refused").with_detail(d)
            }
            CreditError::Ledger(e) => p(StatusCode::CONFLICT, "err-ledger").with_detail(e.to_string()),
            CreditError::RefundFailed => p(StatusCode::CONFLICT, "err-refund-failed"),
            CreditError::Store(e) => e.into(),
        }
    }
}

impl From<IdempotencyError> for Problem {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Mismatch => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-idempotency-mismatch"),
            IdempotencyError::InFlight => Problem::new(StatusCode::CONFLICT, "err-idempotency-in-flight"),
            IdempotencyError::Store(e) => e.into(),
        }
    }
}

impl From<augure_app::profile::ProfileError> for Problem {
    fn from(e: augure_app::profile::ProfileError) -> Self {
        use augure_app::profile::ProfileError as E;
        use augure_domain::bank::BankError;
        let p = |key| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key);
        match e {
            E::HolderMissing => p("err-holder-missing"),
            E::Bank(BankError::InvalidIban) => p("err-invalid-iban"),
            E::Bank(BankError::InvalidBic) => p("err-invalid-bic"),
            E::InvalidPayPal => p("err-invalid-paypal"),
            E::InvalidHeadline => p("err-profile-headline"),
            E::InvalidSpecialties => p("err-profile-specialties"),
            E::InvalidLanguages => p("err-profile-languages"),
            E::InvalidSites => p("err-profile-sites"),
            E::Prices(e) => e.into(),
            E::TooLong => p("err-profile-too-long"),
            E::Text(e) => e.into(),
            E::TermsNotAccepted => p("err-terms"),
            E::InvalidPhone => p("err-profile-phone"),
            E::Store(e) => e.into(),
        }
    }
}

impl From<augure_app::legal::LegalError> for Problem {
    fn from(e: augure_app::legal::LegalError) -> Self {
        use augure_app::legal::LegalError as E;
        let with_max = |key, max: usize| Problem {
            arg: Some(("max", max.to_string())),
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key)
        };
        match e {
            E::InvalidTitle { max } => with_max("err-page-title", max),
            E::InvalidBody { max } => with_max("err-page-body", max),
            E::UnsupportedLocale => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-invalid-input"),
            E::Text(e) => e.into(),
            E::Store(e) => e.into(),
        }
    }
}

/// A price set refused, named by its currency and sites.
impl From<augure_app::pricing::PriceFormError> for Problem {
    fn from(e: augure_app::pricing::PriceFormError) -> Self {
        use augure_app::pricing::PriceFormError as E;
        let (scope, problem) = match e {
            E::NotAnAmount(scope) => (scope, price_problem("err-prices-amount")),
            E::PackageIncomplete { scope, max } => {
                (scope, Problem { arg: Some(("max", max.to_string())), ..price_problem("err-prices-package") })
            }
            E::Rule { scope, error } => (scope, error.into()),
        };
        Problem { prices: Some(Box::new(scope)), ..problem }
    }
}

/// SP-tariffs: an imposed per-minute price refused.
impl From<augure_app::pricing::TariffError> for Problem {
    fn from(e: augure_app::pricing::TariffError) -> Self {
        use augure_app::pricing::TariffError as E;
        match e {
            E::UnknownSite => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site"),
            E::NotAnAmount => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-profile-price"),
            E::Row { row, problem } => {
                use augure_domain::site::TariffRowProblem as R;
                let (key, money) = match problem {
                    R::NoLabel => ("err-tariff-no-label", None),
                    R::LabelTooLong => ("err-tariff-label-long", None),
                    R::Label(_) => ("err-tariff-label-text", None),
                    R::Phone(_) => ("err-tariff-phone", None),
                    R::NotAnAmount => ("err-tariff-amount", None),
                    R::NoPrice => ("err-tariff-no-price", None),
                    R::AboveMaximum(max) => ("err-tariff-max", Some(("maximum", max))),
                };
                Problem {
                    arg: Some(("row", row.to_string())),
                    money,
                    ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key)
                }
            }
            E::LiftUnlists { experts, currency } => Problem {
                arg: Some(("count", experts.to_string())),
                prices: Some(Box::new(augure_app::pricing::PriceScope { currency, sites: Vec::new() })),
                ..Problem::new(StatusCode::CONFLICT, "err-site-tariff-lift")
            },
            E::Rule(augure_domain::pricing::PriceSetError::BelowMinimum { minimum, .. }) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-site-tariff-min").with_money("minimum", minimum)
            }
            E::Rule(augure_domain::pricing::PriceSetError::AboveMaximum { maximum, .. }) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-profile-price-max").with_money("maximum", maximum)
            }
            E::Rule(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-profile-price"),
            E::Store(e) => e.into(),
        }
    }
}

/// AT-min and the other price rules of a price set; the caller names the set (`$prices`).
impl From<augure_app::pricing::QuoteError> for Problem {
    fn from(e: augure_app::pricing::QuoteError) -> Self {
        use augure_app::pricing::QuoteError as E;
        match e {
            E::UnknownExpert => Problem::new(StatusCode::NOT_FOUND, "err-quote-expert"),
            E::UnknownSite => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-unknown-site"),
            E::Mode => Problem::new(StatusCode::BAD_REQUEST, "err-quote-mode"),
            E::Seconds { max } => Problem {
                arg: Some(("max", max.to_string())),
                ..Problem::new(StatusCode::BAD_REQUEST, "err-quote-seconds")
            },
            // The expert may sell one later: the request is right, the offer is not there.
            E::NoPackage => Problem::new(StatusCode::CONFLICT, "err-quote-package"),
            E::Credit(e) => e.into(),
            E::Store(e) => e.into(),
        }
    }
}

impl From<augure_app::chat::ChatError> for Problem {
    fn from(e: augure_app::chat::ChatError) -> Self {
        use augure_app::chat::ChatError as E;
        use augure_domain::chat::MessageError as M;
        match e {
            E::UnknownExpert => Problem::new(StatusCode::NOT_FOUND, "err-quote-expert"),
            E::Offline => Problem::new(StatusCode::CONFLICT, "err-chat-offline"),
            E::Blocked => Problem::new(StatusCode::FORBIDDEN, "err-chat-blocked"),
            E::Busy => Problem::new(StatusCode::CONFLICT, "err-chat-busy"),
            E::NoCredit => Problem::new(StatusCode::PAYMENT_REQUIRED, "err-chat-no-credit"),
            // Someone else's consultation does not exist for this reader.
            E::NotParty => Problem::new(StatusCode::NOT_FOUND, "err-chat-not-found"),
            E::NotOpen => Problem::new(StatusCode::CONFLICT, "err-chat-not-open"),
            E::Paused => Problem::new(StatusCode::CONFLICT, "err-chat-paused"),
            E::Message(M::Empty) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-chat-empty"),
            E::Message(M::TooLong(max)) => Problem {
                arg: Some(("max", max.to_string())),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-chat-too-long")
            },
            E::Message(M::Invalid) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-chat-invalid"),
            E::Message(M::TooFast) => Problem::new(StatusCode::TOO_MANY_REQUESTS, "err-chat-too-fast"),
            E::Image(e) => e.into(),
            E::Review { max } => Problem {
                arg: Some(("max", max.to_string())),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-review-invalid")
            },
            E::NotReviewable => Problem::new(StatusCode::CONFLICT, "err-review-not-open"),
            E::Engine(e) => Problem::internal(e),
            E::Store(e) => e.into(),
        }
    }
}

/// PH-commission: an expert's own rate refused.
impl From<augure_app::commissions::CommissionError> for Problem {
    fn from(e: augure_app::commissions::CommissionError) -> Self {
        use augure_app::commissions::CommissionError as E;
        match e {
            E::UnknownExpert => Problem::new(StatusCode::NOT_FOUND, "err-unknown-expert"),
            E::NotARate { channel, .. } => Problem {
                arg: Some(("channel", channel.as_str().to_owned())),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-commission-rate")
            },
            E::Store(e) => e.into(),
        }
    }
}

impl From<augure_domain::pricing::PriceSetError> for Problem {
    fn from(e: augure_domain::pricing::PriceSetError) -> Self {
        use augure_domain::pricing::{PriceSetError as E, ServiceType};
        let p = price_problem;
        match e {
            E::PerMinuteMissing(_) => p("err-prices-per-minute-missing"),
            E::EmailPriceMissing(_) => p("err-prices-email-missing"),
            E::BelowMinimum { service, minimum } => p(match service {
                ServiceType::PerMinute => "err-prices-min-per-minute",
                ServiceType::Package => "err-prices-min-package",
                ServiceType::EmailConsultation => "err-prices-min-email",
            })
            .with_money("minimum", minimum),
            E::AboveMaximum { maximum, .. } => p("err-profile-price-max").with_money("maximum", maximum),
            E::PackageMinutes { max } => Problem { arg: Some(("max", max.to_string())), ..p("err-prices-package") },
            E::TooManyFreeMinutes { max } => {
                Problem { arg: Some(("max", max.to_string())), ..p("err-profile-free-minutes") }
            }
            E::WrongCurrency(_) => p("err-profile-price"),
        }
    }
}

fn price_problem(key: &'static str) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key)
}

impl From<augure_app::media::MediaServiceError> for Problem {
    fn from(e: augure_app::media::MediaServiceError) -> Self {
        use augure_app::media::MediaServiceError as E;
        use augure_media::MediaError as M;
        let p = |key| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, key);
        let with = |key, name, value: String| Problem { arg: Some((name, value)), ..p(key) };
        match e {
            E::Invalid(M::TooLarge { max_bytes }) => Problem {
                arg: Some(("max", megabytes(max_bytes))),
                ..Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "media-too-large")
            },
            E::Invalid(M::AudioTooShort { min_ms }) => {
                with("media-audio-too-short", "seconds", (min_ms / 1000).to_string())
            }
            E::Invalid(M::AudioTooLong { max_ms }) => {
                with("media-audio-too-long", "seconds", (max_ms / 1000).to_string())
            }
            E::Invalid(other) => p(other.key()),
            E::PresentationLength { min, max } => {
                Problem { arg: Some(("range", format!("{min}–{max}"))), ..p("err-presentation-length") }
            }
            E::UnsupportedLocale => p("err-invalid-input"),
            E::Text(e) => e.into(),
            E::ReasonMissing => p("err-refusal-reason"),
            E::AlreadyDecided => Problem::new(StatusCode::CONFLICT, "err-media-decided"),
            E::NotFound => Problem::status(StatusCode::NOT_FOUND),
            E::Store(e) => e.into(),
            E::Internal(d) => Problem::internal(d),
            E::Busy => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "err-media-busy"),
        }
    }
}

/// A size limit as people read it: "2 MB", "512 KB".
pub fn megabytes(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MB", bytes / (1024 * 1024))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

impl From<augure_app::sites::SiteError> for Problem {
    fn from(e: augure_app::sites::SiteError) -> Self {
        use augure_app::sites::SiteError as E;
        match e {
            E::UnknownSite => Problem::new(StatusCode::NOT_FOUND, "err-unknown-site"),
            E::InvalidPhone(typed) => Problem {
                arg: Some(("number", typed)),
                ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "err-site-phone")
            },
            E::Store(e) => e.into(),
        }
    }
}

impl From<augure_store::StoreError> for Problem {
    fn from(e: augure_store::StoreError) -> Self {
        match e {
            augure_store::StoreError::NotFound => Problem::status(StatusCode::NOT_FOUND),
            other => Problem::internal(other),
        }
    }
}

impl From<askama::Error> for Problem {
    fn from(e: askama::Error) -> Self {
        Problem::internal(e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // An empty response carrying the problem; `render_errors` writes the body.
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

pub fn default_key(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "err-bad-request",
        401 => "err-not-signed-in",
        403 => "err-forbidden",
        404 => "err-not-found",
        405 => "err-method",
        408 => "err-timeout",
        409 => "err-conflict",
        410 => "err-gone",
        413 => "err-too-large",
        415 => "err-unsupported-media",
        422 => "err-invalid-input",
        429 => "err-too-many",
        s if s >= 500 => "err-internal",
        _ => "err-bad-request",
    }
}

pub async fn not_found() -> Problem {
    Problem::status(StatusCode::NOT_FOUND)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Layout<'a>,
    status: u16,
    message: String,
}

/// Gives every error response its body: HTML for pages, problem+json for the API and
/// webhooks.
pub async fn render_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Webhooks are called by machines (the payment provider): they get problem+json too.
    let api = ["/api/", "/webhooks/"].iter().any(|prefix| request.uri().path().starts_with(prefix));
    let path = request.uri().path().to_owned();
    let locale = locale::from_headers(request.headers());
    let mut response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let problem = response.extensions_mut().remove::<Problem>();
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let has_body = content_type.starts_with("text/html") || content_type.starts_with("application/problem+json");
    if problem.is_none() && has_body {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let problem = match problem {
        Some(problem) => problem,
        None => {
            // A framework rejection: keep its text as the detail.
            let text = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
            let detail = String::from_utf8_lossy(&text).trim().to_owned();
            let problem = Problem::status(status);
            if detail.is_empty() { problem } else { problem.with_detail(detail) }
        }
    };
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            path,
            detail = problem.detail.as_deref().unwrap_or(""),
            "request failed"
        );
    }
    let tr = Tr::new(&state.app.i18n, locale);
    let title = problem.message(&tr);
    // Internal details are logged, never shown.
    let detail = if status.is_server_error() { None } else { problem.detail.clone() };
    let (body, content_type) = if api {
        let mut doc = json!({
            "type": format!("/api/v1/problems#{}", problem.key),
            "title": title,
            "status": status.as_u16(),
        });
        if let Some(detail) = detail {
            doc["detail"] = json!(detail);
        }
        (doc.to_string(), "application/problem+json")
    } else {
        let page = ErrorPage { l: Layout::anonymous(tr, &path), status: status.as_u16(), message: title };
        (page.render().unwrap_or_else(|_| format!("{status}")), "text/html; charset=utf-8")
    };
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(tr.locale));
    Response::from_parts(parts, Body::from(body))
}
