//! GraphQL over WebSocket at `/graphql/ws`, per the `graphql-transport-ws`
//! protocol (graphql-ws's PROTOCOL.md), as a thin layer over the same
//! admission every HTTP request passes.
//!
//! - The client must offer the subprotocol `graphql-transport-ws`; a
//!   connection without it is closed 4406.
//! - `connection_init` must arrive within `WS_INIT_TIMEOUT_SECS` (else 4408),
//!   once (else 4429). Its payload may carry `{"Authorization": "Bearer …"}`
//!   (or `authorization`), checked as the HTTP header is: a refused token
//!   closes 4403 and is never acknowledged; no token is anonymous.
//! - `subscribe` before `connection_ack` closes 4401; an id already running
//!   closes 4409; a message that is not a protocol message closes 4400.
//! - Each operation is admitted as over HTTP (fee, document caps, payer).
//!   A refusal or a request error (nothing ran) is an `error` message and the
//!   connection stays open; a response that ran, field errors included, is
//!   `next` then `complete`. Queries and mutations have the request time
//!   limit; subscriptions run until their stream ends or the client sends
//!   `complete`.
//! - Bounds: messages up to `MAX_BODY_BYTES` (a larger one closes 1009), at
//!   most `WS_MAX_OPERATIONS` operations at once per connection (one more is
//!   answered with an `error` coded `RATE_LIMITED`), and outgoing messages
//!   queue in a small bounded channel, so a client that does not read stalls
//!   its own operations instead of growing the server's memory; one that
//!   takes no message for `REQUEST_TIMEOUT_SECS` is dropped.
//! - The viewer is fixed at `connection_init`: a token that expires later
//!   does not end the connection.
//! - An instance holds at most `WS_MAX_CONNECTIONS` sockets; one more is
//!   closed at once with 1013 (try again later). At shutdown every open
//!   socket is closed with 1001 ([`Sockets`]): axum's graceful shutdown does
//!   not track upgraded connections, which would otherwise just be dropped.
//! - A subscriber that fell behind and skipped events learns how many from
//!   the next `next` payload's `extensions.missedEvents`.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response as HttpResponse;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;
use tracing::{field, Instrument};

use super::admission::{admit, execute, price, Admitted, Caller};
use super::client::ClientAddress;
use super::response::is_request_error;
use crate::error::AppError;
use crate::graphql::error_codes::add_codes;
use crate::graphql::subscriptions::MissedEvents;
use crate::metrics::{observe, outcome_label, Metrics, Observed};
use crate::state::AppState;

/// The one subprotocol spoken here.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Outgoing messages waiting for the socket, across all operations of a
/// connection; an operation that finds the queue full waits.
const OUTGOING_QUEUE: usize = 16;

/// Read buffer per socket. tungstenite's default, 128 KiB, was most of a
/// subscriber's memory in the fan-out bench (BENCHMARKS.md); client messages
/// are small, and a larger one (up to `MAX_BODY_BYTES`) still arrives whole.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// The longest close reason a close frame can carry, in bytes.
const MAX_CLOSE_REASON: usize = 123;

/// The open sockets of an instance: their cap, and their close at shutdown.
pub struct Sockets {
    open: Arc<Semaphore>,
    max: u32,
    closing: watch::Sender<bool>,
}

impl Sockets {
    pub fn new(max: usize) -> Self {
        let max = u32::try_from(max).unwrap_or(u32::MAX).min(Semaphore::MAX_PERMITS as u32);
        Self { open: Arc::new(Semaphore::new(max as usize)), max, closing: watch::channel(false).0 }
    }

    /// A place for one more socket, unless the instance holds its maximum or
    /// is shutting down.
    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        if *self.closing.borrow() {
            return None;
        }
        self.open.clone().try_acquire_owned().ok()
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.max as usize - self.open.available_permits()
    }

    /// Tells every open socket to close (1001) and refuses new ones.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Until every socket has closed, or `grace` has passed.
    pub async fn closed(&self, grace: Duration) {
        if tokio::time::timeout(grace, self.open.acquire_many(self.max)).await.is_err() {
            tracing::warn!(open = self.open(), "WebSocket connections still open at the end of the shutdown grace");
        }
    }
}

