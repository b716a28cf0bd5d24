//! The watch's Prometheus endpoint: OpenMetrics text on `/metrics`, with
//! prom-client's metric names so existing dashboards and alerts work.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use leakscope_inspector::GcReport;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SpaceLabel {
    space: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    heap_used: Gauge,
    heap_total: Gauge,
    external: Gauge,
    space_used: Family<SpaceLabel, Gauge>,
    space_total: Family<SpaceLabel, Gauge>,
    gc_duration: Family<KindLabel, Histogram>,
    lag: FloatGauge,
    lag_min: FloatGauge,
    lag_max: FloatGauge,
    lag_p50: FloatGauge,
    lag_p90: FloatGauge,
    lag_p99: FloatGauge,
    heap_after_full_gc: Gauge,
    leak_suspected: Gauge,
    leak_events: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let heap_used = Gauge::default();
        let heap_total = Gauge::default();
        let external = Gauge::default();
        let space_used = Family::<SpaceLabel, Gauge>::default();
        let space_total = Family::<SpaceLabel, Gauge>::default();
        // prom-client's GC buckets.
        let gc_duration = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.001, 0.01, 0.1, 1.0, 2.0, 5.0])
        });
        let lags: [FloatGauge; 6] = Default::default();
        let [lag, lag_min, lag_max, lag_p50, lag_p90, lag_p99] = lags;
        let heap_after_full_gc = Gauge::default();
        let leak_suspected = Gauge::default();
        let leak_events = Gauge::default();
        let r = &mut registry;
        r.register(
            "nodejs_heap_size_used_bytes",
            "Process heap size used from Node.js in bytes",
            heap_used.clone(),
        );
        r.register(
            "nodejs_heap_size_total_bytes",
            "Process heap size from Node.js in bytes",
            heap_total.clone(),
        );
        r.register(
            "nodejs_external_memory_bytes",
            "Node.js external memory size in bytes",
            external.clone(),
        );
        r.register(
            "nodejs_heap_space_size_used_bytes",
            "Process heap space size used from Node.js in bytes",
            space_used.clone(),
        );
        r.register(
            "nodejs_heap_space_size_total_bytes",
            "Process heap space size total from Node.js in bytes",
            space_total.clone(),
        );
        r.register(
            "nodejs_gc_duration_seconds",
            "Garbage collection duration by kind, one of major, minor, incremental or weakcb",
            gc_duration.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_seconds",
            "Mean event loop lag since the previous GC, in seconds",
            lag.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_min_seconds",
            "The minimum recorded event loop delay",
            lag_min.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_max_seconds",
            "The maximum recorded event loop delay",
            lag_max.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_p50_seconds",
            "The 50th percentile of the recorded event loop delays",
            lag_p50.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_p90_seconds",
            "The 90th percentile of the recorded event loop delays",
            lag_p90.clone(),
        );
        r.register(
            "nodejs_eventloop_lag_p99_seconds",
            "The 99th percentile of the recorded event loop delays",
            lag_p99.clone(),
        );
        r.register(
            "leakscope_heap_after_full_gc_bytes",
            "Heap used right after the latest full (mark-compact) GC",
            heap_after_full_gc.clone(),
        );
        r.register(
            "leakscope_leak_suspected",
            "1 once a leak event fired during this watch, else 0",
            leak_suspected.clone(),
        );
        r.register(
            "leakscope_leak_events",
            "Leak events fired during this watch",
            leak_events.clone(),
        );
        Metrics {
            registry,
            heap_used,
            heap_total,
            external,
            space_used,
            space_total,
            gc_duration,
            lag,
            lag_min,
            lag_max,
            lag_p50,
            lag_p90,
            lag_p99,
            heap_after_full_gc,
            leak_suspected,
            leak_events,
        }
    }

    pub fn record_gc(&self, gc: &GcReport, kind: &str) {
        self.heap_used.set(gc.used as i64);
        self.heap_total.set(gc.total as i64);
        self.external.set(gc.external as i64);
        for (space, used, size) in &gc.spaces {
            let label = SpaceLabel {
                space: space.trim_end_matches("_space").to_owned(),
            };
            self.space_used.get_or_create(&label).set(*used as i64);
            self.space_total.get_or_create(&label).set(*size as i64);
        }
        self.gc_duration
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .observe(gc.duration_ms / 1000.0);
        if let [min, max, mean, p50, p90, p99] = gc.eld[..] {
            let seconds = |ns: f64| {
                if ns.is_finite() && ns < 1e15 {
                    ns / 1e9
                } else {
                    0.0
                }
            };
            self.lag.set(seconds(mean));
            self.lag_min.set(seconds(min));
            self.lag_max.set(seconds(max));
            self.lag_p50.set(seconds(p50));
            self.lag_p90.set(seconds(p90));
            self.lag_p99.set(seconds(p99));
        }
        if kind == "major" {
            self.heap_after_full_gc.set(gc.used as i64);
        }
    }

    pub fn record_leak(&self) {
        self.leak_suspected.set(1);
        self.leak_events.inc();
    }

    fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String");
        text
    }
}

/// Serves `/metrics` on `addr` until the runtime ends.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.encode(),
                )
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}
