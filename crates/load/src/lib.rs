//! An ab/wrk-style HTTP/1.1 load driver, also the engine behind
//! `leakscope hunt`.
//!
//! One task per connection sends requests back to back (keep-alive by
//! default, a new connection per request without it) until a request count
//! or a deadline is reached. Latencies go into one HDR histogram per
//! connection, merged at the end, so the hot loop shares nothing but two
//! atomics. A `{seq}` in a request target is replaced by the request's
//! sequence number, which makes unique URLs (cache keys, query strings).
//!
//! ```no_run
//! # async fn demo() -> Result<(), leakscope_load::LoadError> {
//! use leakscope_load::{Plan, Stop};
//! let plan = Plan::new("http://127.0.0.1:8080/hello?n={seq}", 50, Stop::Requests(10_000)).await?;
//! let report = plan.run(&Default::default()).await;
//! println!("{:.0} req/s, p99 {:.2} ms", report.requests_per_second, report.latency.p99_ms);
//! # Ok(()) }
//! ```

pub mod command;
mod request;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

pub use command::{CommandRun, LoadCommand, RunningCommand};
pub use request::{parse_request_file, RequestTemplate};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    BadRequest(String),
}

/// When the run ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many requests (completed or failed).
    Requests(u64),
    /// After this long; requests in flight at the deadline are dropped.
    Duration(Duration),
    /// At whichever comes first.
    Either(u64, Duration),
}

/// What to send, where, how hard and for how long.
#[derive(Debug, Clone)]
pub struct Plan {
    addr: SocketAddr,
    /// `Host` header value.
    authority: String,
    /// Cycled through in order, one per request.
    pub requests: Vec<RequestTemplate>,
    pub connections: usize,
    pub stop: Stop,
    pub keep_alive: bool,
    /// A request slower than this counts as an error and its connection is
    /// dropped.
    pub timeout: Duration,
    /// The first request's `{seq}`: a run that continues an earlier one
    /// (the next round of a hunt) keeps its URLs unique.
    pub first_seq: u64,
}

/// Counters the caller can read while the run goes (progress bars), and a
/// flag to end it early.
#[derive(Debug, Default)]
pub struct Live {
    pub completed: AtomicU64,
    pub errors: AtomicU64,
    pub cancel: AtomicBool,
}

/// Latency percentiles of successful requests, in milliseconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Latency {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Requests that got a complete response, whatever its status.
    pub completed: u64,
    /// Requests that got no complete response, by cause.
    pub errors: BTreeMap<String, u64>,
    pub error_count: u64,
    pub status_counts: BTreeMap<u16, u64>,
    /// Responses with a status of 400 or more.
    pub non_2xx_3xx: u64,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub body_bytes: u64,
    pub connections_opened: u64,
    pub latency: Latency,
}

impl Report {
    /// The most frequent cause of failed requests, for one-line errors.
    pub fn main_error(&self) -> &str {
        self.errors
            .iter()
            .max_by_key(|(_, &count)| count)
            .map_or("no response", |(cause, _)| cause)
    }
}

/// What a session that drives load at an app (a hunt, a JIT recording)
/// sends: the same choices, `--url`, `--request-file` and `-c`, for each.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// A URL, or a path on the one HTTP port the app listens on, which the
    /// session resolves once attached; `None` is `/` there.
    pub url: Option<String>,
    /// Requests to cycle through instead of a GET of the URL's path.
    pub requests: Option<Vec<RequestTemplate>>,
    pub concurrency: usize,
}

impl Default for LoadSpec {
    fn default() -> Self {
        LoadSpec {
            url: None,
            requests: None,
            concurrency: 20,
        }
    }
}

impl LoadSpec {
    /// The plan for one run against `url` (`self.url` resolved).
    pub async fn plan(&self, url: &str, stop: Stop) -> Result<Plan, LoadError> {
        let mut plan = Plan::new(url, self.concurrency, stop).await?;
        if let Some(requests) = &self.requests {
            plan.requests = requests.clone();
        }
        Ok(plan)
    }
}

