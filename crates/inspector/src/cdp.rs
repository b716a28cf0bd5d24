//! The Chrome DevTools Protocol over one WebSocket: numbered requests matched
//! to their replies, events delivered in arrival order on one queue.
//!
//! Events go to an unbounded queue rather than a broadcast channel because a
//! heap snapshot is thousands of chunk events that must never be dropped.
//! Replies and events come from one reader task in wire order, so when a
//! reply is seen every event sent before it is already queued.
//!
//! A Node process's worker threads are sessions inside the main one (the
//! `NodeWorker` domain): [`Client::worker`] gives a worker its own
//! [`Client`], whose messages travel wrapped in the main session's and are
//! unwrapped by the same reader, so everything that works on the main
//! thread (snapshots, GC, evaluation) works on a worker unchanged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{InspectorError, Result};

/// One protocol event, its parameters kept as raw JSON until a consumer
/// decides which type they are.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub method: String,
    pub params: Box<RawValue>,
}

impl Event {
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(self.params.get()).map_err(|e| InspectorError::Protocol {
            method: self.method.clone(),
            message: format!("unexpected event parameters: {e}"),
        })
    }
}

/// A worker thread of the target, as `NodeWorker.attachedToWorker` tells it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerInfo {
    /// The inspector's session with the worker (not its thread id).
    #[serde(skip)]
    pub session_id: String,
    /// `[worker 3]` or `[worker 3] name`: the number is its `threadId`.
    pub title: String,
    /// The worker's script, `file:///…` (empty for `eval` workers).
    pub url: String,
}

impl WorkerInfo {
    /// The worker's `threadId`, from its title.
    pub fn thread_id(&self) -> Option<u32> {
        self.title
            .strip_prefix("[worker ")?
            .split(']')
            .next()?
            .parse()
            .ok()
    }

    /// How a developer tells the thread apart: `worker 3 (jobs.js)`.
    pub fn label(&self) -> String {
        let name = self.title.split_once("] ").map(|(_, n)| n.trim());
        let file = self
            .url
            .rsplit('/')
            .next()
            .filter(|f| !f.is_empty())
            .or(name.filter(|n| !n.is_empty()));
        match (self.thread_id(), file) {
            (Some(id), Some(file)) => format!("worker {id} ({file})"),
            (Some(id), None) => format!("worker {id}"),
            (None, _) => self.title.clone(),
        }
    }
}

#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    method: Option<String>,
    params: Option<Box<RawValue>>,
    result: Option<Box<RawValue>>,
    error: Option<RpcError>,
}

