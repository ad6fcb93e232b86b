//! Limits on what a request may cost: per-address rate limits on the actions people abuse
//! (sign-in, sign-up, reset), and the largest body a request may declare.

use std::net::IpAddr;
use std::num::NonZeroU32;

use augure_app::settings::RateLimits;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct Limits {
    pub sign_in: DefaultKeyedRateLimiter<IpAddr>,
    pub sign_up: DefaultKeyedRateLimiter<IpAddr>,
    pub password_reset: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(settings: &RateLimits) -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self {
            sign_in: RateLimiter::keyed(Quota::per_minute(n(settings.sign_in_per_minute))),
            sign_up: RateLimiter::keyed(Quota::per_hour(n(settings.sign_up_per_hour))),
            password_reset: RateLimiter::keyed(Quota::per_hour(n(settings.password_reset_per_hour))),
        }
    }
}

/// What an upload route accepts for a file of at most `file_limit` bytes: the multipart
/// envelope around it, and room for the check to answer with the file's own limit.
pub fn upload_body_limit(file_limit: usize) -> usize {
    file_limit.saturating_mul(2).max(16 * 1024 * 1024)
}

/// The largest body any route accepts.
pub fn largest_body(settings: &augure_app::Settings) -> usize {
    let uploads = [settings.media.photo_max_upload_bytes, settings.media.audio_max_bytes].map(upload_body_limit);
    uploads.into_iter().fold(settings.http.max_body_bytes, usize::max)
}

/// Refuses at once a request that declares a body larger than any route accepts. The
/// per-route limits apply while a body is read, so without this a request declaring 10 GB
/// and sending nothing held its connection until the request timeout.
pub async fn refuse_oversized(
    axum::extract::State(largest): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > largest as u64 => {
            crate::error::Problem::status(axum::http::StatusCode::PAYLOAD_TOO_LARGE).into_response()
        }
        _ => next.run(request).await,
    }
}
