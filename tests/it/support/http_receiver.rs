//! A loopback HTTP receiver on `127.0.0.1:0` that records every request and answers with
//! what its handler decides: a status and body (JSON, or any bytes and headers), a body
//! streamed without a length, a body that stops midway, or no answer at all (it hangs
//! until the receiver is dropped).
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    /// The raw (still percent-encoded) query.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    /// The query's pairs, decoded as a server does (`application/x-www-form-urlencoded`).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }

    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the receiver answers.
pub enum Reply {
    Answer(u16, String),
    /// Any status, headers and bytes (`Content-Length` set).
    Bytes {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// 200 with a body sent in chunks, without `Content-Length`.
    Chunked(Vec<Vec<u8>>),
    /// 200, the headers and these first bytes of a longer body, then nothing more.
    Stall(Vec<u8>),
    /// Never answer.
    Hang,
}

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    received: Mutex<Vec<Received>>,
}

/// A running receiver; dropping it stops it (hanging requests are cut off).
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver whose answers come from `handler`.
    pub async fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            received: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT` + `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Received {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        body: body.to_vec(),
    };
    let reply = (shared.handler)(&req);
    shared.received.lock().unwrap().push(req);
    match reply {
        Reply::Answer(status, body) => (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Reply::Bytes {
            status,
            headers,
            body,
        } => {
            let mut r = axum::response::Response::builder().status(status);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.body(axum::body::Body::from(body)).unwrap()
        }
        Reply::Chunked(chunks) => {
            let stream = futures::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, std::convert::Infallible>(Bytes::from(c))),
            );
            axum::response::Response::builder()
                .status(200)
                .body(axum::body::Body::from_stream(stream))
                .unwrap()
        }
        Reply::Stall(first) => {
            let stream =
                futures::stream::iter([Ok::<_, std::convert::Infallible>(Bytes::from(first))])
                    .chain(futures::stream::pending());
            axum::response::Response::builder()
                .status(200)
                .header("content-length", "1000000")
                .body(axum::body::Body::from_stream(stream))
                .unwrap()
        }
        Reply::Hang => std::future::pending().await,
    }
}
