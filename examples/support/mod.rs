//! What every example shares: its command line, and a snapbridge serving `/metrics` (and the
//! status page on `/`) for the example's sources, cycling until Ctrl-C.
//!
//! Not an example itself (cargo builds `examples/*.rs`; this folder has no `main.rs`):
//! each example includes it with `#[path = "support/mod.rs"] mod support;`, and so do the
//! example tests, which call each example's `start` directly.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use snapbridge::sinks::prometheus::DEFAULT_LISTEN;
use snapbridge::{Builder, Error, Handle};
use tokio::task::JoinHandle;

/// Command line of an example: `--listen ADDR`, `--interval DURATION`, `--dir PATH`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where snapbridge serves; `None`: 127.0.0.1:9464, or any free port if it is taken.
    pub listen: Option<SocketAddr>,
    /// snapbridge's cycle.
    pub interval: Duration,
    /// Where the example keeps its files (a temporary directory when absent).
    pub dir: Option<PathBuf>,
}

impl Options {
    /// Reads `std::env::args`.
    pub fn from_args() -> Result<Options, String> {
        let mut o = Options {
            listen: None,
            interval: Duration::from_secs(2),
            dir: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match a.as_str() {
                "--listen" => {
                    let v = value("--listen")?;
                    o.listen = Some(v.parse().map_err(|e| format!("--listen {v}: {e}"))?);
                }
                "--interval" => {
                    let v = value("--interval")?;
                    o.interval = humantime::parse_duration(&v)
                        .map_err(|e| format!("--interval {v}: {e}"))?;
                }
                "--dir" => o.dir = Some(PathBuf::from(value("--dir")?)),
                "-h" | "--help" => {
                    return Err(
                        "options: --listen 127.0.0.1:9464  --interval 2s  --dir PATH".into(),
                    );
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        Ok(o)
    }

    /// For tests: any free port, a fast cycle.
    pub fn for_test(dir: Option<PathBuf>) -> Options {
        Options {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            interval: Duration::from_millis(200),
            dir,
        }
    }

    /// The interval as snapbridge's config writes it.
    pub fn interval_toml(&self) -> String {
        format!("interval = \"{}ms\"\n", self.interval.as_millis().max(1))
    }
}

/// A running snapbridge: its address, and how to stop it.
pub struct Served {
    /// Where `/metrics` and `/` are served.
    pub addr: SocketAddr,
    handle: Handle,
}

impl Served {
    /// `http://ADDR/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Stops the cycle (after one last pull and OTLP flush) and the endpoint.
    pub async fn stop(self) {
        if let Err(e) = self.handle.shutdown().await {
            eprintln!("snapbridge: {e}");
        }
    }
}

/// Starts `builder` serving on `listen`: 127.0.0.1:9464 when `None`, or any free port if
/// that one is taken. OTLP too, when the standard OTEL_EXPORTER_OTLP_* variables ask.
pub async fn serve(builder: Builder, listen: Option<SocketAddr>) -> Result<Served, String> {
    let builder = builder.shutdown_timeout(Duration::from_secs(2));
    let started = match listen {
        Some(addr) => builder.listen(addr).spawn(),
        None => match builder.clone().listen(DEFAULT_LISTEN).spawn() {
            Err(Error::Listen { error, .. }) => {
                eprintln!("{DEFAULT_LISTEN} is taken ({error}): using a free port instead");
                builder
                    .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .spawn()
            }
            other => other,
        },
    };
    let handle = started.map_err(|e| e.to_string())?;
    let addr = handle.local_addr().ok_or("no /metrics endpoint")?;
    Ok(Served { addr, handle })
}

/// A started example: snapbridge, the lines to print, and whatever keeps the example's
/// own system alive (tasks stopped and temporary files removed when it is dropped).
pub struct Running {
    /// snapbridge's endpoint.
    pub served: Served,
    /// Where to look, printed by `main`.
    pub lines: Vec<String>,
    /// The example's system.
    pub guard: Box<dyn Send>,
    /// Run first when stopping (e.g. a writer's final flush), so snapbridge's last pull
    /// sees everything.
    pub before_stop: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Running {
    /// Stops the example's system (its `before_stop`), then snapbridge (one last pull),
    /// then drops what is left.
    pub async fn stop(self) {
        if let Some(f) = self.before_stop {
            f.await;
        }
        self.served.stop().await;
        drop(self.guard);
    }
}

/// Aborts a task when dropped.
pub struct AbortOnDrop(pub JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The directory an example writes to: `--dir`, or a temporary one (kept in the guard).
pub fn work_dir(options: &Options) -> Result<(PathBuf, Option<tempfile::TempDir>), String> {
    match &options.dir {
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
            Ok((d.clone(), None))
        }
        None => {
            let t = tempfile::tempdir().map_err(|e| format!("cannot make a temp dir: {e}"))?;
            Ok((t.path().to_path_buf(), Some(t)))
        }
    }
}

/// An example's `main`: parse the command line, start, print where to look, run until
/// Ctrl-C, stop.
pub fn main<F, Fut>(start: F) -> ExitCode
where
    F: FnOnce(Options) -> Fut,
    Fut: Future<Output = Result<Running, String>>,
{
    let options = match Options::from_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let running = match start(options).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        for line in &running.lines {
            println!("{line}");
        }
        println!(
            "snapbridge: {} (status page: http://{}/)",
            running.served.metrics_url(),
            running.served.addr
        );
        println!("Ctrl-C stops.");
        let _ = tokio::signal::ctrl_c().await;
        running.stop().await;
        ExitCode::SUCCESS
    })
}
