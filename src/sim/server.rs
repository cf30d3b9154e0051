//! The listener: hyper per connection (so a fault can drop the connection or cut a body
//! short), routing to the gateway and to the `/__sim/` control endpoints.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use hyper::body::Incoming as HyperBody;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::control;
use super::gateway::{self, Incoming};
use super::reply::{self, Reply};
use super::shared::Shared;
use super::v3;

/// The largest request body read (image.upload answers `isv.exceed-max-size` above 5 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Returned to hyper to close the connection without a response.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a simulated fault")
    }
}

impl std::error::Error for DropConnection {}

pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "Simulator accept failed.");
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let shared = shared.clone();
        let mut sd = shutdown.clone();
        tokio::spawn(async move {
            let svc_shared = shared.clone();
            let svc = hyper::service::service_fn(move |req| {
                let shared = svc_shared.clone();
                async move { route(&shared, req).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = sd.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

fn json_response(status: StatusCode, body: String, content_type: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

async fn route(
    shared: &Arc<Shared>,
    req: Request<HyperBody>,
) -> Result<Response<Body>, DropConnection> {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/__sim/") {
        let method = req.method().clone();
        let body = axum::body::to_bytes(Body::new(req.into_body()), MAX_BODY)
            .await
            .unwrap_or_default();
        let (status, body) = control::handle(shared, &method, rest, &body);
        return Ok(json_response(status, body, reply::JSON));
    }
    let _in_flight = InFlight::enter(shared);
    if let Some(latency) = shared.cfg.latency {
        let mut sd = shared.shutdown.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(latency) => {}
            _ = sd.changed() => {}
        }
    }
    if path.starts_with("/v3/") {
        let v3req = read_v3(req).await;
        let reply = v3::handle(shared, v3req).await;
        return respond(shared, reply).await;
    }
    if path != "/gateway.do" || req.method() != hyper::Method::POST {
        return Ok(json_response(
            StatusCode::NOT_FOUND,
            "not found".into(),
            "text/plain",
        ));
    }
    let inc = match read_gateway(req).await {
        Ok(i) => i,
        Err(pairs) => Incoming {
            params: pairs.into_iter().collect(),
            conflict: true,
            file: None,
        },
    };
    let reply = gateway::handle(shared, inc).await;
    respond(shared, reply).await
}

/// Counts a protocol request as in flight until dropped, keeping the peak.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn with_headers(mut r: Response<Body>, headers: Vec<(String, String)>) -> Response<Body> {
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn truncated(status: StatusCode, body: String, keep: usize) -> Response<Body> {
    let len = body.len();
    let head = Bytes::copy_from_slice(&body.as_bytes()[..keep.min(len)]);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(head),
        Err(std::io::Error::other("truncated by a simulated fault")),
    ];
    let mut r = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_LENGTH, len.into());
    if let Ok(v) = reply::JSON.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

async fn respond(shared: &Arc<Shared>, reply: Reply) -> Result<Response<Body>, DropConnection> {
    match reply {
        Reply::Body {
            status,
            content_type,
            headers,
            body,
        } => Ok(with_headers(
            json_response(status_of(status), body, content_type),
            headers,
        )),
        Reply::Truncated {
            status,
            headers,
            body,
            keep,
        } => {
            let r = if keep >= body.len() {
                json_response(status_of(status), body, reply::JSON)
            } else {
                truncated(status_of(status), body, keep)
            };
            Ok(with_headers(r, headers))
        }
        Reply::Drop => Err(DropConnection),
        Reply::Hold => {
            let mut sd = shared.shutdown.subscribe();
            tokio::select! {
                _ = tokio::time::sleep(shared.cfg.hold_timeout) => {}
                _ = sd.changed() => {}
            }
            Err(DropConnection)
        }
    }
}

async fn read_v3(req: Request<HyperBody>) -> v3::V3Request {
    let (parts, body) = req.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header("authorization");
    let app_auth_token = header("alipay-app-auth-token");
    let root_cert_sn = header("alipay-root-cert-sn");
    let content_type = header("content-type").unwrap_or_default();
    let http_method = parts.method.as_str().to_string();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    v3::V3Request {
        http_method,
        uri,
        authorization,
        app_auth_token,
        root_cert_sn,
        content_type,
        body,
    }
}

/// Query and body parameters of a gateway request; the file part of a multipart body.
/// `Err` carries the query pairs when the body cannot be read.
async fn read_gateway(req: Request<HyperBody>) -> Result<Incoming, Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let Ok(body) = axum::body::to_bytes(Body::new(req.into_body()), MAX_BODY).await else {
        return Err(pairs);
    };
    let mut file = None;
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let Ok(boundary) = multer::parse_boundary(&content_type) else {
            return Err(pairs);
        };
        let stream = futures::stream::once(async move { Ok::<_, Infallible>(body) });
        let mut mp = multer::Multipart::new(stream, boundary);
        loop {
            match mp.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or("").to_string();
                    let is_file = name == "image_content" || field.file_name().is_some();
                    let Ok(bytes) = field.bytes().await else {
                        return Err(pairs);
                    };
                    if is_file {
                        file = Some(bytes.to_vec());
                    } else {
                        pairs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                    }
                }
                Ok(None) => break,
                Err(_) => return Err(pairs),
            }
        }
    } else {
        pairs.extend(form_urlencoded::parse(&body).into_owned());
    }
    Ok(Incoming::new(pairs, file))
}
