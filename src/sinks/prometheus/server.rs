//! The HTTP server (hyper 1, HTTP/1.1): routes, headers, limits.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::{Security, accepts_gzip, body_escaped, body_escaped_ready, negotiate, status_page};
use crate::pipeline::{REJECT_REASONS, Telemetry, ViewCell};

/// Time allowed for a TLS handshake and for the request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait in the kernel's accept backlog.
const MAX_CONNECTIONS: usize = 1024;

/// After this long a connection closes once its current request is answered.
const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// How long a connection past its lifetime may take to finish its response.
const CLOSE_GRACE: Duration = Duration::from_secs(30);

/// Request heads (request line and headers) over this are refused with 431.
const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// Requests with a bigger body are refused: nothing here reads a body.
const MAX_REQUEST_BODY: u64 = 16 * 1024;

/// What the endpoint serves from.
#[derive(Clone)]
pub struct Endpoint {
    /// The current view.
    pub views: ViewCell,
    /// Counters the endpoint updates.
    pub telemetry: Arc<Telemetry>,
    /// `/healthz` fails when the last cycle is older than this.
    pub stale_after: Duration,
    /// When the process started (health grace before the first cycle).
    pub started: SystemTime,
    /// TLS and basic authentication (`Security::none()` for plain HTTP); a reload swaps
    /// it: TLS holds for connections accepted from then on, credentials for every request.
    pub security: Arc<ArcSwap<Security>>,
    /// What `POST /-/reload` runs, once the exporter has set it (until then: 404).
    pub reload: Arc<OnceLock<ReloadFn>>,
}

/// Re-reads the configuration and applies it; `Err` is why the running one was kept.
pub type ReloadFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

impl Endpoint {
    /// Counts a refused request (bad path, method, size or credentials), under `reason`
    /// (one of [`REJECT_REASONS`]).
    fn refused(&self, reason: &str) {
        let stats = &self.telemetry.prometheus;
        stats.errors.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = REJECT_REASONS.iter().position(|r| *r == reason) {
            stats.rejected_requests[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An endpoint serving `views`; from now on the self-metrics report it as the
    /// `prometheus` sink.
    pub fn new(
        views: ViewCell,
        telemetry: Arc<Telemetry>,
        security: Arc<Security>,
        stale_after: Duration,
    ) -> Self {
        telemetry.prometheus.enabled.store(true, Ordering::Relaxed);
        Endpoint {
            views,
            telemetry,
            stale_after,
            started: SystemTime::now(),
            security: Arc::new(ArcSwap::new(security)),
            reload: Arc::new(OnceLock::new()),
        }
    }
}

/// Accepts connections on `listener` until `shutdown` resolves; then the listener closes
/// and each open connection closes once its request in flight is answered (a reload that
/// moves the endpoint drops no scrape).
pub async fn serve(
    listener: TcpListener,
    endpoint: Endpoint,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let endpoint = Arc::new(endpoint);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let (closing, closed) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = closing.send(true);
    };
    tokio::pin!(shutdown);
    loop {
        // At the connection limit, stop accepting until a connection ends: the kernel's
        // backlog holds the newcomers instead of this process' memory.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => return,
            },
            _ = &mut shutdown => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let endpoint = endpoint.clone();
        let closed = closed.clone();
        tokio::spawn(async move {
            let _slot = slot;
            #[cfg(feature = "tls")]
            if let Some(acceptor) = endpoint.security.load().tls.clone() {
                // A handshake that does not finish is a slowloris too.
                match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => serve_connection(tls, peer, endpoint, closed).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
                return;
            }
            serve_connection(stream, peer, endpoint, closed).await
        });
    }
}

/// Serves HTTP/1.1 on one connection, plain or TLS, until it ends, its lifetime is up or
/// `closed` says its listener closed.
async fn serve_connection<S>(
    stream: S,
    peer: std::net::SocketAddr,
    endpoint: Arc<Endpoint>,
    mut closed: tokio::sync::watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let counted = endpoint.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let endpoint = endpoint.clone();
        async move {
            // The one route that waits: a reload runs to its end before it answers.
            if req.uri().path() == "/-/reload" {
                return Ok::<_, Infallible>(reload(&endpoint, req).await);
            }
            Ok::<_, Infallible>(handle(&endpoint, req))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A client that never finishes its headers is dropped (slowloris).
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD + 16 * 1024)
        // The buffer alone lets a head that arrives in one read reach twice its size.
        .max_header_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(stream), service);
    // A client that stops reading would hold its connection (and the view it is being
    // sent) forever. After its lifetime a connection finishes the request in flight and
    // closes (keep-alive clients such as Prometheus just reconnect); one that still has
    // not finished after a grace period is dropped.
    let mut conn = std::pin::pin!(conn);
    let outcome = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = tokio::time::sleep(MAX_CONNECTION_LIFETIME) => None,
        _ = closed.wait_for(|c| *c) => None,
    };
    let outcome = match outcome {
        Some(r) => Some(r),
        None => {
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(CLOSE_GRACE, conn.as_mut()).await.ok()
        }
    };
    match outcome {
        Some(Err(e)) => {
            // hyper answered these itself (431, 414, 400) before any route saw them.
            if e.is_parse_too_large() {
                counted.refused("head_too_large");
            } else if e.is_parse() {
                counted.refused("malformed");
            }
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        Some(Ok(())) => {}
        None => tracing::debug!(%peer, "connection dropped: its client stopped reading"),
    }
}

