//! Recording under load: a short warm-up (so the JIT has settled), then the
//! CPU profiler and the sampling heap profiler over a timed run of load.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leakscope_inspector::{Attached, Client, InspectorError};
pub use leakscope_load::LoadSpec;
use leakscope_load::{Live, LoadError, Stop};
use leakscope_profile::cpu::CpuProfile;
use leakscope_profile::SamplingProfile;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Config {
    pub load: LoadSpec,
    /// Load before profiling starts.
    pub warmup: Duration,
    /// The profiled load.
    pub duration: Duration,
    /// CPU sampling interval.
    pub sampling_interval: Duration,
    /// Have the app evaluate [`crate::LOG_MARKS`] when load and profiling
    /// start, for V8's log (only an app launched with it writes one).
    pub log_marks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            load: LoadSpec::default(),
            warmup: Duration::from_secs(3),
            duration: Duration::from_secs(20),
            sampling_interval: Duration::from_micros(250),
            log_marks: false,
        }
    }
}

pub use leakscope_inspector::Observer;

#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error(transparent)]
    Inspector(#[from] InspectorError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("the CPU profile could not be read: {0}")]
    CpuProfile(#[source] serde_json::Error),
    #[error("the target went away during {0}")]
    TargetGone(&'static str),
}

/// What one recording holds.
pub struct Recording {
    pub url: String,
    pub cpu: CpuProfile,
    pub allocations: Option<SamplingProfile>,
    pub load: leakscope_load::Report,
}

/// Warm-up, then load with both profilers on. On error or Ctrl-C the caller
/// runs [`stop_profilers`] (the CLI's clean-up does).
pub async fn record(
    attached: &Attached,
    config: &Config,
    observer: &mut dyn Observer,
) -> Result<Recording, JitError> {
    let url = attached.load_url(config.load.url.as_deref()).await?;
    let client = &attached.client;
    if config.log_marks {
        mark(client, crate::LOG_MARKS[0]).await?;
    }
    if !config.warmup.is_zero() {
        observer.note(&format!(
            "warming up: {:.0} s of load at {url}",
            config.warmup.as_secs_f64()
        ));
        drive(client, &url, config, config.warmup, "warm-up", observer).await?;
    }
    if config.log_marks {
        mark(client, crate::LOG_MARKS[1]).await?;
    }
    client
        .call::<_, serde_json::Value>("Profiler.enable", json!({}))
        .await?;
    let interval = config.sampling_interval.as_micros().max(50) as u64;
    client
        .call::<_, serde_json::Value>(
            "Profiler.setSamplingInterval",
            json!({ "interval": interval }),
        )
        .await?;
    client
        .call::<_, serde_json::Value>("Profiler.start", json!({}))
        .await?;
    // Collected objects count too: a hot function's garbage is its cost.
    client.start_sampling(32 * 1024, true).await?;
    observer.note(&format!(
        "profiling: {:.0} s of load, CPU sampled every {interval} µs",
        config.duration.as_secs_f64()
    ));
    let load = drive(client, &url, config, config.duration, "profiling", observer).await?;
    let cpu: serde_json::Value = client.call("Profiler.stop", json!({})).await?;
    let cpu: CpuProfile =
        serde_json::from_value(cpu["profile"].clone()).map_err(JitError::CpuProfile)?;
    let allocations = client
        .stop_sampling()
        .await
        .ok()
        .and_then(|p| serde_json::from_value::<SamplingProfile>(p).ok());
    let _ = client
        .call::<_, serde_json::Value>("Profiler.disable", json!({}))
        .await;
    Ok(Recording {
        url,
        cpu,
        allocations,
        load,
    })
}

/// Creates a function named `name` in the app, once: V8's log records its
/// creation with the time, on the clock of the log's own events.
async fn mark(client: &Client, name: &str) -> Result<(), JitError> {
    client
        .eval_value::<serde_json::Value>(&format!("(function {name}() {{ return 0; }})()"))
        .await?;
    Ok(())
}

/// Stops both profilers if they run (clean-up after an error or Ctrl-C).
pub async fn stop_profilers(client: &Client) {
    let _ = client
        .call::<_, serde_json::Value>("Profiler.stop", json!({}))
        .await;
    let _ = client
        .call::<_, serde_json::Value>("Profiler.disable", json!({}))
        .await;
    let _ = client.stop_sampling().await;
}

async fn drive(
    client: &Client,
    url: &str,
    config: &Config,
    duration: Duration,
    phase: &'static str,
    observer: &mut dyn Observer,
) -> Result<leakscope_load::Report, JitError> {
    let plan = config.load.plan(url, Stop::Duration(duration)).await?;
    let live = Arc::new(Live::default());
    let run = plan.run(&live);
    tokio::pin!(run);
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            report = &mut run => return Ok(report),
            () = client.closed() => {
                return Err(JitError::TargetGone(phase));
            }
            _ = tick.tick() => observer.progress(&format!(
                "{phase}: {:.0}/{:.0} s, {} requests, {} errors",
                start.elapsed().as_secs_f64(),
                duration.as_secs_f64(),
                live.completed.load(Ordering::Relaxed),
                live.errors.load(Ordering::Relaxed),
            )),
        }
    }
}
