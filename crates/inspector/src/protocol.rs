//! Typed methods for the parts of the Runtime, HeapProfiler and Debugger
//! domains leakscope uses. Names follow the protocol's.

use std::io::Write;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cdp::Client;
use crate::error::{InspectorError, Result};

/// A value in the target: by value when small and serialisable, otherwise an
/// object id valid until its object group is released.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteObject {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub class_name: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub object_id: Option<String>,
}

impl RemoteObject {
    /// How DevTools' console would print it, briefly.
    pub fn display(&self) -> String {
        match (&self.value, &self.description) {
            (Some(Value::String(s)), _) => s.clone(),
            (Some(v), _) => v.to_string(),
            (None, Some(d)) => d.clone(),
            (None, None) => self.kind.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluated {
    result: RemoteObject,
    exception_details: Option<ExceptionDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExceptionDetails {
    text: String,
    exception: Option<RemoteObject>,
}

impl ExceptionDetails {
    fn into_error(self) -> InspectorError {
        let detail = self.exception.and_then(|e| e.description);
        let first_line = detail
            .as_deref()
            .and_then(|d| d.lines().next())
            .unwrap_or(&self.text);
        InspectorError::Exception(first_line.to_owned())
    }
}

fn into_result(evaluated: Evaluated) -> Result<RemoteObject> {
    match evaluated.exception_details {
        Some(details) => Err(details.into_error()),
        None => Ok(evaluated.result),
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeapUsage {
    pub used_size: f64,
    pub total_size: f64,
}

/// Progress of a snapshot: objects walked while V8 builds the graph, then
/// bytes written while it serialises.
#[derive(Debug, Clone, Copy)]
pub enum SnapshotProgress {
    Walking { done: u64, total: u64 },
    Writing { bytes: u64 },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakpoint {
    pub breakpoint_id: String,
    #[serde(default)]
    pub locations: Vec<Value>,
}

/// A script the target has loaded, from `Debugger.scriptParsed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Script {
    pub script_id: String,
    pub url: String,
}

impl Client {
    /// `Runtime.evaluate` in global scope with the command-line API, so
    /// `require` works in CJS and ESM apps alike.
    pub async fn evaluate(&self, expression: &str, await_promise: bool) -> Result<RemoteObject> {
        let evaluated: Evaluated = self
            .call(
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "includeCommandLineAPI": true,
                    "awaitPromise": await_promise,
                    "generatePreview": false,
                    "objectGroup": "leakscope",
                }),
            )
            .await?;
        into_result(evaluated)
    }

    /// Evaluates and returns the value as JSON.
    pub async fn eval_value<T: DeserializeOwned>(&self, expression: &str) -> Result<T> {
        let evaluated: Evaluated = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "includeCommandLineAPI": true}),
            )
            .await?;
        let value = into_result(evaluated)?.value.unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| InspectorError::Protocol {
            method: "Runtime.evaluate".to_owned(),
            message: format!("unexpected value for `{expression}`: {e}"),
        })
    }

    /// Calls `function_declaration` with `this` bound to the object.
    pub async fn call_function_on(
        &self,
        object_id: &str,
        function_declaration: &str,
    ) -> Result<RemoteObject> {
        let evaluated: Evaluated = self
            .call(
                "Runtime.callFunctionOn",
                json!({"objectId": object_id, "functionDeclaration": function_declaration, "returnByValue": true}),
            )
            .await?;
        into_result(evaluated)
    }

    pub async fn release_object_group(&self) -> Result<()> {
        self.call::<_, Value>(
            "Runtime.releaseObjectGroup",
            json!({"objectGroup": "leakscope"}),
        )
        .await
        .map(drop)
    }

    /// Free: answers at once even while the target is busy.
    pub async fn get_heap_usage(&self) -> Result<HeapUsage> {
        self.call("Runtime.getHeapUsage", json!({})).await
    }

    /// A global function whose calls arrive as `Runtime.bindingCalled`
    /// events, without `Runtime.enable`.
    pub async fn add_binding(&self, name: &str) -> Result<()> {
        self.call::<_, Value>("Runtime.addBinding", json!({"name": name}))
            .await
            .map(drop)
    }

