//! OpenMetrics for Prometheus: prom-client's metric names (so existing
//! dashboards work) plus leakscope's verdicts, one series set per watched
//! process under `instance`, `pid` and `command` labels. A process's series
//! go away with its [`ProcessMetrics`]. `/metrics` needs the bearer token.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use leakscope_inspector::GcReport;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Who a series is about. `instance` is set by leakscope (the host name by
/// default), so Prometheus must scrape with `honor_labels: true`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessLabels {
    pub instance: String,
    pub pid: String,
    pub command: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpaceLabels {
    #[prometheus(flatten)]
    process: ProcessLabels,
    space: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    #[prometheus(flatten)]
    process: ProcessLabels,
    kind: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type PerProcess<M> = Family<ProcessLabels, M>;

/// The registry and every family in it.
pub struct Metrics {
    registry: Registry,
    heap_used: PerProcess<Gauge>,
    heap_total: PerProcess<Gauge>,
    external: PerProcess<Gauge>,
    space_used: Family<SpaceLabels, Gauge>,
    space_total: Family<SpaceLabels, Gauge>,
    gc_duration: Family<KindLabels, Histogram>,
    /// mean, min, max, p50, p90, p99 of the event-loop delay.
    lags: [PerProcess<FloatGauge>; 6],
    heap_after_full_gc: PerProcess<Gauge>,
    growth_per_hour: PerProcess<FloatGauge>,
    gc_time_ratio: PerProcess<FloatGauge>,
    leak_suspected: PerProcess<Gauge>,
    // Gauges, not counters: OpenMetrics counters expose `_total` samples
    // under a family without it, which `promtool check metrics` (the
    // text-format parser) rejects; these only count within one watch anyway.
    leak_events: PerProcess<Gauge>,
    snapshots: PerProcess<Gauge>,
    watched: Family<InstanceLabels, Gauge>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let r = &mut registry;
        let heap_used = PerProcess::<Gauge>::default();
        r.register(
            "nodejs_heap_size_used_bytes",
            "Process heap size used from Node.js in bytes",
            heap_used.clone(),
        );
        let heap_total = PerProcess::<Gauge>::default();
        r.register(
            "nodejs_heap_size_total_bytes",
            "Process heap size from Node.js in bytes",
            heap_total.clone(),
        );
        let external = PerProcess::<Gauge>::default();
        r.register(
            "nodejs_external_memory_bytes",
            "Node.js external memory size in bytes",
            external.clone(),
        );
        let space_used = Family::<SpaceLabels, Gauge>::default();
        r.register(
            "nodejs_heap_space_size_used_bytes",
            "Process heap space size used from Node.js in bytes",
            space_used.clone(),
        );
        let space_total = Family::<SpaceLabels, Gauge>::default();
        r.register(
            "nodejs_heap_space_size_total_bytes",
            "Process heap space size total from Node.js in bytes",
            space_total.clone(),
        );
        // prom-client's GC buckets.
        let gc_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.01, 0.1, 1.0, 2.0, 5.0])
        });
        r.register(
            "nodejs_gc_duration_seconds",
            "Garbage collection duration by kind, one of major, minor, incremental or weakcb",
            gc_duration.clone(),
        );
        let lags: [PerProcess<FloatGauge>; 6] = Default::default();
        for (lag, (name, help)) in lags.iter().zip([
            (
                "nodejs_eventloop_lag_seconds",
                "Mean event loop delay since the previous GC, in seconds",
            ),
            (
                "nodejs_eventloop_lag_min_seconds",
                "The minimum recorded event loop delay",
            ),
            (
                "nodejs_eventloop_lag_max_seconds",
                "The maximum recorded event loop delay",
            ),
            (
                "nodejs_eventloop_lag_p50_seconds",
                "The 50th percentile of the recorded event loop delays",
            ),
            (
                "nodejs_eventloop_lag_p90_seconds",
                "The 90th percentile of the recorded event loop delays",
            ),
            (
                "nodejs_eventloop_lag_p99_seconds",
                "The 99th percentile of the recorded event loop delays",
            ),
        ]) {
            r.register(name, help, lag.clone());
        }
        let heap_after_full_gc = PerProcess::<Gauge>::default();
        r.register(
            "leakscope_heap_after_full_gc_bytes",
            "Heap used right after the latest full (mark-compact) GC",
            heap_after_full_gc.clone(),
        );
        let growth_per_hour = PerProcess::<FloatGauge>::default();
        r.register(
            "leakscope_heap_growth_bytes_per_hour",
            "Trend of the heap after full GCs since warm-up, in bytes per hour (0 until known)",
            growth_per_hour.clone(),
        );
        let gc_time_ratio = PerProcess::<FloatGauge>::default();
        r.register(
            "leakscope_gc_time_ratio",
            "Share of the last 60 s the process spent in GC",
            gc_time_ratio.clone(),
        );
        let leak_suspected = PerProcess::<Gauge>::default();
        r.register(
            "leakscope_leak_suspected",
            "1 once a leak event fired for this process during this watch, else 0",
            leak_suspected.clone(),
        );
        let leak_events = PerProcess::<Gauge>::default();
        r.register(
            "leakscope_leak_events",
            "Leak events fired for this process during this watch",
            leak_events.clone(),
        );
        let snapshots = PerProcess::<Gauge>::default();
        r.register(
            "leakscope_snapshots_written",
            "Heap snapshots written on leak events",
            snapshots.clone(),
        );
        let watched = Family::<InstanceLabels, Gauge>::default();
        r.register(
            "leakscope_watched_processes",
            "Node processes being watched",
            watched.clone(),
        );
        Arc::new(Metrics {
            registry,
            heap_used,
            heap_total,
            external,
            space_used,
            space_total,
            gc_duration,
            lags,
            heap_after_full_gc,
            growth_per_hour,
            gc_time_ratio,
            leak_suspected,
            leak_events,
            snapshots,
            watched,
        })
    }

    /// Starts the series of one process; they end when the handle drops.
    pub fn process(self: &Arc<Metrics>, labels: ProcessLabels) -> ProcessMetrics {
        self.watched.get_or_create(&labels.instance()).inc();
        // Present from the start, so an alert on them sees every process.
        self.leak_suspected.get_or_create(&labels).set(0);
        self.leak_events.get_or_create(&labels).set(0);
        self.snapshots.get_or_create(&labels).set(0);
        self.growth_per_hour.get_or_create(&labels).set(0.0);
        ProcessMetrics {
            metrics: self.clone(),
            labels,
            spaces: Vec::new(),
            kinds: Vec::new(),
        }
    }

    /// The OpenMetrics text of every series.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String");
        text
    }
}

