//! Peers for the source tests: a small real HTTP server whose answers the test scripts, a
//! real `redis-server`, and readers of the exposition.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Bridge, Proc, free_port, http_get, peer, wait_for};

/// The value of the series `name{...}` whose labels include every pair of `labels`.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let series = l.rsplit_once(' ').map_or(*l, |(s, _)| s);
            let bare = series.split('{').next().unwrap_or("");
            bare == name
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

/// The sum of every series named `name` whose labels include `labels`.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let bare = series.split('{').next()?;
            (bare == name
                && labels
                    .iter()
                    .all(|(k, v)| series.contains(&format!("{k}=\"{v}\""))))
            .then(|| v.parse::<f64>().ok())?
        })
        .sum()
}

/// `/metrics` of a bridge, as text.
pub fn scrape(bridge: &Bridge) -> String {
    let (status, _, _, body) = http_get(&bridge.url("/metrics"), &[]);
    assert_eq!(status, 200);
    String::from_utf8(body).expect("utf-8 exposition")
}

/// The status page of a bridge.
pub fn status_page(bridge: &Bridge) -> String {
    let (_, _, _, body) = http_get(&bridge.url("/"), &[]);
    String::from_utf8_lossy(&body).into_owned()
}

/// What the scripted HTTP server answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this JSON body.
    Json(String),
    /// This status and body.
    Status(u16, String),
    /// Reads the request and never answers (until the server stops).
    Hang,
    /// Announces the whole body's length, sends part of it and closes the connection.
    CutShort(String),
}

/// A real HTTP/1.1 server on a loopback port, one thread per connection.
pub struct HttpServer {
    pub addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    /// Request heads received, newest last.
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts a server answering `reply` until changed.
    pub fn start(reply: Reply) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let reply = Arc::new(Mutex::new(reply));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, q, s) = (reply.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, q, s) = (r.clone(), q.clone(), s.clone());
                        std::thread::spawn(move || serve(stream, &r, &q, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpServer {
            addr,
            reply,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Changes the answer.
    pub fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request's head (up to and with the blank line), waiting at most 5 s per read;
/// `None` when the client went away first.
pub fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

fn serve(
    mut stream: TcpStream,
    reply: &Mutex<Reply>,
    requests: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let r = reply.lock().unwrap().clone();
    let answer = |status: u16, body: &str, len: usize| {
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n{body}"
        )
    };
    let out = match r {
        Reply::Json(body) => answer(200, &body, body.len()),
        Reply::Status(code, body) => answer(code, &body, body.len()),
        Reply::CutShort(body) => answer(200, &body[..body.len() / 2], body.len()),
        Reply::Hang => {
            let until = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
    };
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

/// A real redis-server on a free loopback port, in a temp dir, stopped by PID.
pub struct RedisServer {
    pub proc: Proc,
    pub port: u16,
    pub password: Option<String>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server, with a password when given.
    pub fn start(password: Option<&str>) -> RedisServer {
        Self::start_on(
            free_port(),
            password,
            tempfile::tempdir().expect("temp dir"),
        )
    }

    fn start_on(port: u16, password: Option<&str>, dir: tempfile::TempDir) -> RedisServer {
        let bin = peer("SNAPBRIDGE_REDIS_SERVER", "bin/redis-server");
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path());
        if let Some(pw) = password {
            cmd.args(["--requirepass", pw]);
        }
        let log: PathBuf = dir.path().join(format!("redis-{port}.log"));
        let proc = Proc::spawn("redis-server", cmd, log);
        let server = RedisServer {
            proc,
            port,
            password: password.map(str::to_string),
            dir,
        };
        wait_for(
            "redis-server to answer PING",
            Duration::from_secs(10),
            || {
                let mut con = server.client().get_connection().ok()?;
                redis::cmd("PING").query::<String>(&mut con).ok()
            },
        );
        server
    }

    /// Stops this server (SIGKILL by PID) and starts a new empty one on the same port.
    pub fn restart(self) -> RedisServer {
        let RedisServer {
            proc,
            port,
            password,
            dir,
        } = self;
        drop(proc);
        Self::start_on(port, password.as_deref(), dir)
    }

    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("redis url")
    }

    /// Runs one command.
    pub fn run(&self, args: &[&str]) {
        let mut con = self.client().get_connection().expect("redis connection");
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(&mut con)
            .unwrap_or_else(|e| panic!("redis {args:?}: {e}"));
    }
}
