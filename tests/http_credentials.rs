//! A user name and password written in a source URL (`http://user:p%40ss@host/`) reach the
//! server decoded, in the `Authorization` header, as HTTP clients send them: the server
//! behind it is a real hyper server that records what it receives.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use common::Bridge;
use common::sources::{metric, scrape};

/// Each request's `Authorization` header (if any) and request target.
type Seen = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A hyper server on a loopback port, on a runtime of its own, that answers every request
/// with a small JSON snapshot and keeps each request's `Authorization` and path.
struct Recorder {
    port: u16,
    seen: Seen,
    _runtime: tokio::runtime::Runtime,
}

impl Recorder {
    fn start() -> Recorder {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen: Seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let record = record.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let auth = req
                            .headers()
                            .get(hyper::header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        record.lock().unwrap().push((auth, req.uri().to_string()));
                        async {
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                                br#"{"records_written": 42}"#,
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Recorder {
            port,
            seen,
            _runtime: runtime,
        }
    }
}

#[test]
fn a_percent_encoded_password_in_the_url_is_sent_decoded() {
    let server = Recorder::start();
    let config = format!(
        "interval = \"5s\"\n[[source]]\nname = \"auth\"\nkind = \"http\"\nurl = \"http://us%20er:p%40ss%3Aw0rd@127.0.0.1:{}/metrics?x=1\"\ncounters = [\"records_*\"]\n",
        server.port
    );
    let mut bridge = Bridge::start(&config, vec![]);
    bridge.cycle();
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "records_written_total", &[("source", "auth")]),
        Some(42.0),
        "{text}"
    );
    let seen = server.seen.lock().unwrap().clone();
    let (auth, path) = seen.last().expect("the server was asked").clone();
    let expected = base64::engine::general_purpose::STANDARD.encode("us er:p@ss:w0rd");
    assert_eq!(auth.as_deref(), Some(format!("Basic {expected}").as_str()));
    // The credentials travel in the header only, never in the request line.
    assert_eq!(path, "/metrics?x=1");
    assert!(!text.contains("w0rd"), "{text}");
}
