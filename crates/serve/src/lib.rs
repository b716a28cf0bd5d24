//! `leakscope serve`'s server: DevTools' Memory panel views (Summary,
//! Comparison, Containment, Dominators, Statistics, duplicated strings,
//! Retainers, search) in any browser, over `leakscope-explore`.
//!
//! Safe by default: it binds where it is told (the CLI defaults to
//! loopback), every request needs the per-run token (see [`security`]), and
//! the page, its script and styles are compiled into the binary — it loads
//! nothing from the network.

pub mod api;
pub mod live;
pub mod security;
pub mod workspace;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

pub use security::new_token;
pub use workspace::{LoadEvents, Silent, Status, Workspace};

/// The page and what it loads, embedded at build time.
const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], body)
}

/// The hosts a browser may name in `Host` for a server at `addr`.
pub fn allowed_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![format!("{}:{port}", fmt_ip(addr))];
    if addr.ip().is_loopback() {
        hosts.extend([
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]);
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

fn fmt_ip(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }
}

/// The URL to open: the address and the token. A server on every address
/// (`0.0.0.0`, `::`) is opened on this machine through loopback.
pub fn url(addr: SocketAddr, token: &str) -> String {
    let mut shown = addr;
    if addr.ip().is_unspecified() {
        shown.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{}:{}/#token={token}", fmt_ip(shown), shown.port())
}

/// The whole application: assets, API and the guard in front of both.
pub fn router(
    workspace: Arc<Workspace>,
    live: Option<Arc<live::Live>>,
    uploads: PathBuf,
    upload_limit: u64,
    token: String,
    addr: SocketAddr,
) -> Router {
    let state = Arc::new(api::ApiState {
        workspace,
        live,
        uploads,
        upload_limit,
        next_upload: std::sync::atomic::AtomicU64::new(0),
    });
    let any_address = addr.ip().is_unspecified().then_some(addr.port());
    let guard = security::Guard::new(token, allowed_hosts(addr), any_address);
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/snapshots", get(api::snapshots))
        .route("/api/s/{n}/overview", get(api::overview))
        .route("/api/s/{n}/classes", get(api::classes))
        .route("/api/s/{n}/instances", get(api::instances))
        .route("/api/s/{n}/node/{id}", get(api::node))
        .route("/api/s/{n}/fields/{id}", get(api::fields))
        .route("/api/s/{n}/retainers/{id}", get(api::retainers))
        .route("/api/s/{n}/path/{id}", get(api::path))
        .route("/api/s/{n}/paths/{id}", get(api::paths))
        .route("/api/s/{n}/locate/{id}", get(api::locate))
        .route(
            "/api/s/{n}/strings/{group}/holders",
            get(api::string_holders),
        )
        .route("/api/s/{n}/dominated/{id}", get(api::dominated))
        .route("/api/s/{n}/dominator-root", get(api::dominator_root))
        .route("/api/s/{n}/strings", get(api::strings))
        .route("/api/s/{n}/search", get(api::search))
        .route("/api/s/{n}/timeline", get(api::timeline))
        .route("/api/s/{n}/allocated", get(api::allocated))
        .route("/api/s/{n}/flame", get(api::flame))
        .route("/api/s/{n}/hunt", get(api::hunt))
        .route("/api/compare", get(api::compare))
        .route("/api/compare/members", get(api::compare_members))
        .route("/api/live", get(api::live_status))
        .route("/api/live/snapshot", post(api::live_snapshot))
        .route("/api/live/gc", post(api::live_gc))
        .route("/api/live/record", post(api::live_record))
        .route("/api/live/hunt", post(api::live_hunt))
        .route(
            "/api/upload",
            post(api::upload).layer(DefaultBodyLimit::disable()),
        )
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, security::guard))
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_answers_to_its_names_only() {
        let hosts = allowed_hosts("127.0.0.1:8080".parse().unwrap());
        assert_eq!(hosts, ["127.0.0.1:8080", "[::1]:8080", "localhost:8080"]);
        let hosts = allowed_hosts("10.1.2.3:80".parse().unwrap());
        assert_eq!(hosts, ["10.1.2.3:80"]);
        assert_eq!(
            url("127.0.0.1:9".parse().unwrap(), "ab"),
            "http://127.0.0.1:9/#token=ab"
        );
        assert_eq!(
            url("0.0.0.0:9".parse().unwrap(), "ab"),
            "http://127.0.0.1:9/#token=ab"
        );
    }
}