#[derive(Deserialize)]
struct RpcError {
    message: String,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FromWorker {
    session_id: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attached {
    session_id: String,
    worker_info: WorkerInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detached {
    session_id: String,
}

type Reply = std::result::Result<Box<RawValue>, String>;
/// Workers attached through a session, by session id, with the inbox of
/// the [`Client`] made for each (once one is).
type Workers = HashMap<String, (WorkerInfo, Option<Arc<Inbox>>)>;
type Pending = Mutex<Option<HashMap<u64, oneshot::Sender<Reply>>>>;

/// What the reader does for one session: replies to their callers, events
/// to the queue, worker sessions' messages to their own inbox.
struct Inbox {
    /// `None` once the session is gone: new calls fail at once.
    pending: Pending,
    /// `None` once the session is gone, so the queue's reader sees its end.
    events: Mutex<Option<mpsc::UnboundedSender<Event>>>,
    /// Turns `true` when the session ends (see [`Client::closed`]).
    closed: tokio::sync::watch::Sender<bool>,
    workers: Mutex<Workers>,
}

/// What the reader does after a message.
enum Flow {
    Continue,
    /// Node is exiting and waits for us to let go.
    Disconnect,
}

impl Inbox {
    fn new(
        events: mpsc::UnboundedSender<Event>,
        closed: tokio::sync::watch::Sender<bool>,
    ) -> Inbox {
        Inbox {
            pending: Mutex::new(Some(HashMap::new())),
            events: Mutex::new(Some(events)),
            closed,
            workers: Mutex::new(HashMap::new()),
        }
    }

    fn deliver(&self, text: &str) -> Flow {
        let Ok(incoming) = serde_json::from_str::<Incoming>(text) else {
            return Flow::Continue;
        };
        let empty = || RawValue::from_string("{}".into()).expect("json");
        match (incoming.id, incoming.method) {
            (Some(id), _) => {
                let reply = match (incoming.result, incoming.error) {
                    (_, Some(e)) => Err(match e.data {
                        Some(data) => format!("{} ({data})", e.message),
                        None => e.message,
                    }),
                    (Some(result), None) => Ok(result),
                    (None, None) => Ok(empty()),
                };
                let waiter = self
                    .pending
                    .lock()
                    .expect("pending lock")
                    .as_mut()
                    .and_then(|p| p.remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(reply);
                }
            }
            (None, Some(method)) if method == "NodeRuntime.waitingForDisconnect" => {
                return Flow::Disconnect;
            }
            (None, Some(method)) => {
                let params = incoming.params.unwrap_or_else(empty);
                match method.as_str() {
                    "NodeWorker.receivedMessageFromWorker" => {
                        if let Ok(m) = serde_json::from_str::<FromWorker>(params.get()) {
                            let inbox = self.worker_inbox(&m.session_id);
                            if let Some(inbox) = inbox {
                                inbox.deliver(&m.message);
                            }
                        }
                        return Flow::Continue;
                    }
                    "NodeWorker.attachedToWorker" => {
                        if let Ok(a) = serde_json::from_str::<Attached>(params.get()) {
                            let info = WorkerInfo {
                                session_id: a.session_id.clone(),
                                ..a.worker_info
                            };
                            self.lock_workers().insert(a.session_id, (info, None));
                        }
                    }
                    "NodeWorker.detachedFromWorker" => {
                        if let Ok(d) = serde_json::from_str::<Detached>(params.get()) {
                            let gone = self.lock_workers().remove(&d.session_id);
                            if let Some((_, Some(inbox))) = gone {
                                inbox.finish();
                            }
                        }
                    }
                    _ => {}
                }
                if let Some(events) = self.events.lock().expect("events lock").as_ref() {
                    let _ = events.send(Event { method, params });
                }
            }
            (None, None) => {}
        }
        Flow::Continue
    }

    fn lock_workers(&self) -> std::sync::MutexGuard<'_, Workers> {
        self.workers.lock().expect("workers lock")
    }

    fn worker_inbox(&self, session_id: &str) -> Option<Arc<Inbox>> {
        self.lock_workers()
            .get(session_id)
            .and_then(|(_, inbox)| inbox.clone())
    }

    /// The session is over: every call in flight fails with `Closed`, and
    /// so does every worker session reached through it.
    fn finish(&self) {
        self.pending.lock().expect("pending lock").take();
        self.events.lock().expect("events lock").take();
        self.closed.send_replace(true);
        let workers: Vec<_> = self.lock_workers().drain().collect();
        for (_, (_, inbox)) in workers {
            if let Some(inbox) = inbox {
                inbox.finish();
            }
        }
    }
}

/// Closes a session without owning its [`Client`]; does nothing once the
/// client is gone (its socket closes with it).
pub(crate) struct SessionCloser(mpsc::WeakUnboundedSender<Message>);

impl SessionCloser {
    pub(crate) fn close(&self) {
        if let Some(outgoing) = self.0.upgrade() {
            let _ = outgoing.send(Message::Close(None));
        }
    }
}

/// Ids of the main session's requests that carry a worker's messages: far
/// above any id the main session gives its own calls, so their replies
/// (which nobody waits for) never meet a caller, and below 2³¹ (V8 takes
/// ids as 32-bit integers).
static FORWARD_ID: AtomicU64 = AtomicU64::new(1 << 30);

/// A connected inspector session.
pub struct Client {
    outgoing: mpsc::UnboundedSender<Message>,
    inbox: Arc<Inbox>,
    next_id: AtomicU64,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    closed: tokio::sync::watch::Receiver<bool>,
}

impl Client {
    /// Connects to a `ws://` debugger URL. Message limits are raised: a
    /// sampling profile reply can be a megabyte and more.
    pub async fn connect(url: &str) -> Result<Client> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(1 << 30))
            .max_frame_size(Some(1 << 30));
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .map_err(|e| InspectorError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let client = Client::with_outgoing(outgoing);
        // Weak: dropping the Client must still end the writer, and so
        // close the socket.
        let closer = client.closer();

        tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                let close = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let inbox = client.inbox.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match message {
                    Message::Text(text) => text,
                    Message::Close(_) => break,
                    _ => continue,
                };
                match inbox.deliver(&text) {
                    Flow::Continue => {}
                    // Node is exiting and waits for us to let go (asked
                    // for in `attach`): let go at once, even if our side
                    // is busy elsewhere, so the app can exit.
                    Flow::Disconnect => {
                        closer.close();
                        break;
                    }
                }
            }
            inbox.finish();
        });
        Ok(client)
    }

    fn with_outgoing(outgoing: mpsc::UnboundedSender<Message>) -> Client {
        let (event_tx, events) = mpsc::unbounded_channel();
        let (closed_tx, closed) = tokio::sync::watch::channel(false);
        Client {
            outgoing,
            inbox: Arc::new(Inbox::new(event_tx, closed_tx)),
            next_id: AtomicU64::new(1),
            events: tokio::sync::Mutex::new(events),
            closed,
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: P,
    ) -> Result<R> {
        let reply = self.send(method, params)?;
        let raw = reply
            .await
            .map_err(|_| InspectorError::Closed)?
            .map_err(|message| InspectorError::Protocol {
                method: method.to_owned(),
                message,
            })?;
        serde_json::from_str(raw.get()).map_err(|e| InspectorError::Protocol {
            method: method.to_owned(),
            message: format!("unexpected reply: {e}"),
        })
    }

    /// Sends a request without waiting: the returned receiver yields its reply.
    /// Used when events must be consumed while the request runs.
    pub fn send<P: Serialize>(&self, method: &str, params: P) -> Result<oneshot::Receiver<Reply>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text = request_text(id, method, params)?;
        let (tx, rx) = oneshot::channel();
        self.inbox
            .pending
            .lock()
            .expect("pending lock")
            .as_mut()
            .ok_or(InspectorError::Closed)?
            .insert(id, tx);
        self.outgoing
            .send(Message::text(text))
            .map_err(|_| InspectorError::Closed)?;
        Ok(rx)
    }

    /// The next event, or `None` once the connection is closed.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.lock().await.recv().await
    }

    /// An event already queued, without waiting.
    pub async fn try_next_event(&self) -> Option<Event> {
        self.events.lock().await.try_recv().ok()
    }

    /// Resolves when the session has ended: the target exited or closed the
    /// connection. Work that does not talk to the target (driving load at
    /// it) races this to notice a target that died under it.
    pub async fn closed(&self) {
        let mut closed = self.closed.clone();
        // An error means the reader is gone, which is closed too.
        let _ = closed.wait_for(|c| *c).await;
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// A handle that closes this session from another task.
    pub(crate) fn closer(&self) -> SessionCloser {
        SessionCloser(self.outgoing.downgrade())
    }

    /// Says goodbye with a close frame so the target prints nothing odd.
    pub fn close(&self) {
        let _ = self.outgoing.send(Message::Close(None));
    }

    /// Attaches to the target's worker threads (`NodeWorker.enable`): those
    /// running now are listed by [`Client::workers`] once this returns, and
    /// later ones as they start. `NodeWorker.disable` undoes it.
    pub async fn enable_workers(&self) -> Result<()> {
        self.call::<_, serde_json::Value>(
            "NodeWorker.enable",
            serde_json::json!({ "waitForDebuggerOnStart": false }),
        )
        .await
        .map(drop)
    }

    /// The worker threads attached through this session, oldest thread
    /// first.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let mut workers: Vec<WorkerInfo> = self
            .inbox
            .lock_workers()
            .values()
            .map(|(info, _)| info.clone())
            .collect();
        workers.sort_by_key(|w| (w.thread_id(), w.session_id.clone()));
        workers
    }

    /// A session with one of [`Client::workers`], carried by this one. It
    /// ends when the worker exits, when this session ends, or when it is
    /// closed or dropped (which detaches from the worker).
    pub fn worker(&self, worker: &WorkerInfo) -> Result<Client> {
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let client = Client::with_outgoing(outgoing);
        {
            let mut workers = self.inbox.lock_workers();
            let entry = workers.get_mut(&worker.session_id).ok_or_else(|| {
                InspectorError::WorkerExited {
                    worker: worker.label(),
                }
            })?;
            if self.is_closed() {
                return Err(InspectorError::Closed);
            }
            entry.1 = Some(client.inbox.clone());
        }
        let carrier = self.outgoing.downgrade();
        let session_id = worker.session_id.clone();
        let inbox = client.inbox.clone();
        tokio::spawn(async move {
            let wrap = |method: &str, params: serde_json::Value| {
                let id = FORWARD_ID.fetch_add(1, Ordering::Relaxed);
                request_text(id, method, params).map(Message::text)
            };
            while let Some(message) = to_send.recv().await {
                let Message::Text(text) = message else { break };
                let Some(carrier) = carrier.upgrade() else {
                    break;
                };
                let params =
                    serde_json::json!({ "sessionId": session_id, "message": text.as_str() });
                let sent = wrap("NodeWorker.sendMessageToWorker", params)
                    .is_ok_and(|m| carrier.send(m).is_ok());
                if !sent {
                    break;
                }
            }
            // Closed or dropped: let go of the worker.
            if let Some(carrier) = carrier.upgrade() {
                if let Ok(m) = wrap(
                    "NodeWorker.detach",
                    serde_json::json!({ "sessionId": session_id }),
                ) {
                    let _ = carrier.send(m);
                }
            }
            inbox.finish();
        });
        Ok(client)
    }
}

fn request_text<P: Serialize>(id: u64, method: &str, params: P) -> Result<String> {
    #[derive(Serialize)]
    struct Request<'a, P> {
        id: u64,
        method: &'a str,
        params: P,
    }
    serde_json::to_string(&Request { id, method, params }).map_err(|e| InspectorError::Protocol {
        method: method.to_owned(),
        message: e.to_string(),
    })
}