    pub async fn remove_binding(&self, name: &str) -> Result<()> {
        self.call::<_, Value>("Runtime.removeBinding", json!({"name": name}))
            .await
            .map(drop)
    }

    /// A full, memory-reducing GC (V8's low-memory notification).
    pub async fn collect_garbage(&self) -> Result<()> {
        self.call::<_, Value>("HeapProfiler.collectGarbage", json!({}))
            .await
            .map(drop)
    }

    /// Streams a heap snapshot into `out`; returns the bytes written.
    pub async fn take_heap_snapshot(
        &self,
        out: &mut impl Write,
        progress: &mut impl FnMut(SnapshotProgress),
    ) -> Result<u64> {
        let reply = self.send(
            "HeapProfiler.takeHeapSnapshot",
            json!({"reportProgress": true, "captureNumericValue": false}),
        )?;
        self.stream_snapshot("HeapProfiler.takeHeapSnapshot", reply, out, progress)
            .await
    }

    /// Turns the allocation timeline on. Every ~50 ms V8 then runs a full GC
    /// and sends `heapStatsUpdate`/`lastSeenObjectId` events.
    pub async fn start_tracking_heap_objects(&self) -> Result<()> {
        self.call::<_, Value>(
            "HeapProfiler.startTrackingHeapObjects",
            json!({"trackAllocations": true}),
        )
        .await
        .map(drop)
    }

    /// Stops the timeline and streams the final snapshot, with allocation
    /// stacks and samples, into `out`.
    pub async fn stop_tracking_heap_objects(
        &self,
        out: &mut impl Write,
        progress: &mut impl FnMut(SnapshotProgress),
    ) -> Result<u64> {
        let reply = self.send(
            "HeapProfiler.stopTrackingHeapObjects",
            json!({"reportProgress": true}),
        )?;
        self.stream_snapshot("HeapProfiler.stopTrackingHeapObjects", reply, out, progress)
            .await
    }

    async fn stream_snapshot(
        &self,
        method: &str,
        mut reply: tokio::sync::oneshot::Receiver<
            std::result::Result<Box<serde_json::value::RawValue>, String>,
        >,
        out: &mut impl Write,
        progress: &mut impl FnMut(SnapshotProgress),
    ) -> Result<u64> {
        #[derive(Deserialize)]
        struct Chunk {
            chunk: String,
        }
        #[derive(Deserialize)]
        struct Progress {
            done: u64,
            total: u64,
        }
        let mut bytes = 0u64;
        let mut handle = |event: crate::cdp::Event| -> Result<()> {
            match event.method.as_str() {
                "HeapProfiler.addHeapSnapshotChunk" => {
                    let chunk: Chunk = event.parse()?;
                    out.write_all(chunk.chunk.as_bytes())?;
                    bytes += chunk.chunk.len() as u64;
                    progress(SnapshotProgress::Writing { bytes });
                }
                "HeapProfiler.reportHeapSnapshotProgress" => {
                    let p: Progress = event.parse()?;
                    progress(SnapshotProgress::Walking {
                        done: p.done,
                        total: p.total,
                    });
                }
                _ => {}
            }
            Ok(())
        };
        let finished = loop {
            tokio::select! {
                biased;
                event = self.next_event() => match event {
                    Some(event) => handle(event)?,
                    None => return Err(InspectorError::Closed),
                },
                result = &mut reply => break result,
            }
        };
        // Every chunk was queued before the reply arrived.
        while let Some(event) = self.try_next_event().await {
            handle(event)?;
        }
        finished
            .map_err(|_| InspectorError::Closed)?
            .map_err(|message| InspectorError::Protocol {
                method: method.to_owned(),
                message,
            })?;
        if bytes == 0 {
            return Err(InspectorError::Protocol {
                method: method.to_owned(),
                message: "the target sent an empty snapshot".to_owned(),
            });
        }
        Ok(bytes)
    }