impl ProcessLabels {
    fn instance(&self) -> InstanceLabels {
        InstanceLabels {
            instance: self.instance.clone(),
        }
    }
}

/// One process's series.
pub struct ProcessMetrics {
    metrics: Arc<Metrics>,
    labels: ProcessLabels,
    /// Label sets created, to remove them at the end.
    spaces: Vec<SpaceLabels>,
    kinds: Vec<KindLabels>,
}

impl ProcessMetrics {
    pub fn record_gc(&mut self, gc: &GcReport, kind: &str) {
        let m = &self.metrics;
        let labels = &self.labels;
        m.heap_used.get_or_create(labels).set(gc.used as i64);
        m.heap_total.get_or_create(labels).set(gc.total as i64);
        m.external.get_or_create(labels).set(gc.external as i64);
        for (space, used, size) in &gc.spaces {
            let space = SpaceLabels {
                process: labels.clone(),
                space: space.trim_end_matches("_space").to_owned(),
            };
            m.space_used.get_or_create(&space).set(*used as i64);
            m.space_total.get_or_create(&space).set(*size as i64);
            if !self.spaces.contains(&space) {
                self.spaces.push(space);
            }
        }
        let kind = KindLabels {
            process: labels.clone(),
            kind: kind.to_owned(),
        };
        m.gc_duration
            .get_or_create(&kind)
            .observe(gc.duration_ms / 1000.0);
        let major = kind.kind == "major";
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
        if let [min, max, mean, p50, p90, p99] = gc.eld[..] {
            let seconds = |ns: f64| {
                if ns.is_finite() && ns < 1e15 {
                    ns / 1e9
                } else {
                    0.0
                }
            };
            for (gauge, ns) in m.lags.iter().zip([mean, min, max, p50, p90, p99]) {
                gauge.get_or_create(labels).set(seconds(ns));
            }
        }
        if major {
            m.heap_after_full_gc
                .get_or_create(labels)
                .set(gc.used as i64);
        }
    }

