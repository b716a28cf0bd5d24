//! The Chrome DevTools Protocol over one WebSocket: numbered requests matched
//! to their replies, events delivered in arrival order on one queue.
//!
//! Events go to an unbounded queue rather than a broadcast channel because a
//! heap snapshot is thousands of chunk events that must never be dropped.
//! Replies and events come from one reader task in wire order, so when a
//! reply is seen every event sent before it is already queued.

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

type Reply = std::result::Result<Box<RawValue>, String>;
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Reply>>>>>;

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

/// A connected inspector session.
pub struct Client {
    outgoing: mpsc::UnboundedSender<Message>,
    /// `None` once the connection is gone: new calls fail at once.
    pending: Pending,
    next_id: AtomicU64,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
    /// Turns `true` when the session ends (see [`Client::closed`]).
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
        let (event_tx, events) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let (closed_tx, closed) = tokio::sync::watch::channel(false);
        // Weak: dropping the Client must still end the writer, and so
        // close the socket.
        let closer = SessionCloser(outgoing.downgrade());

        tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                let close = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_pending = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match message {
                    Message::Text(text) => text,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(incoming) = serde_json::from_str::<Incoming>(&text) else {
                    continue;
                };
                match (incoming.id, incoming.method) {
                    (Some(id), _) => {
                        let reply = match (incoming.result, incoming.error) {
                            (_, Some(e)) => Err(match e.data {
                                Some(data) => format!("{} ({data})", e.message),
                                None => e.message,
                            }),
                            (Some(result), None) => Ok(result),
                            (None, None) => Ok(RawValue::from_string("{}".into()).expect("json")),
                        };
                        let waiter = reader_pending
                            .lock()
                            .expect("pending lock")
                            .as_mut()
                            .and_then(|p| p.remove(&id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(reply);
                        }
                    }
                    // Node is exiting and waits for us to let go
                    // (asked for in `attach`): let go at once, even if
                    // our side is busy elsewhere, so the app can exit.
                    (None, Some(method)) if method == "NodeRuntime.waitingForDisconnect" => {
                        closer.close();
                        break;
                    }
                    (None, Some(method)) => {
                        let params = incoming
                            .params
                            .unwrap_or_else(|| RawValue::from_string("{}".into()).expect("json"));
                        let _ = event_tx.send(Event { method, params });
                    }
                    (None, None) => {}
                }
            }
            // Dropping the waiters fails every call in flight with `Closed`.
            reader_pending.lock().expect("pending lock").take();
            closed_tx.send_replace(true);
        });
        Ok(Client {
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            events: tokio::sync::Mutex::new(events),
            closed,
        })
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
        #[derive(Serialize)]
        struct Request<'a, P> {
            id: u64,
            method: &'a str,
            params: P,
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text = serde_json::to_string(&Request { id, method, params }).map_err(|e| {
            InspectorError::Protocol {
                method: method.to_owned(),
                message: e.to_string(),
            }
        })?;
        let (tx, rx) = oneshot::channel();
        self.pending
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

    /// A handle that closes this session from another task.
    pub(crate) fn closer(&self) -> SessionCloser {
        SessionCloser(self.outgoing.downgrade())
    }

    /// Says goodbye with a close frame so the target prints nothing odd.
    pub fn close(&self) {
        let _ = self.outgoing.send(Message::Close(None));
    }
}