    /// Starts the sampling heap profiler (one sample per `interval` bytes
    /// allocated on average; V8's default is 32 KiB). With
    /// `include_collected`, samples of freed objects stay in the profile.
    pub async fn start_sampling(&self, interval: u64, include_collected: bool) -> Result<()> {
        self.call::<_, Value>(
            "HeapProfiler.startSampling",
            json!({
                "samplingInterval": interval,
                "includeObjectsCollectedByMajorGC": include_collected,
                "includeObjectsCollectedByMinorGC": include_collected,
            }),
        )
        .await
        .map(drop)
    }

    /// Stops sampling and returns the profile (`{head, samples}`), as the
    /// raw JSON a `.heapprofile` file holds.
    pub async fn stop_sampling(&self) -> Result<Value> {
        #[derive(Deserialize)]
        struct Reply {
            profile: Value,
        }
        let reply: Reply = self.call("HeapProfiler.stopSampling", json!({})).await?;
        Ok(reply.profile)
    }

    /// The live object that had `id` in a heap snapshot of this session.
    pub async fn get_object_by_heap_object_id(&self, id: u64) -> Result<RemoteObject> {
        #[derive(Deserialize)]
        struct Reply {
            result: RemoteObject,
        }
        let reply: Reply = self
            .call(
                "HeapProfiler.getObjectByHeapObjectId",
                json!({"objectId": id.to_string(), "objectGroup": "leakscope"}),
            )
            .await?;
        Ok(reply.result)
    }

    /// Enables the debugger; the target then replays `scriptParsed` for
    /// every script, which this collects.
    pub async fn debugger_enable(&self) -> Result<Vec<Script>> {
        let reply = self.send("Debugger.enable", json!({}))?;
        let _ = reply.await;
        let mut scripts = Vec::new();
        while let Some(event) = self.try_next_event().await {
            if event.method == "Debugger.scriptParsed" {
                scripts.push(event.parse()?);
            }
        }
        Ok(scripts)
    }

    pub async fn debugger_disable(&self) -> Result<()> {
        self.call::<_, Value>("Debugger.disable", json!({}))
            .await
            .map(drop)
    }

    /// A breakpoint on a 0-based line of every script whose URL matches the
    /// regex; with a condition that returns false it never pauses.
    pub async fn set_breakpoint_by_url(
        &self,
        url_regex: &str,
        line_number: u32,
        condition: &str,
    ) -> Result<Breakpoint> {
        self.call(
            "Debugger.setBreakpointByUrl",
            json!({"urlRegex": url_regex, "lineNumber": line_number, "condition": condition}),
        )
        .await
    }

    pub async fn remove_breakpoint(&self, breakpoint_id: &str) -> Result<()> {
        self.call::<_, Value>(
            "Debugger.removeBreakpoint",
            json!({"breakpointId": breakpoint_id}),
        )
        .await
        .map(drop)
    }

    pub async fn get_script_source(&self, script_id: &str) -> Result<String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            script_source: String,
        }
        let reply: Reply = self
            .call("Debugger.getScriptSource", json!({"scriptId": script_id}))
            .await?;
        Ok(reply.script_source)
    }

    /// Live edit. Returns V8's status (`Ok`, `CompileError`,
    /// `BlockedByActiveFunction`, …) and the compile error text if any.
    pub async fn set_script_source(
        &self,
        script_id: &str,
        source: &str,
        dry_run: bool,
    ) -> Result<(String, Option<String>)> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Reply {
            #[serde(default)]
            status: Option<String>,
            exception_details: Option<ExceptionDetails>,
        }
        let reply: Reply = self
            .call(
                "Debugger.setScriptSource",
                json!({"scriptId": script_id, "scriptSource": source, "dryRun": dry_run}),
            )
            .await?;
        let detail = reply.exception_details.map(|e| e.text);
        Ok((reply.status.unwrap_or_else(|| "Ok".to_owned()), detail))
    }
}

/// Parameters of a `Runtime.bindingCalled` event.
#[derive(Debug, Deserialize)]
pub struct BindingCalled {
    pub name: String,
    pub payload: String,
}

/// `HeapProfiler.heapStatsUpdate` triplets and `lastSeenObjectId` ticks are
/// kept by `record` as they come; this is their wire shape.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastSeenObjectId {
    pub last_seen_object_id: u64,
    pub timestamp: f64,
}