pub async fn handler(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    let limit = state.config.limits.max_body_bytes;
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0);
    let acceptable = upgrade.selected_protocol().is_some();
    let permit = state.sockets.admit();
    // The connection lives on in the upgrade request's span (its request id).
    let span = tracing::Span::current();
    upgrade.on_upgrade(move |socket| {
        async move {
            let mut connection = Connection::new(state, address, socket);
            match permit {
                _ if !acceptable => connection.close(Close::SubprotocolNotAcceptable).await,
                None if connection.closing() => connection.close(Close::GoingAway).await,
                None => connection.close(Close::TryAgainLater).await,
                Some(_permit) => {
                    let _open = connection.state.metrics.websocket_connection();
                    connection.run().await
                }
            }
        }
        .instrument(span)
    })
}

/// Why the server closes a connection, with the protocol's codes.
#[derive(Debug)]
enum Close {
    BadRequest(String),
    Unauthorized,
    Forbidden,
    SubprotocolNotAcceptable,
    InitTimeout,
    DuplicateId(String),
    TooManyInits,
    MessageTooBig,
    Internal,
    GoingAway,
    TryAgainLater,
}

impl Close {
    fn frame(&self) -> CloseFrame {
        let (code, reason) = match self {
            Self::BadRequest(reason) => (4400, reason.clone()),
            Self::Unauthorized => (4401, "Unauthorized".to_owned()),
            Self::Forbidden => (4403, "Forbidden".to_owned()),
            Self::SubprotocolNotAcceptable => (4406, "Subprotocol not acceptable".to_owned()),
            Self::InitTimeout => (4408, "Connection initialisation timeout".to_owned()),
            Self::DuplicateId(id) => (4409, format!("Subscriber for {id} already exists")),
            Self::TooManyInits => (4429, "Too many initialisation requests".to_owned()),
            Self::MessageTooBig => (1009, "Message too big".to_owned()),
            Self::Internal => (1011, "Internal server error".to_owned()),
            Self::GoingAway => (1001, "Server shutting down".to_owned()),
            Self::TryAgainLater => (1013, "Too many connections; try again later".to_owned()),
        };
        CloseFrame { code, reason: Utf8Bytes::from(truncate(reason, MAX_CLOSE_REASON)) }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A message from the client.
enum ClientMessage {
    ConnectionInit(Option<Map<String, Value>>),
    Ping(Option<Map<String, Value>>),
    Pong,
    Subscribe { id: String, request: Box<Request> },
    Complete { id: String },
}

/// The fields every protocol message may have; the type decides which it needs.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<Value>,
    payload: Option<Value>,
}

impl ClientMessage {
    fn parse(text: &str) -> Result<Self, String> {
        let envelope: Envelope =
            serde_json::from_str(text).map_err(|e| format!("Invalid message received: not a protocol message: {e}"))?;
        let record = |payload: Option<Value>| match payload {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(format!("Invalid message received: the `{}` payload must be an object", envelope.kind)),
        };
        let id = |id: Option<Value>| match id {
            Some(Value::String(id)) if !id.is_empty() => Ok(id),
            _ => Err(format!("Invalid message received: `{}` needs a non-empty string `id`", envelope.kind)),
        };
        match envelope.kind.as_str() {
            "connection_init" => Ok(Self::ConnectionInit(record(envelope.payload)?)),
            "ping" => Ok(Self::Ping(record(envelope.payload)?)),
            "pong" => record(envelope.payload).map(|_| Self::Pong),
            "subscribe" => {
                let id = id(envelope.id)?;
                let payload = envelope.payload.unwrap_or(Value::Null);
                let request = serde_json::from_value::<Request>(payload).map_err(|e| {
                    format!("Invalid message received: the `subscribe` payload must hold a `query`: {e}")
                })?;
                Ok(Self::Subscribe { id, request: Box::new(request) })
            }
            "complete" => Ok(Self::Complete { id: id(envelope.id)? }),
            other => Err(format!("Invalid message received: unexpected message type `{other}`")),
        }
    }
}

/// What an operation hands the connection to send.
struct Outgoing {
    id: String,
    generation: u64,
    text: String,
    /// The operation's last message (`complete` or `error`).
    last: bool,
}

/// A running operation; dropping it (on the client's `complete`, or with
/// the connection) stops its task.
struct Operation {
    generation: u64,
    task: AbortHandle,
}

impl Drop for Operation {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What to do after a step of the connection.
enum Flow {
    Continue,
    Stop,
    Close(Close),
}

struct Connection {
    state: AppState,
    address: IpAddr,
    socket: WebSocket,
    init_received: bool,
    /// Set once the connection is acknowledged.
    caller: Option<Caller>,
    operations: HashMap<String, Operation>,
    generations: u64,
    outgoing_tx: mpsc::Sender<Outgoing>,
    outgoing_rx: mpsc::Receiver<Outgoing>,
    /// Turns true when the instance shuts down.
    closing: watch::Receiver<bool>,
}

impl Connection {
    fn new(state: AppState, address: IpAddr, socket: WebSocket) -> Self {
        let (outgoing_tx, outgoing_rx) = mpsc::channel(OUTGOING_QUEUE);
        let closing = state.sockets.closing.subscribe();
        Self {
            state,
            address,
            socket,
            init_received: false,
            caller: None,
            operations: HashMap::new(),
            generations: 0,
            outgoing_tx,
            outgoing_rx,
            closing,
        }
    }

