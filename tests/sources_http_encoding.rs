//! `kind = "http"` against real HTTP servers that gzip their answers and redirect: gzip is
//! asked for and inflated within `max_bytes`; redirects are followed within the origin, 5
//! at most, another origin only when allowed and then without the credentials; whatever
//! is refused says what happened.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::Bridge;
use common::sources::{metric, read_head, scrape};

type Route = Box<dyn Fn(&str) -> (String, Vec<u8>) + Send + Sync>;

/// A real HTTP/1.1 server: `route(path)` gives the status line + headers and the body.
struct Server {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(route: Route) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (h, route) = (heads.clone(), Arc::new(route));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (h, route) = (h.clone(), route.clone());
                std::thread::spawn(move || answer(stream, &h, &route));
            }
        });
        Server { addr, heads }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn heads_for(&self, path: &str) -> Vec<String> {
        let needle = format!("GET {path} ");
        self.heads
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.starts_with(&needle))
            .cloned()
            .collect()
    }
}

fn answer(mut stream: TcpStream, heads: &Mutex<Vec<String>>, route: &Route) {
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    heads.lock().unwrap().push(head);
    let (status_and_headers, body) = route(&path);
    let out = format!(
        "HTTP/1.1 {status_and_headers}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&body);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    snapbridge::gzip::gzip(data)
}

fn source(name: &str, url: &str, extra: &str) -> String {
    format!("[[source]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

fn error_of(bridge: &mut Bridge, name: &str) -> Option<String> {
    let view = bridge.cycle();
    let s = view
        .sources
        .iter()
        .find(|s| s.name == name)
        .expect("source");
    s.last_error.clone()
}

#[test]
fn gzip_answers_are_inflated_within_max_bytes() {
    let doc = br#"{"jobs_done_total": 7, "queue": 3}"#.to_vec();
    let big = format!("{{\"pad\": \"{}\", \"x\": 1}}", " ".repeat(300_000)).into_bytes();
    let server = Server::start(Box::new(move |path| match path {
        "/gz" => (
            "200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip".into(),
            gzip(&doc),
        ),
        "/gz-file" => (
            "200 OK\r\ncontent-type: application/gzip".into(),
            gzip(&doc),
        ),
        "/bomb" => ("200 OK\r\ncontent-encoding: gzip".into(), gzip(&big)),
        "/br" => (
            "200 OK\r\ncontent-encoding: br".into(),
            b"\x0b\x02\x80{}\x03".to_vec(),
        ),
        _ => ("404 Not Found".into(), b"no".to_vec()),
    }));
    let config = [
        source("gz", &server.url("/gz"), ""),
        source("gz_file", &server.url("/gz-file"), ""),
        source("bomb", &server.url("/bomb"), "max_bytes = \"64KiB\""),
        source("br", &server.url("/br"), ""),
    ]
    .concat();
    let mut bridge = Bridge::start(&config, vec![]);
    assert_eq!(error_of(&mut bridge, "gz"), None);
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "jobs_done_total", &[("source", "gz")]),
        Some(7.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "queue", &[("source", "gz_file")]),
        Some(3.0),
        "{text}"
    );
    let asked = server.heads_for("/gz");
    assert!(
        asked[0]
            .to_ascii_lowercase()
            .contains("accept-encoding: gzip"),
        "{asked:?}"
    );
    // 300 KB of JSON in a ~1 KB gzip body: refused by the inflated size.
    let e = error_of(&mut bridge, "bomb").expect("the bomb fails");
    assert!(e.contains("gzip") && e.contains("65536"), "{e}");
    let e = error_of(&mut bridge, "br").expect("br fails");
    assert!(e.contains("Content-Encoding: br"), "{e}");
}

#[test]
fn redirects_are_followed_within_the_origin_and_across_only_when_allowed() {
    let other = Server::start(Box::new(|path| match path {
        "/m" => ("200 OK".into(), br#"{"elsewhere": 5}"#.to_vec()),
        _ => ("404 Not Found".into(), Vec::new()),
    }));
    let away = other.url("/m");
    let server = Server::start(Box::new(move |path| match path {
        "/old" => ("302 Found\r\nlocation: /new".into(), Vec::new()),
        "/new" => (
            "301 Moved\r\nlocation: http://ignored-user@127.0.0.1:1/x".into(),
            Vec::new(),
        ),
        "/loop" => ("307 Again\r\nlocation: /loop".into(), Vec::new()),
        "/away" => (format!("302 Found\r\nlocation: {away}"), Vec::new()),
        "/here" => ("200 OK".into(), br#"{"here": 4}"#.to_vec()),
        "/rel" => ("308 Permanent\r\nlocation: here".into(), Vec::new()),
        _ => ("404 Not Found".into(), Vec::new()),
    }));
    let config = [
        source("rel", &server.url("/rel"), "bearer_token = \"tok-same\""),
        source("moved_off", &server.url("/old"), ""),
        source("loop", &server.url("/loop"), ""),
        source("away", &server.url("/away"), "bearer_token = \"tok-away\""),
        source(
            "away_ok",
            &server.url("/away"),
            "bearer_token = \"tok-away\"\ncross_origin_redirects = true",
        ),
    ]
    .concat();
    let mut bridge = Bridge::start(&config, vec![]);
    assert_eq!(error_of(&mut bridge, "rel"), None);
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "here", &[("source", "rel")]),
        Some(4.0),
        "{text}"
    );
    // Within the origin the credentials go along.
    let here = server.heads_for("/here");
    assert!(here[0].contains("tok-same"), "{here:?}");

    // /old -> /new -> another port: refused, named, its user info not shown.
    let e = error_of(&mut bridge, "moved_off").expect("refused");
    assert!(
        e.contains("another origin") && e.contains("cross_origin_redirects"),
        "{e}"
    );
    assert!(!e.contains("ignored-user"), "{e}");
    let e = error_of(&mut bridge, "loop").expect("loop fails");
    assert!(e.contains("more than 5 redirects"), "{e}");
    let e = error_of(&mut bridge, "away").expect("refused");
    assert!(e.contains("another origin"), "{e}");

    // Allowed: followed, and the token stays home.
    assert_eq!(error_of(&mut bridge, "away_ok"), None);
    let text = scrape(&bridge);
    assert_eq!(
        metric(&text, "elsewhere", &[("source", "away_ok")]),
        Some(5.0),
        "{text}"
    );
    let got = other.heads_for("/m");
    assert!(!got.is_empty());
    assert!(got.iter().all(|h| !h.contains("tok-away")), "{got:?}");
    // A loop of 307s asked 6 times (1 + 5 redirects) per pull.
    assert_eq!(server.heads_for("/loop").len() % 6, 0);
}