    pub fn set_trend(&self, bytes_per_hour: f64, gc_time_ratio: f64) {
        let m = &self.metrics;
        m.growth_per_hour
            .get_or_create(&self.labels)
            .set(bytes_per_hour);
        m.gc_time_ratio
            .get_or_create(&self.labels)
            .set(gc_time_ratio);
    }

    pub fn record_leak(&self) {
        self.metrics
            .leak_suspected
            .get_or_create(&self.labels)
            .set(1);
        self.metrics.leak_events.get_or_create(&self.labels).inc();
    }

    pub fn record_snapshot(&self) {
        self.metrics.snapshots.get_or_create(&self.labels).inc();
    }
}

impl Drop for ProcessMetrics {
    fn drop(&mut self) {
        let m = &self.metrics;
        let l = &self.labels;
        m.watched.get_or_create(&l.instance()).dec();
        for family in [
            &m.heap_used,
            &m.heap_total,
            &m.external,
            &m.heap_after_full_gc,
            &m.leak_suspected,
        ] {
            family.remove(l);
        }
        for family in m.lags.iter().chain([&m.growth_per_hour, &m.gc_time_ratio]) {
            family.remove(l);
        }
        m.leak_events.remove(l);
        m.snapshots.remove(l);
        for space in &self.spaces {
            m.space_used.remove(space);
            m.space_total.remove(space);
        }
        for kind in &self.kinds {
            m.gc_duration.remove(kind);
        }
    }
}

/// Serves `/metrics` on `addr` to requests with `Authorization: Bearer
/// TOKEN`, until the runtime ends.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    token: String,
) -> Result<(), crate::WatchError> {
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::WatchError::ServeMetrics { addr, source })?;
    let expected = format!("Bearer {token}");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: HeaderMap| {
            let metrics = metrics.clone();
            let authorized = headers
                .get(header::AUTHORIZATION)
                .is_some_and(|v| constant_time_eq(v.as_bytes(), expected.as_bytes()));
            async move {
                if !authorized {
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "leakscope: /metrics needs Authorization: Bearer <token>\n".to_owned(),
                    )
                        .into_response();
                }
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.encode(),
                )
                    .into_response()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pid: &str) -> ProcessLabels {
        ProcessLabels {
            instance: "web-1".to_owned(),
            pid: pid.to_owned(),
            command: "server.js".to_owned(),
        }
    }

    #[test]
    fn a_process_s_series_carry_its_labels_and_leave_with_it() {
        let metrics = Metrics::new();
        let first = metrics.process(labels("4242"));
        let second = metrics.process(labels("4343"));
        first.record_leak();
        let text = metrics.encode();
        assert!(text.contains(
            "leakscope_leak_suspected{instance=\"web-1\",pid=\"4242\",command=\"server.js\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "leakscope_leak_suspected{instance=\"web-1\",pid=\"4343\",command=\"server.js\"} 0\n"
        ), "{text}");
        assert!(
            text.contains(
                "leakscope_leak_events{instance=\"web-1\",pid=\"4242\",command=\"server.js\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("leakscope_watched_processes{instance=\"web-1\"} 2\n"),
            "{text}"
        );
        drop(first);
        let text = metrics.encode();
        assert!(!text.contains("pid=\"4242\""), "{text}");
        assert!(
            text.contains("leakscope_watched_processes{instance=\"web-1\"} 1\n"),
            "{text}"
        );
        drop(second);
    }
}
