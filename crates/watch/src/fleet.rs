//! Watching many processes at once: given PIDs, or every Node process of
//! this user (`--all`, rescanned every two seconds so new processes are
//! picked up and exited ones dropped). Each process has its own task,
//! session and series; what they report reaches the caller's sink in order.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use leakscope_inspector::{attach, AttachOptions, InspectorError, TargetSpec};
use regex::Regex;
use tokio::sync::{mpsc, watch as signal};

use crate::error::{SinkError, WatchError};
use crate::metrics::{Metrics, ProcessLabels};
use crate::processes::{scan, NodeProcess};
use crate::watcher::{remove_from, watch, Event, Settings, Summary};

/// Which processes to watch.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub pids: Vec<u32>,
    /// Every Node process this user owns, now and later.
    pub all: bool,
    /// With `all`: only command lines this matches.
    pub matcher: Option<Regex>,
}

/// What happened to one of the watched processes.
#[derive(Debug)]
pub enum FleetEvent {
    /// Attached; `opened_inspector` when leakscope opened it (it is closed
    /// again at the end).
    Attached {
        process: NodeProcess,
        opened_inspector: bool,
    },
    /// Could not attach; an `--all` watch goes on without it.
    AttachFailed {
        process: NodeProcess,
        error: Arc<InspectorError>,
    },
    Process {
        pid: u32,
        event: Event,
    },
    /// Not watched any more: it exited, or the watch ended (`summary`).
    Detached {
        pid: u32,
        /// `None` when the watch ended as asked; else what ended it.
        reason: Option<String>,
        summary: Option<Summary>,
    },
}

/// How often `--all` looks for new processes.
const RESCAN: Duration = Duration::from_secs(2);

/// What to watch and how; [`Fleet::run`] watches it.
pub struct Fleet {
    pub selection: Selection,
    pub settings: Arc<Settings>,
    /// Where the processes' series go, if anywhere.
    pub metrics: Option<Arc<Metrics>>,
    /// The `instance` label of every series.
    pub instance: String,
}

impl Fleet {
    /// Watches the selected processes until `stop` resolves (or, with only
    /// PIDs given, until all of them are gone). Fails when a given PID
    /// cannot be attached or the sink fails.
    pub async fn run(
        self,
        stop: impl Future<Output = ()>,
        sink: &mut dyn FnMut(FleetEvent) -> Result<(), SinkError>,
    ) -> Result<(), WatchError> {
        // Sessions and snapshot progress are not `Send`: all tasks share this thread.
        let tasks = tokio::task::LocalSet::new();
        tasks.run_until(self.run_local(stop, sink)).await
    }

    async fn run_local(
        self,
        stop: impl Future<Output = ()>,
        sink: &mut dyn FnMut(FleetEvent) -> Result<(), SinkError>,
    ) -> Result<(), WatchError> {
        let Fleet {
            selection,
            settings,
            metrics,
            instance,
        } = self;
        let (events, mut received) = mpsc::unbounded_channel();
        let (stopping, stopped) = signal::channel(false);
        let mut watched: HashSet<u32> = HashSet::new();
        let mut given_up: HashSet<u32> = HashSet::new();
        let start = |process: NodeProcess| {
            let labels = ProcessLabels {
                instance: instance.clone(),
                pid: process.pid.to_string(),
                command: process.command.clone(),
            };
            tokio::task::spawn_local(watch_one(
                process,
                settings.clone(),
                metrics.as_ref().map(|m| m.process(labels)),
                stopped.clone(),
                events.clone(),
            ));
        };
        for &pid in &selection.pids {
            let process = NodeProcess::of(pid).ok_or_else(|| {
                match std::fs::metadata(format!("/proc/{pid}")) {
                    Ok(_) => WatchError::NotNode { pid },
                    Err(_) => WatchError::NoSuchProcess { pid },
                }
            })?;
            if watched.insert(pid) {
                start(process);
            }
        }
        let mut rescan = tokio::time::interval(RESCAN);
        tokio::pin!(stop);
        let mut failure = None;
        loop {
            tokio::select! {
                _ = rescan.tick(), if selection.all => {
                    for process in scan(selection.matcher.as_ref()) {
                        if !watched.contains(&process.pid) && !given_up.contains(&process.pid) {
                            watched.insert(process.pid);
                            start(process);
                        }
                    }
                }
                Some(event) = received.recv() => {
                    match &event {
                        FleetEvent::AttachFailed { process, error } => {
                            watched.remove(&process.pid);
                            given_up.insert(process.pid);
                            if !selection.all {
                                failure = Some(WatchError::Attach {
                                    pid: process.pid,
                                    source: Arc::clone(error),
                                });
                            }
                        }
                        FleetEvent::Detached { pid, reason: Some(_), .. } => {
                            watched.remove(pid);
                            // Still there: something failed; do not retry it.
                            if std::fs::metadata(format!("/proc/{pid}")).is_ok() {
                                given_up.insert(*pid);
                            }
                        }
                        _ => {}
                    }
                    if let Err(e) = sink(event) {
                        failure = Some(WatchError::Sink(e));
                    }
                    if failure.is_some() || (!selection.all && watched.is_empty()) {
                        break;
                    }
                }
                _ = &mut stop => break,
            }
        }
        // Every task finishes what it is doing (a snapshot the target is
        // writing completes either way), takes its things out of its target
        // and closes what it opened, each step bounded; the channel closes
        // when the last one is done.
        let _ = stopping.send(true);
        drop(events);
        while let Some(event) = received.recv().await {
            if failure.is_none() {
                if let Err(e) = sink(event) {
                    failure = Some(WatchError::Sink(e));
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// Attaches to one process, watches it until told to stop or it exits, and
/// leaves it as it was.
async fn watch_one(
    process: NodeProcess,
    settings: Arc<Settings>,
    mut metrics: Option<crate::metrics::ProcessMetrics>,
    mut stopped: signal::Receiver<bool>,
    events: mpsc::UnboundedSender<FleetEvent>,
) {
    let pid = process.pid;
    let (spec, options) = (TargetSpec::Pid(pid), AttachOptions::default());
    let attached = tokio::select! {
        attached = attach(&spec, &options) => attached,
        _ = stopped.wait_for(|&s| s) => return,
    };
    let attached = match attached {
        Ok(attached) => attached,
        Err(e) => {
            let _ = events.send(FleetEvent::AttachFailed {
                process,
                error: Arc::new(e),
            });
            return;
        }
    };
    let _ = events.send(FleetEvent::Attached {
        process,
        opened_inspector: attached.opened_inspector(),
    });
    let mut sink = |event| {
        events
            .send(FleetEvent::Process { pid, event })
            .map_err(|_| SinkError::from(WatchError::FleetGone))
    };
    let stop = async {
        let _ = stopped.wait_for(|&s| s).await;
    };
    let result = watch(&attached, &settings, metrics.as_mut(), stop, &mut sink).await;
    remove_from(&attached.client).await;
    attached.close_opened_inspector().await;
    attached.detach().await;
    drop(metrics);
    let (reason, summary) = match result {
        Ok(summary) => (None, Some(summary)),
        Err(WatchError::Inspector(InspectorError::Closed)) => (Some("exited".to_owned()), None),
        Err(e) => (Some(e.to_string()), None),
    };
    let _ = events.send(FleetEvent::Detached {
        pid,
        reason,
        summary,
    });
}