impl Plan {
    /// A plan sending `GET` to `url` (plain `http://` only) on `connections`
    /// keep-alive connections. Resolves the host once, here.
    pub async fn new(url: &str, connections: usize, stop: Stop) -> Result<Plan, LoadError> {
        let (host, port, target) = request::split_url(url)?;
        let authority = if port == 80 {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let addr = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|source| LoadError::Resolve {
                host: host.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| LoadError::BadUrl(format!("{host} has no address")))?;
        if connections == 0 {
            return Err(LoadError::BadRequest(
                "at least one connection is needed".into(),
            ));
        }
        Ok(Plan {
            addr,
            authority,
            requests: vec![RequestTemplate::get(&target)],
            connections,
            stop,
            keep_alive: true,
            timeout: Duration::from_secs(30),
            first_seq: 0,
        })
    }

    /// The address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends the load and reports. Never fails as a whole: connection and
    /// protocol failures are counted in [`Report::errors`]. Dropping the
    /// future stops every connection.
    pub async fn run(&self, live: &Arc<Live>) -> Report {
        let shared = Arc::new(Shared {
            plan: self.clone(),
            issued: AtomicU64::new(0),
            deadline: match self.stop {
                Stop::Requests(_) => None,
                Stop::Duration(d) | Stop::Either(_, d) => Some(tokio::time::Instant::now() + d),
            },
            live: live.clone(),
        });
        let start = Instant::now();
        let mut tasks = JoinSet::new();
        for _ in 0..self.connections {
            tasks.spawn(connection(shared.clone()));
        }
        let mut total = ConnectionStats::new();
        while let Some(stats) = tasks.join_next().await {
            if let Ok(stats) = stats {
                total.merge(stats);
            }
        }
        total.report(start.elapsed())
    }
}

struct Shared {
    plan: Plan,
    /// Tickets handed out; ticket `n` is request number `n`.
    issued: AtomicU64,
    deadline: Option<tokio::time::Instant>,
    live: Arc<Live>,
}

impl Shared {
    /// The next request's sequence number, or `None` when the run is over.
    fn ticket(&self) -> Option<u64> {
        if self.live.cancel.load(Ordering::Relaxed)
            || self
                .deadline
                .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        match self.plan.stop {
            Stop::Requests(limit) | Stop::Either(limit, _) if n >= limit => None,
            _ => Some(n),
        }
    }

    async fn deadline(&self) {
        match self.deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    }
}

/// What one connection task saw.
struct ConnectionStats {
    latency_us: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    status_counts: BTreeMap<u16, u64>,
    body_bytes: u64,
    connections_opened: u64,
}

impl ConnectionStats {
    fn new() -> Self {
        ConnectionStats {
            // 1 µs to 10 min at 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"),
            errors: BTreeMap::new(),
            status_counts: BTreeMap::new(),
            body_bytes: 0,
            connections_opened: 0,
        }
    }

    fn merge(&mut self, other: ConnectionStats) {
        let _ = self.latency_us.add(&other.latency_us);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.status_counts {
            *self.status_counts.entry(k).or_default() += v;
        }
        self.body_bytes += other.body_bytes;
        self.connections_opened += other.connections_opened;
    }

    fn error(&mut self, live: &Live, cause: String) {
        live.errors.fetch_add(1, Ordering::Relaxed);
        *self.errors.entry(cause).or_default() += 1;
    }

