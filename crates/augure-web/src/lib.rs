//! The HTTP surface: server-rendered pages, the JSON API under `/api/v1`, health checks
//! and metrics. Handlers translate between HTTP and the use cases in `augure-app`; every
//! error is turned into a response in one place ([`error`]).

pub(crate) mod api;
mod auth;
mod chat_text;
mod client_addr;
mod error;
pub mod flash;
mod limits;
mod locale;
mod ops;
mod pages;
mod redirect;
mod socket;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use augure_app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use ops::metrics_handle;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Behind one pointer: every handler clones the state.
    pub app: Arc<App>,
    limits: Arc<limits::Limits>,
    pub(crate) cards: Arc<pages::CardCache>,
    /// Set when the server stops: streams and sockets that never end by themselves
    /// (directory events, presence) end on it, so a graceful stop does not wait forever.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        let limits = Arc::new(limits::Limits::new(&app.settings, app.clock.clone()));
        let stopping = Arc::new(tokio::sync::watch::Sender::new(false));
        Self { app: Arc::new(app), limits, cards: Arc::default(), stopping }
    }

    /// Resolves once the server is stopping.
    pub(crate) fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut stopping = self.stopping.subscribe();
        async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        }
    }
}

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let settings = state.app.settings.clone();
    // Install the recorder before the first request is counted.
    ops::metrics_handle();
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(pages::routes(&settings))
        .nest("/api/v1", api::routes(&settings))
        .merge(ops::routes())
        .route_layer(middleware::from_fn(ops::record_metrics))
        .route("/static/app.css", axum::routing::get(stylesheet))
        .route("/favicon.svg", axum::routing::get(favicon))
        // Browsers ask for it on their own; the SVG is the one icon.
        .route("/favicon.ico", axum::routing::get(|| async { axum::response::Redirect::permanent("/favicon.svg") }))
        .route("/ws", axum::routing::get(socket::socket))
        .route("/static/live.js", axum::routing::get(live_script))
        .route("/static/directory.js", axum::routing::get(directory_script))
        .route("/static/wallet.js", axum::routing::get(wallet_script))
        .route("/static/counter.js", axum::routing::get(counter_script))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(settings.http.max_body_bytes))
        .layer(middleware::from_fn_with_state(limits::largest_body(&settings), limits::refuse_oversized))
        // Cross-site form posts are refused from the browser's own Sec-Fetch-Site/Origin.
        .layer(CsrfLayer::new())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.http.request_timeout_seconds),
        ))
        // Outside the layers above, so their rejections get a proper body too.
        .layer(middleware::from_fn_with_state(state.clone(), error::render_errors))
        // Pages are personal (a wallet, an admin list): never kept by a browser or proxy, so
        // Back after signing out shows nothing. Static files and media set their own.
        .layer(security_header(header::CACHE_CONTROL, "no-store"))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::REFERRER_POLICY, "same-origin"))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The stylesheet is compiled in: the binary is the whole deployment.
async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.css"),
    )
}

async fn favicon() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../static/favicon.svg"),
    )
}

async fn counter_script() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/counter.js"),
    )
}

async fn wallet_script() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/wallet.js"),
    )
}

async fn live_script() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/live.js"),
    )
}

async fn directory_script() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/directory.js"),
    )
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Serves the platform on `listener` until `shutdown` resolves. Then the streams and
/// sockets that never end by themselves are told to close, requests in flight finish, and
/// whatever is still open after `http.shutdown_grace_seconds` is dropped: a stop never
/// hangs until the supervisor's SIGKILL.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.app.settings.http.shutdown_grace_seconds);
    let stopping = state.stopping.clone();
    let (begun, has_begun) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.send_replace(true);
            let _ = begun.send(());
        });
    let deadline = async move {
        match has_begun.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The server ended before any stop was asked for: its own result tells why.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server.into_future() => served,
        () = deadline => {
            tracing::warn!(seconds = grace.as_secs(), "connections still open at the shutdown deadline: closing them");
            Ok(())
        }
    }
}