    fn closing(&self) -> bool {
        *self.closing.borrow()
    }

    async fn run(&mut self) {
        let init_timeout =
            tokio::time::sleep(std::time::Duration::from_secs(self.state.config.limits.ws_init_timeout_secs));
        tokio::pin!(init_timeout);
        let mut closing = self.closing.clone();
        loop {
            let flow = tokio::select! {
                incoming = self.socket.recv() => match incoming {
                    None => Flow::Stop,
                    Some(Ok(message)) => self.receive(message).await,
                    Some(Err(err)) => read_failed(&err),
                },
                Some(outgoing) = self.outgoing_rx.recv() => self.forward(outgoing).await,
                () = &mut init_timeout, if !self.init_received => Flow::Close(Close::InitTimeout),
                // The sender lives as long as the state this connection holds.
                () = shut_down(&mut closing) => Flow::Close(Close::GoingAway),
            };
            match flow {
                Flow::Continue => {}
                Flow::Stop => break,
                Flow::Close(close) => {
                    self.close(close).await;
                    break;
                }
            }
        }
        self.operations.clear();
    }

    async fn close(&mut self, close: Close) {
        tracing::debug!(?close, "closing a GraphQL WebSocket");
        self.operations.clear();
        // The client may be gone already; there is nothing left to tell it.
        let _ = self.write(Message::Close(Some(close.frame()))).await;
    }

    async fn send(&mut self, message: Value) -> Flow {
        self.write(Message::Text(Utf8Bytes::from(message.to_string()))).await
    }

    /// Writes a message; a client that has not taken it within the request
    /// time limit is dropped, and with it its operations.
    async fn write(&mut self, message: Message) -> Flow {
        let limit = self.state.config.limits.request_timeout();
        match tokio::time::timeout(limit, self.socket.send(message)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) => Flow::Stop,
            Err(_) => {
                tracing::debug!("a GraphQL WebSocket client stopped reading");
                Flow::Stop
            }
        }
    }

    /// Sends an operation's message, unless the operation was completed by
    /// the client (or replaced under its id) since it was queued.
    async fn forward(&mut self, outgoing: Outgoing) -> Flow {
        let current = self.operations.get(&outgoing.id).is_some_and(|op| op.generation == outgoing.generation);
        if !current {
            return Flow::Continue;
        }
        if outgoing.last {
            // Freed before the client learns of it, so it may reuse the id.
            self.operations.remove(&outgoing.id);
        }
        self.write(Message::Text(Utf8Bytes::from(outgoing.text))).await
    }