    fn report(self, elapsed: Duration) -> Report {
        let h = &self.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let completed = h.len();
        let latency = if completed == 0 {
            Latency::default()
        } else {
            Latency {
                mean_ms: h.mean() / 1000.0,
                p50_ms: ms(h.value_at_quantile(0.50)),
                p90_ms: ms(h.value_at_quantile(0.90)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                max_ms: ms(h.max()),
            }
        };
        let seconds = elapsed.as_secs_f64();
        Report {
            completed,
            error_count: self.errors.values().sum(),
            errors: self.errors,
            non_2xx_3xx: self
                .status_counts
                .range(400..)
                .map(|(_, count)| count)
                .sum(),
            status_counts: self.status_counts,
            seconds,
            requests_per_second: completed as f64 / seconds.max(1e-9),
            body_bytes: self.body_bytes,
            connections_opened: self.connections_opened,
            latency,
        }
    }
}

/// One connection: sends requests back to back until the run is over,
/// reconnecting when the server closes it (or after every request without
/// keep-alive).
async fn connection(shared: Arc<Shared>) -> ConnectionStats {
    let plan = &shared.plan;
    let mut stats = ConnectionStats::new();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while let Some(n) = shared.ticket() {
        if sender
            .as_ref()
            .is_none_or(hyper::client::conn::http1::SendRequest::is_closed)
        {
            sender = None;
            tokio::select! {
                connected = connect(plan.addr) => match connected {
                    Ok(s) => {
                        stats.connections_opened += 1;
                        sender = Some(s);
                    }
                    Err(cause) => {
                        stats.error(&shared.live, cause);
                        // Do not spin on a refused port.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                _ = shared.deadline() => break,
            }
        }
        let s = sender.as_mut().expect("connected above");
        let seq = plan.first_seq + n;
        let template = &plan.requests[(seq % plan.requests.len() as u64) as usize];
        let request = template.build(seq, &plan.authority, plan.keep_alive);
        let start = Instant::now();
        let outcome = tokio::select! {
            r = tokio::time::timeout(plan.timeout, exchange(s, request)) => r,
            _ = shared.deadline() => break,
        };
        match outcome {
            Ok(Ok((status, bytes, close))) => {
                let us = start.elapsed().as_micros() as u64;
                stats.latency_us.saturating_record(us.max(1));
                *stats.status_counts.entry(status).or_default() += 1;
                stats.body_bytes += bytes;
                shared.live.completed.fetch_add(1, Ordering::Relaxed);
                if close || !plan.keep_alive {
                    sender = None;
                }
            }
            Ok(Err(e)) => {
                stats.error(&shared.live, describe(&e));
                sender = None;
            }
            Err(_) => {
                stats.error(&shared.live, "timeout".into());
                sender = None;
            }
        }
    }
    stats
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {}", io_kind(&e)))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends one request and reads the whole body: (status, body bytes, whether
/// the server will close the connection).
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(u16, u64, bool), hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let close = response
        .headers()
        .get(hyper::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let mut body = response.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok((status, bytes, close))
}

/// A short, stable error label (counts are grouped by it).
fn describe(e: &hyper::Error) -> String {
    use std::error::Error;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return format!("read: {}", io_kind(io));
        }
        source = s.source();
    }
    if e.is_incomplete_message() {
        "connection closed mid-response".into()
    } else if e.is_parse() {
        "bad response".into()
    } else {
        e.to_string()
    }
}

fn io_kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::AddrNotAvailable => "no free local port".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny HTTP/1.1 server on loopback answering `ok` to everything.
    async fn server() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                    TokioIo::new(stream),
                    hyper::service::service_fn(|req: hyper::Request<_>| async move {
                        let status = if req.uri().path() == "/missing" {
                            404
                        } else {
                            200
                        };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from(req.uri().to_string())))
                                .unwrap(),
                        )
                    }),
                ));
            }
        });
        addr
    }

    #[tokio::test]
    async fn counts_requests_statuses_and_bytes() {
        let addr = server().await;
        let mut plan = Plan::new(
            &format!("http://{addr}/a?n={{seq}}"),
            4,
            Stop::Requests(1000),
        )
        .await
        .unwrap();
        plan.requests.push(RequestTemplate::get("/missing"));
        let report = plan.run(&Arc::default()).await;
        assert_eq!(report.completed, 1000);
        assert_eq!(report.error_count, 0);
        assert_eq!(report.status_counts[&200], 500);
        assert_eq!(report.status_counts[&404], 500);
        assert_eq!(report.non_2xx_3xx, 500);
        assert_eq!(report.connections_opened, 4);
        // "/a?n=0" … "/a?n=998" (even n) and "/missing" (odd n).
        let expected: u64 = (0..1000u64)
            .map(|n| {
                if n % 2 == 0 {
                    format!("/a?n={n}").len() as u64
                } else {
                    8
                }
            })
            .sum();
        assert_eq!(report.body_bytes, expected);
        assert!(report.latency.p50_ms <= report.latency.p99_ms);
        assert!(report.latency.p99_ms <= report.latency.max_ms);
    }

    #[tokio::test]
    async fn without_keep_alive_opens_a_connection_per_request() {
        let addr = server().await;
        let mut plan = Plan::new(&format!("http://{addr}/"), 2, Stop::Requests(50))
            .await
            .unwrap();
        plan.keep_alive = false;
        let report = plan.run(&Arc::default()).await;
        assert_eq!(report.completed, 50);
        assert_eq!(report.connections_opened, 50);
    }

    #[tokio::test]
    async fn refused_connections_are_errors_and_the_deadline_ends_the_run() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let plan = Plan::new(
            &format!("http://{addr}/"),
            2,
            Stop::Duration(Duration::from_millis(200)),
        )
        .await
        .unwrap();
        let report = plan.run(&Arc::default()).await;
        assert_eq!(report.completed, 0);
        assert!(report.errors["connect: connection refused"] > 0);
        assert!(report.seconds < 2.0, "took {} s", report.seconds);
    }
}
