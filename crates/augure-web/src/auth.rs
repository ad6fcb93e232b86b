//! Who is asking: a session cookie for pages, a bearer token for the API, and the client's
//! address for rate limits.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use augure_app::settings::Settings;
use augure_store::{Session, SessionKind};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::AppState;
use crate::error::Problem;

pub const SESSION_COOKIE: &str = "augure_session";

pub fn session_cookie(token: String, settings: &Settings) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time_hours(settings.accounts.session_ttl_hours))
        .build()
}

pub fn clear_session_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

fn time_hours(hours: i64) -> cookie::time::Duration {
    cookie::time::Duration::hours(hours)
}

/// The signed-in person of a page request, if any.
pub struct Viewer {
    pub session: Option<Session>,
    pub token: Option<String>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()).filter(|t| !t.is_empty()) else {
            return Ok(Viewer { session: None, token: None });
        };
        match state.app.accounts.authenticate(&token, SessionKind::Web).await {
            Ok(session) => Ok(Viewer { session: Some(session), token: Some(token) }),
            Err(augure_app::AccountError::NotSignedIn) => Ok(Viewer { session: None, token: None }),
            Err(e) => Err(e.into()),
        }
    }
}

/// An API caller authenticated by `Authorization: Bearer <token>`.
pub struct ApiCaller {
    pub session: Session,
    pub token: String,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "err-not-signed-in"))?
            .to_owned();
        let session = state.app.accounts.authenticate(&token, SessionKind::Api).await?;
        Ok(ApiCaller { session, token })
    }
}

/// An optional caller: no `Authorization` header is an anonymous call, a bad token is
/// still a 401.
impl axum::extract::OptionalFromRequestParts<AppState> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <ApiCaller as FromRequestParts<AppState>>::from_request_parts(parts, state).await.map(Some)
    }
}

/// The caller's address, the key of rate limits: the TCP peer, or the client a trusted
/// proxy forwarded for ([`crate::client_addr`]).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(state.limits.client_addr(peer, &parts.headers)))
    }
}