    async fn receive(&mut self, message: Message) -> Flow {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                return Flow::Close(Close::BadRequest(
                    "Invalid message received: binary messages are not spoken here".into(),
                ))
            }
            // Answered by the WebSocket layer itself.
            Message::Ping(_) | Message::Pong(_) => return Flow::Continue,
            // The close handshake completes on the next read, which then ends.
            Message::Close(_) => return Flow::Continue,
        };
        let message = match ClientMessage::parse(text.as_str()) {
            Ok(message) => message,
            Err(reason) => return Flow::Close(Close::BadRequest(reason)),
        };
        match message {
            ClientMessage::ConnectionInit(payload) => self.init(payload).await,
            ClientMessage::Ping(payload) => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = Value::Object(payload);
                }
                self.send(pong).await
            }
            ClientMessage::Pong => Flow::Continue,
            ClientMessage::Subscribe { id, request } => self.subscribe(id, *request).await,
            ClientMessage::Complete { id } => {
                self.operations.remove(&id);
                Flow::Continue
            }
        }
    }

    async fn init(&mut self, payload: Option<Map<String, Value>>) -> Flow {
        if self.init_received {
            return Flow::Close(Close::TooManyInits);
        }
        self.init_received = true;
        let authorization = payload.as_ref().and_then(|p| p.get("Authorization").or_else(|| p.get("authorization")));
        let authorization = match authorization {
            None | Some(Value::Null) => None,
            Some(Value::String(value)) => Some(value.as_str()),
            Some(_) => return Flow::Close(Close::Forbidden),
        };
        match super::viewer_of(&self.state, authorization).await {
            Ok(viewer) => {
                self.caller = Some(Caller::new(viewer, self.address));
                self.send(json!({ "type": "connection_ack" })).await
            }
            Err(AppError::Internal) => Flow::Close(Close::Internal),
            Err(err) => {
                tracing::debug!(error = ?err, "a WebSocket token was refused");
                Flow::Close(Close::Forbidden)
            }
        }
    }

    async fn subscribe(&mut self, id: String, request: Request) -> Flow {
        if self.caller.is_none() {
            return Flow::Close(Close::Unauthorized);
        }
        if self.operations.contains_key(&id) {
            return Flow::Close(Close::DuplicateId(id));
        }
        let max = self.state.config.limits.ws_max_operations;
        if self.operations.len() >= max {
            let mut error = ServerError::new(
                format!("this connection already runs {max} operations; complete one before starting another"),
                None,
            );
            error.extensions.get_or_insert_with(Default::default).set("code", "RATE_LIMITED");
            return self.send(error_message(&id, &[error])).await;
        }
        // Each operation has a span of its own within the connection's, and
        // is measured as an HTTP request is.
        let span = tracing::info_span!("operation", id = %id, operation = field::Empty, user_id = field::Empty);
        let operation = Arc::new(Observed::default());
        let started = Instant::now();
        let admitted = match &self.caller {
            Some(caller) => {
                span.in_scope(|| observe::within_sync(operation.clone(), || admit(&self.state, caller, request)))
            }
            None => return Flow::Close(Close::Unauthorized),
        };
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(err) => {
                let duration = Some(started.elapsed());
                self.state.metrics.record_operation(&operation, outcome_label(Some(err.code())), duration);
                return self.send(error_message(&id, &[err.into_server_error()])).await;
            }
        };
        self.generations += 1;
        let generation = self.generations;
        let sink = Sink { id: id.clone(), generation, tx: self.outgoing_tx.clone() };
        let metrics = self.state.metrics.clone();
        let measured = Measured { metrics, operation: operation.clone(), started, streaming: false, recorded: false };
        let run = observe::within(Some(operation), run_operation(self.state.clone(), admitted, sink, measured));
        let task = tokio::spawn(run.instrument(span)).abort_handle();
        self.operations.insert(id, Operation { generation, task });
        Flow::Continue
    }
}

/// Until the instance shuts down (or its state is gone, which is the same).
async fn shut_down(closing: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await.
    let _ = closing.wait_for(|closing| *closing).await.map(|_| ());
}

fn read_failed(err: &axum::Error) -> Flow {
    // tungstenite refuses an over-long message or frame as a "space limit".
    if err.to_string().contains("Space limit exceeded") {
        Flow::Close(Close::MessageTooBig)
    } else {
        tracing::debug!(error = %err, "a GraphQL WebSocket could not be read");
        Flow::Stop
    }
}

fn error_message(id: &str, errors: &[ServerError]) -> Value {
    let payload = serde_json::to_value(errors).unwrap_or_else(|_| json!([{ "message": "internal error" }]));
    json!({ "id": id, "type": "error", "payload": payload })
}

/// Where one operation's messages go.
struct Sink {
    id: String,
    generation: u64,
    tx: mpsc::Sender<Outgoing>,
}

