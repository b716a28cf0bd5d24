//! Request templates: what one request looks like, and the request-file
//! format (`METHOD TARGET [BODY]` per line).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};

use crate::LoadError;

/// One kind of request. `{seq}` in the target or body becomes the request's
/// sequence number.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub method: Method,
    target: Target,
    pub headers: HeaderMap,
    body: Body,
}

/// Parsed once when it has no `{seq}`: the hot loop then only clones.
#[derive(Debug, Clone)]
enum Target {
    Fixed(Uri),
    Numbered(String),
}

#[derive(Debug, Clone)]
enum Body {
    Fixed(Bytes),
    Numbered(String),
}

const SEQUENCE: &str = "{seq}";

impl RequestTemplate {
    /// A `GET` of `target` (a path with optional query, e.g. `/a?n={seq}`).
    pub fn get(target: &str) -> RequestTemplate {
        RequestTemplate::new(Method::GET, target, "").expect("a path is a valid target")
    }

    pub fn new(method: Method, target: &str, body: &str) -> Result<RequestTemplate, LoadError> {
        let target = if target.is_empty() { "/" } else { target };
        if !target.starts_with('/') {
            return Err(LoadError::BadRequest(format!(
                "request target {target:?} must start with '/'"
            )));
        }
        let target = if target.contains(SEQUENCE) {
            // Check the shape with a number in place.
            target.replace(SEQUENCE, "0").parse::<Uri>().map_err(|e| {
                LoadError::BadRequest(format!("bad request target {target:?}: {e}"))
            })?;
            Target::Numbered(target.to_owned())
        } else {
            Target::Fixed(target.parse().map_err(|e| {
                LoadError::BadRequest(format!("bad request target {target:?}: {e}"))
            })?)
        };
        let mut template = RequestTemplate {
            method,
            target,
            headers: HeaderMap::new(),
            body: Body::Fixed(Bytes::new()),
        };
        template.set_body(body);
        Ok(template)
    }

    /// Sets the body; one that looks like JSON gets a JSON content type
    /// unless a header says otherwise.
    pub fn set_body(&mut self, body: &str) {
        self.body = if body.contains(SEQUENCE) {
            Body::Numbered(body.to_owned())
        } else {
            Body::Fixed(Bytes::copy_from_slice(body.as_bytes()))
        };
        if body_looks_like_json(body) {
            self.headers
                .entry(CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
        }
    }

    /// Adds a `Name: value` header (replacing one of the same name).
    pub fn header(&mut self, line: &str) -> Result<(), LoadError> {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            LoadError::BadRequest(format!("header {line:?} is not `Name: value`"))
        })?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| LoadError::BadRequest(format!("bad header name in {line:?}")))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| LoadError::BadRequest(format!("bad header value in {line:?}")))?;
        self.headers.insert(name, value);
        Ok(())
    }

    pub(crate) fn build(&self, n: u64, authority: &str, keep_alive: bool) -> Request<Full<Bytes>> {
        let uri = match &self.target {
            Target::Fixed(uri) => uri.clone(),
            Target::Numbered(t) => t
                .replace(SEQUENCE, &n.to_string())
                .parse()
                .expect("checked when the template was made"),
        };
        let body = match &self.body {
            Body::Fixed(b) => b.clone(),
            Body::Numbered(t) => Bytes::from(t.replace(SEQUENCE, &n.to_string())),
        };
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.clone_from(&self.headers);
        if !headers.contains_key(HOST) {
            headers.insert(
                HOST,
                HeaderValue::from_str(authority).expect("checked URL authority"),
            );
        }
        if !keep_alive {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        request
    }
}

fn body_looks_like_json(body: &str) -> bool {
    let b = body.trim_start();
    b.starts_with('{') || b.starts_with('[')
}

/// Splits `http://host[:port][/target]` into host, port and target.
pub(crate) fn split_url(url: &str) -> Result<(String, u16, String), LoadError> {
    let bad = |why: &str| LoadError::BadUrl(format!("bad URL {url:?}: {why}"));
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some(("https", _)) => {
            return Err(bad(
                "https is not supported; drive the app's plain HTTP port",
            ))
        }
        Some(_) => return Err(bad("only http:// URLs are supported")),
        None => url,
    };
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (
            host,
            port.parse::<u16>()
                .map_err(|_| bad(&format!("bad port {port:?}")))?,
        ),
        _ => (authority, 80),
    };
    Ok((host.to_owned(), port, target))
}

/// Parses a request file: one request per line, `METHOD TARGET [BODY]`,
/// e.g. `GET /users?id={seq}` or `POST /orders {"item": {seq}}`; blank lines and
/// lines starting with `#` are skipped. Requests are sent in file order,
/// cycling.
pub fn parse_request_file(text: &str) -> Result<Vec<RequestTemplate>, LoadError> {
    let mut requests = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or("/");
        let body = parts.next().unwrap_or("").trim();
        let method = Method::from_bytes(method.as_bytes())
            .ok()
            .filter(|_| method.chars().all(|c| c.is_ascii_uppercase()))
            .ok_or_else(|| {
                LoadError::BadRequest(format!(
                    "line {}: {method:?} is not an HTTP method (expected e.g. `GET /path`)",
                    i + 1
                ))
            })?;
        requests.push(
            RequestTemplate::new(method, target, body)
                .map_err(|e| LoadError::BadRequest(format!("line {}: {e}", i + 1)))?,
        );
    }
    if requests.is_empty() {
        return Err(LoadError::BadRequest(
            "the request file lists no requests".into(),
        ));
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/a?b=1").unwrap(),
            ("127.0.0.1".into(), 8080, "/a?b=1".into())
        );
        assert_eq!(
            split_url("localhost").unwrap(),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            split_url("http://[::1]:9/x").unwrap(),
            ("[::1]".into(), 9, "/x".into())
        );
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http://x:99999/").is_err());
        assert!(split_url("http:///").is_err());
    }

    #[test]
    fn numbers_targets_and_bodies() {
        let mut t = parse_request_file("# orders\n\nPOST /orders?n={seq} {\"id\": {seq}}\nGET /\n")
            .unwrap();
        assert_eq!(t.len(), 2);
        t[0].header("X-Test: yes").unwrap();
        let r = t[0].build(7, "h:1", true);
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/orders?n=7");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()["x-test"], "yes");
        assert_eq!(r.headers()[HOST], "h:1");
        let r = t[1].build(7, "h:1", false);
        assert_eq!(r.headers()[CONNECTION], "close");
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(parse_request_file("get /x").is_err());
        assert!(parse_request_file("GET x").is_err());
        assert!(parse_request_file("# nothing\n").is_err());
        assert!(RequestTemplate::get("/").header("nocolon").is_err());
    }
}
