//! Who may talk to the server. A heap snapshot holds the app's secrets and
//! live mode can run code in the target, so every API request needs the
//! per-run token in a header (`X-Leakscope-Token`, or `Authorization:
//! Bearer`), names this server in its Host header (a DNS-rebinding page
//! names its own domain), and, when a browser sends an Origin, comes from
//! this server's origin. The token never rides in a cookie: browsers share
//! cookies between every port of a host, so any other local server (the app
//! being debugged included) would receive it. The printed URL carries it in
//! its fragment (`/#token=…`, never sent to a server); the page keeps it in
//! its own origin's session storage and sends it as a header, which another
//! origin's page cannot do without a CORS preflight this server never
//! grants. The page and its script and styles hold no data and are served
//! without it. Nothing is sent with CORS headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a request must carry.
pub struct Guard {
    token: String,
    /// `host:port` forms this server answers to.
    hosts: Vec<String>,
    /// Listening on every address (`0.0.0.0`, `::`) at this port: any IP
    /// literal names this server too (a rebinding page names a domain).
    any_address_port: Option<u16>,
}

/// The header the page sends the token in.
pub const TOKEN_HEADER: &str = "x-leakscope-token";

/// What the server sends to anyone on an allowed Host and Origin: the page
/// and its code, which hold no data.
fn is_public(path: &str) -> bool {
    matches!(path, "/" | "/app.js" | "/app.css")
}

impl Guard {
    /// `hosts`: the `host:port` strings a browser may put in `Host` (for a
    /// loopback address: `127.0.0.1:P`, `localhost:P`, `[::1]:P`).
    /// `any_address_port`: the port, when the server listens on every
    /// address; then `IP:port` for any IP literal, and `localhost:port`, are
    /// accepted as well.
    pub fn new(token: String, hosts: Vec<String>, any_address_port: Option<u16>) -> Arc<Self> {
        Arc::new(Guard {
            token,
            hosts,
            any_address_port,
        })
    }

    fn host_allowed(&self, headers: &HeaderMap) -> Option<String> {
        let host = headers
            .get(header::HOST)?
            .to_str()
            .ok()?
            .to_ascii_lowercase();
        (self.hosts.contains(&host) || self.names_any_address(&host)).then_some(host)
    }

    fn names_any_address(&self, host: &str) -> bool {
        let Some(port) = self.any_address_port else {
            return false;
        };
        let Some((name, p)) = host.rsplit_once(':') else {
            return false;
        };
        if p.parse::<u16>().ok() != Some(port) {
            return false;
        }
        name == "localhost"
            || name.parse::<std::net::Ipv4Addr>().is_ok()
            || name
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .is_some_and(|n| n.parse::<std::net::Ipv6Addr>().is_ok())
    }

    fn origin_allowed(&self, headers: &HeaderMap, host: &str) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(origin) => origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}"))),
        }
    }

    /// The token a request carries in `X-Leakscope-Token` or
    /// `Authorization: Bearer`.
    fn header_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        if let Some(value) = headers.get(TOKEN_HEADER) {
            return value.to_str().ok();
        }
        headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
    }

    fn is_token(&self, candidate: &str) -> bool {
        constant_time_eq(candidate.as_bytes(), self.token.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], why).into_response()
}

/// The middleware: refuses foreign hosts and origins (403) and, but for the
/// page itself, requests without the token in a header (401).
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(host) = guard.host_allowed(headers) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "leakscope: foreign Host header refused\n",
        );
    };
    if !guard.origin_allowed(headers, &host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "leakscope: cross-origin request refused\n",
        );
    }
    let authorized = guard
        .header_token(headers)
        .is_some_and(|t| guard.is_token(t));
    if !authorized && !is_public(request.uri().path()) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "leakscope: this server needs the token of the URL it printed (open that URL)\n",
        );
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    response
}

/// A fresh token: 128 random bits, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_answers_to_ip_literals_only() {
        let guard = Guard::new("t".into(), vec![], Some(80));
        let named = |h: &str| guard.names_any_address(h);
        assert!(named("10.0.0.7:80") && named("[fe80::1]:80") && named("localhost:80"));
        assert!(!named("evil.example:80") && !named("10.0.0.7:81") && !named("10.0.0.7"));
        let exact = Guard::new("t".into(), vec!["10.0.0.7:80".into()], None);
        assert!(!exact.names_any_address("10.0.0.8:80"));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(new_token().len(), 32);
        assert_ne!(new_token(), new_token());
    }
}
