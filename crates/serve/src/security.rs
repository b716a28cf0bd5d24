//! Who may talk to the server. A heap snapshot holds the app's secrets and
//! live mode can run code in the target, so every request needs the
//! per-run token (from the URL the CLI printed, then a cookie), names this
//! server in its Host header (a DNS-rebinding page names its own domain),
//! and, when a browser sends an Origin, comes from this server's origin.
//! Nothing is sent with CORS headers, so other sites cannot read answers.

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
    cookie: String,
}

impl Guard {
    /// `hosts`: the `host:port` strings a browser may put in `Host` (for a
    /// loopback address: `127.0.0.1:P`, `localhost:P`, `[::1]:P`).
    pub fn new(token: String, hosts: Vec<String>, port: u16) -> Arc<Self> {
        Arc::new(Guard {
            token,
            hosts,
            // Cookies are shared by every port of a host: one name per port.
            cookie: format!("leakscope_{port}"),
        })
    }

    fn host_allowed(&self, headers: &HeaderMap) -> Option<String> {
        let host = headers
            .get(header::HOST)?
            .to_str()
            .ok()?
            .to_ascii_lowercase();
        self.hosts.contains(&host).then_some(host)
    }

    fn origin_allowed(&self, headers: &HeaderMap, host: &str) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(origin) => origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}"))),
        }
    }

    fn cookie_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value)
    }

    fn is_token(&self, candidate: &str) -> bool {
        constant_time_eq(candidate.as_bytes(), self.token.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| value)
}

fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], why).into_response()
}

/// The middleware: refuses foreign hosts and origins (403) and requests
/// without the token (401); a token in the URL becomes a cookie, and the
/// page is reloaded without it so it stays out of history and logs.
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
    let from_url = query_token(request.uri().query()).is_some_and(|t| guard.is_token(t));
    let from_cookie = guard
        .cookie_token(headers)
        .is_some_and(|t| guard.is_token(t));
    if !from_url && !from_cookie {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "leakscope: this server needs the token from the URL it printed\n",
        );
    }
    if from_url && request.uri().path() == "/" {
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            guard.cookie, guard.token
        );
        let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
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
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(query_token(Some("a=1&token=xyz")), Some("xyz"));
        assert_eq!(query_token(None), None);
        assert_eq!(new_token().len(), 32);
        assert_ne!(new_token(), new_token());
    }
}
