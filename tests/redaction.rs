//! Secrets never leave: every secret-bearing config field gets a unique marker, real
//! receivers echo back what they were sent (the request line with its query, the
//! `Authorization` header, the other headers), and every output snapbridge makes — stderr at
//! trace level, the status page, `/metrics`, `check` and `once` output, the errors of
//! misspelt secret keys — is searched for the markers: none may appear.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{Proc, free_port, http_get, wait_for};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapbridge"));
    cmd.env_remove("SNAPBRIDGE_CONFIG");
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A real HTTP/1.1 server that refuses every request with 401 and echoes in its body what
/// it was sent: the credentials alone, the `Authorization` header, the request line (with
/// its query) and every other header. It keeps the heads it received.
struct EchoServer {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl EchoServer {
    fn start() -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let heads = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, n, s) = (heads.clone(), served.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (h, n) = (h.clone(), n.clone());
                        std::thread::spawn(move || echo(stream, &h, &n));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        EchoServer {
            addr,
            heads,
            served,
            stop,
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn echo(mut stream: TcpStream, heads: &Mutex<Vec<String>>, served: &AtomicUsize) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    // Read the body (an OTLP export has one), so closing does not reset the connection.
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + 4 + len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let mut lines: Vec<&str> = head.lines().collect();
    let request_line = lines.remove(0);
    let auth = lines
        .iter()
        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        .map(|l| l.to_string())
        .unwrap_or_default();
    let bare = auth.rsplit(' ').next().unwrap_or("").to_string();
    let others: Vec<&str> = lines
        .iter()
        .filter(|l| !l.to_ascii_lowercase().starts_with("authorization:"))
        .copied()
        .collect();
    let body = format!(
        "who is {bare}? {auth} | {request_line} | {}\n",
        others.join(" | ")
    );
    heads.lock().unwrap().push(head.clone());
    served.fetch_add(1, Ordering::Relaxed);
    let answer = format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
}

/// Every marker, each unique, placed in one secret-bearing field.
const MARKERS: &[&str] = &[
    "mkOtlpUser01",
    "mkOtlpPass02",
    "mkOtlpQuery03",
    "mkOtlpHdr04",
    "mkOtlpHdr05",
    "mkTokenUser06",
    "mkHttpQuery07",
    "mkHttpQuery08",
    "mkHttpHdr09",
    "mkBearer10",
    "mkBasicPass12",
    "mkUrlUser13",
    "mkUrlPass14",
    "mkRedisPass15",
    "mkRedisUser16",
    "mkRedisPass17",
    "mkPromPass18",
];

/// The forms a marker may take once it went out: as is, and base64 inside a basic-auth pair
/// (checked through the pairs the config builds).
fn leaks(text: &str, extra: &[String]) -> Vec<String> {
    MARKERS
        .iter()
        .map(|m| m.to_string())
        .chain(extra.iter().cloned())
        .filter(|m| text.contains(m.as_str()))
        .collect()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn no_marker_of_any_secret_field_reaches_any_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let echo = EchoServer::start();
    let e = echo.addr;
    let closed = free_port();
    let prom_port = free_port();
    let hash = bcrypt::hash("mkPromPass18", 4).expect("bcrypt");
    let config = format!(
        r#"interval = "1s"
timeout = "800ms"

[prometheus]
listen = "127.0.0.1:{prom_port}"
[prometheus.basic_auth_users]
prom = "{hash}"

[otlp]
endpoint = "http://mkOtlpUser01:mkOtlpPass02@{e}/otlp?api_key=mkOtlpQuery03"
protocol = "http/protobuf"
timeout = "800ms"
max_attempts = 1
[otlp.headers]
x-api-key = "mkOtlpHdr04"
x-plain = "mkOtlpHdr05"

[[source]]
name = "token_user"
kind = "http"
url = "http://mkTokenUser06@{e}/m?sig=mkHttpQuery07&page=mkHttpQuery08"
headers = {{ "X-Plain" = "mkHttpHdr09" }}

[[source]]
name = "bearer"
kind = "http"
url = "http://{e}/m"
bearer_token = "mkBearer10"

[[source]]
name = "basic"
kind = "http"
url = "http://{e}/m"
basic_auth = {{ username = "bob", password = "mkBasicPass12" }}

[[source]]
name = "url_user"
kind = "http"
url = "http://mkUrlUser13:mkUrlPass14@{e}/m"

[[source]]
name = "redis_pw"
kind = "redis"
url = "redis://:mkRedisPass15@127.0.0.1:{closed}/0"
key = "k"

[[source]]
name = "redis_user"
kind = "redis"
url = "redis://mkRedisUser16:mkRedisPass17@127.0.0.1:{closed}/0"
key = "k"
"#
    );
    let path = tmp.path().join("snapbridge.toml");
    std::fs::write(&path, &config).expect("write config");
    // The base64 pairs the sources and the sink send: echoed, they must be masked too.
    let pairs = vec![
        b64("mkOtlpUser01:mkOtlpPass02"),
        b64("bob:mkBasicPass12"),
        b64("mkUrlUser13:mkUrlPass14"),
        b64("mkTokenUser06:"),
    ];

    let log = tmp.path().join("run.log");
    let mut cmd = bin();
    cmd.env("RUST_LOG", "trace")
        .args(["run", "--config"])
        .arg(&path);
    let mut run = Proc::spawn("snapbridge", cmd, log.clone());
    let auth = format!("Basic {}", b64("prom:mkPromPass18"));
    let base = format!("http://127.0.0.1:{prom_port}");
    // Three cycles: every source failed at least twice, the sink too.
    wait_for(
        "3 cycles and 2 OTLP exports",
        Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = run.child.try_wait() {
                panic!("snapbridge exited ({status}):\n{}", run.log_tail());
            }
            let text = ureq::get(&format!("{base}/metrics"))
                .set("Authorization", &auth)
                .call()
                .ok()?
                .into_string()
                .ok()?;
            let cycles = common::sources::metric(&text, "snapbridge_cycle", &[]).unwrap_or(0.0);
            let errors = common::sources::metric(
                &text,
                "snapbridge_export_errors_total",
                &[("sink", "otlp")],
            )
            .unwrap_or(0.0);
            (cycles >= 3.0 && errors >= 2.0).then_some(())
        },
    );
    let (_, _, _, metrics) = http_get(&format!("{base}/metrics"), &[("Authorization", &auth)]);
    let (status, _, _, page) = http_get(&format!("{base}/"), &[("Authorization", &auth)]);
    assert_eq!(status, 200);
    let page = String::from_utf8_lossy(&page).into_owned();
    run.terminate(Duration::from_secs(20));
    let stderr = std::fs::read_to_string(&log).expect("run log");

    // The test can fail: the receivers did get the secrets, and echoed them.
    let heads = echo.heads.lock().unwrap().join("\n");
    for sent in [
        "mkOtlpHdr04",
        "mkOtlpHdr05",
        "mkOtlpQuery03",
        "mkHttpQuery07",
        "mkHttpHdr09",
        "mkBearer10",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(pairs.iter().cloned())
    {
        assert!(heads.contains(&sent), "the echo server never got {sent}");
    }
    assert!(echo.served.load(Ordering::Relaxed) >= 10);
    // The status page shows the refusals, masked.
    assert!(page.contains("401"), "{page}");
    assert!(page.contains("FAILED"), "{page}");

    let check = bin()
        .args(["check", "--config"])
        .arg(&path)
        .env("RUST_LOG", "trace")
        .output()
        .expect("run check");
    let once = bin()
        .args(["once", "--config"])
        .arg(&path)
        .env("RUST_LOG", "trace")
        .output()
        .expect("run once");
    let check_out = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let once_out = format!(
        "{}{}",
        String::from_utf8_lossy(&once.stdout),
        String::from_utf8_lossy(&once.stderr)
    );
    assert!(check_out.contains("DOWN"), "{check_out}");
    for (what, text) in [
        ("stderr of run at trace level", stderr.as_str()),
        ("the status page", page.as_str()),
        ("/metrics", &String::from_utf8_lossy(&metrics)),
        ("check output", check_out.as_str()),
        ("once output", once_out.as_str()),
    ] {
        let found = leaks(text, &pairs);
        assert!(found.is_empty(), "{what} carries {found:?}");
        assert!(!text.contains(&hash), "{what} carries the password hash");
    }
}

#[test]
fn type_errors_of_secret_keys_never_echo_the_value() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let source = |extra: &str| {
        format!(
            "[[source]]\nname = \"s\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/m\"\n{extra}\n"
        )
    };
    let cases = [
        (
            source("bearer_token = 987654321987"),
            "987654321987",
            "bearer_token",
        ),
        (
            source("basic_auth = \"mkbob:mkTypePw1\""),
            "mkTypePw1",
            "basic_auth",
        ),
        (
            source("basic_auth = { username = \"bob\", password = 918273645546 }"),
            "918273645546",
            "basic_auth",
        ),
        (
            source("headers = { \"X-Key\" = 564738291029 }"),
            "564738291029",
            "headers",
        ),
        (
            "[[source]]\nname = \"s\"\nkind = \"http\"\nurl = 192837465564\n".to_string(),
            "192837465564",
            "url",
        ),
        (
            "[otlp]\nendpoint = 675849302112\n".to_string(),
            "675849302112",
            "endpoint",
        ),
        (
            "[otlp]\nheaders = { api-key = 102938475612 }\n".to_string(),
            "102938475612",
            "headers",
        ),
        (
            "[prometheus.basic_auth_users]\nprom = 564534231201\n".to_string(),
            "564534231201",
            "prom",
        ),
    ];
    for (i, (text, marker, key)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("c{i}.toml"));
        std::fs::write(&path, text).expect("write config");
        let out = bin()
            .args(["check", "--config"])
            .arg(&path)
            .output()
            .expect("run check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(
            stderr.contains(key),
            "{text}: the error names the key: {stderr}"
        );
        assert!(
            !stderr.contains(marker),
            "{text}: the value leaked: {stderr}"
        );
    }
}