impl Sink {
    /// Queues a message; false once the connection is gone.
    async fn send(&self, message: Value, last: bool) -> bool {
        let outgoing = Outgoing { id: self.id.clone(), generation: self.generation, text: message.to_string(), last };
        self.tx.send(outgoing).await.is_ok()
    }

    async fn next(&self, response: &Response) -> bool {
        let payload =
            serde_json::to_value(response).unwrap_or_else(|_| json!({ "errors": [{ "message": "internal error" }] }));
        self.send(json!({ "id": self.id, "type": "next", "payload": payload }), false).await
    }

    async fn complete(&self) {
        self.send(json!({ "id": self.id, "type": "complete" }), true).await;
    }

    async fn error(&self, errors: &[ServerError]) {
        self.send(error_message(&self.id, errors), true).await;
    }
}

/// An operation being measured, recorded once: when its answer is known,
/// or for a subscription at its first event, or when it ends (or the client
/// stops it) before any.
struct Measured {
    metrics: Arc<Metrics>,
    operation: Arc<Observed>,
    started: Instant,
    /// A subscription whose stream runs: if it ends unrecorded, it was `ok`.
    streaming: bool,
    recorded: bool,
}

impl Measured {
    /// Records the outcome of an answer or refusal (its first error's code,
    /// if any). A subscription's length is the client's choice, not a
    /// latency, and is not recorded (`timed` false).
    fn record(&mut self, code: Option<&str>, timed: bool) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let duration = timed.then(|| self.started.elapsed());
        self.metrics.record_operation(&self.operation, outcome_label(code), duration);
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        if self.streaming {
            self.record(None, false);
        }
    }
}

async fn run_operation(state: AppState, admitted: Admitted, sink: Sink, mut measured: Measured) {
    if admitted.operation == Some(OperationType::Subscription) {
        let mut admitted = admitted;
        if let Err(refused) = price(&state, &mut admitted).await {
            measured.record(observe::first_error_code(&refused.errors), true);
            return sink.error(&refused.errors).await;
        }
        let _running = state.metrics.subscription();
        measured.streaming = true;
        let missed = MissedEvents::default();
        // A panic while the stream runs (a resolver bug) ends this operation
        // alone with `INTERNAL`.
        let stream = state.schema.execute_stream(admitted.request.data(missed.clone()));
        let mut stream = std::panic::AssertUnwindSafe(stream).catch_unwind();
        let mut first = true;
        while let Some(outcome) = stream.next().await {
            let Ok(mut response) = outcome else {
                tracing::error!("a subscription panicked");
                return sink.error(&[AppError::Internal.into_server_error()]).await;
            };
            add_codes(&mut response);
            let skipped = missed.take();
            if skipped > 0 {
                response.extensions.insert("missedEvents".to_owned(), async_graphql::Value::from(skipped));
            }
            if first && is_request_error(&response) {
                measured.record(observe::first_error_code(&response.errors), false);
                return sink.error(&response.errors).await;
            }
            measured.record(None, false);
            first = false;
            if !sink.next(&response).await {
                return;
            }
        }
        return sink.complete().await;
    }
    let executed = execute(&state, admitted).await;
    match &executed {
        Ok(response) => measured.record(observe::first_error_code(&response.errors), true),
        Err(err) => measured.record(Some(err.code()), true),
    }
    match executed {
        Ok(response) if is_request_error(&response) => sink.error(&response.errors).await,
        Ok(response) => {
            if sink.next(&response).await {
                sink.complete().await;
            }
        }
        Err(err) => sink.error(&[err.into_server_error()]).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_messages_parse_and_others_are_refused() {
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"connection_init"}"#),
            Ok(ClientMessage::ConnectionInit(None))
        ));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"subscribe","id":"1","payload":{"query":"{ __typename }"}}"#),
            Ok(ClientMessage::Subscribe { .. })
        ));
        for bad in [
            "not json",
            r#"{"type":"nonsense"}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"connection_init","payload":"token"}"#,
            r#"{"type":"complete"}"#,
            r#"{"type":"next","id":"1","payload":{}}"#,
        ] {
            assert!(ClientMessage::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn close_reasons_fit_a_close_frame() {
        let frame = Close::DuplicateId("é".repeat(200)).frame();
        assert_eq!(frame.code, 4409);
        assert!(frame.reason.as_str().len() <= MAX_CLOSE_REASON);
    }
}