fn handle(endpoint: &Endpoint, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        endpoint.refused("method");
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    if let Some(refused) = unauthorized(endpoint, &req) {
        return refused;
    }
    let body_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if body_len.is_some_and(|n| n > MAX_REQUEST_BODY) {
        endpoint.refused("body_too_large");
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    let mut response = match req.uri().path() {
        "/metrics" => {
            let r = metrics(endpoint, &req);
            let nanos = started.elapsed().as_nanos() as u64;
            endpoint
                .telemetry
                .prometheus
                .last_duration_nanos
                .store(nanos, Ordering::Relaxed);
            r
        }
        "/healthz" => health(endpoint),
        // Prometheus' own names: alive as long as this answers; ready once a cycle was
        // published (an empty exposition before it would read as "every series vanished").
        "/-/healthy" => plain(StatusCode::OK, "healthy\n"),
        "/-/ready" => ready(endpoint),
        "/" => {
            let view = endpoint.views.load_full();
            let html = status_page::render(&view, &endpoint.telemetry);
            let mut r = Response::new(Full::new(Bytes::from(html)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        _ => {
            endpoint.refused("not_found");
            plain(StatusCode::NOT_FOUND, "not found: try /metrics\n")
        }
    };
    if head {
        *response.body_mut() = Full::new(Bytes::new());
    }
    response
}

/// `None` when the request may pass; else the 401 answer (counted).
fn unauthorized(endpoint: &Endpoint, req: &Request<Incoming>) -> Option<Response<Full<Bytes>>> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if endpoint.security.load_full().allows(authorization) {
        return None;
    }
    endpoint.refused("unauthorized");
    let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"snapbridge\""),
    );
    Some(r)
}

/// `POST /-/reload`, as Prometheus has it: re-reads the config and answers once it is
/// applied (200) or refused (500, with why; the running config stays). Behind the same
/// credentials as every path.
async fn reload(endpoint: &Endpoint, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(refused) = unauthorized(endpoint, &req) {
        return refused;
    }
    if req.method() != Method::POST {
        endpoint.refused("method");
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only POST\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let Some(run) = endpoint.reload.get().cloned() else {
        endpoint.refused("not_found");
        return plain(
            StatusCode::NOT_FOUND,
            "not found: this exporter has no config to reload\n",
        );
    };
    match run().await {
        Ok(applied) => plain(StatusCode::OK, &format!("config reloaded: {applied}\n")),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to reload config: {}\n", crate::redact::text(&e)),
        ),
    }
}

fn metrics(endpoint: &Endpoint, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let header_str = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let asked = negotiate(header_str(header::ACCEPT));
    let (format, escaping) = (asked.format, asked.escaping);
    let gzip = accepts_gzip(header_str(header::ACCEPT_ENCODING));
    let view = endpoint.views.load_full();
    // The first scrape of a view in a format renders or compresses it (Prometheus asks for
    // gzipped OpenMetrics: about 12 ms at 100k series); other connections must not wait.
    let bytes = if body_escaped_ready(&view, format, escaping, gzip) {
        body_escaped(&view, format, escaping, gzip)
    } else {
        let started = std::time::Instant::now();
        let bytes =
            crate::blocking::off_the_reactor(|| body_escaped(&view, format, escaping, gzip));
        let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        (endpoint.telemetry.render_nanos).store(took, Ordering::Relaxed);
        bytes
    };
    endpoint
        .telemetry
        .prometheus
        .exports
        .fetch_add(1, Ordering::Relaxed);
    let mut r = Response::new(Full::new(bytes));
    let h = r.headers_mut();
    // Built from constants and a scheme name: always a valid header value.
    if let Ok(ct) = HeaderValue::from_str(&asked.content_type()) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

fn health(endpoint: &Endpoint) -> Response<Full<Bytes>> {
    let view = endpoint.views.load();
    let now = SystemTime::now();
    let reference = if view.cycle == 0 {
        endpoint.started
    } else {
        view.time
    };
    let age = now.duration_since(reference).unwrap_or_default();
    if age <= endpoint.stale_after {
        plain(StatusCode::OK, "ok\n")
    } else {
        let msg = format!(
            "unhealthy: no cycle for {} (cycle {})\n",
            humantime::format_duration(Duration::from_secs(age.as_secs())),
            view.cycle
        );
        plain(StatusCode::SERVICE_UNAVAILABLE, &msg)
    }
}

fn ready(endpoint: &Endpoint) -> Response<Full<Bytes>> {
    if endpoint.telemetry.shutting_down.load(Ordering::Relaxed) {
        plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: shutting down\n",
        )
    } else if endpoint.views.load().cycle == 0 {
        plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no cycle published yet\n",
        )
    } else {
        plain(StatusCode::OK, "ready\n")
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
