//! The smallest embedding: an application that counts its work in atomics and serves it on
//! `/metrics`, with snapbridge built for the Prometheus endpoint alone:
//!
//! ```toml
//! snapbridge = { version = "0.1", default-features = false, features = ["prometheus"] }
//! ```
//!
//! Run: `cargo run -p snapbridge-minimal -- 127.0.0.1:9464 1000`. It runs 1000 jobs (every
//! tenth fails), then keeps serving `jobs_done_total 900` and `jobs_failed_total 100` for
//! an hour (or a third argument, in seconds), then stops with a last cycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use snapbridge::core::{MetricsSource, Sample, Snapshot, SourceError};
use snapbridge::sources::SourceConfig;

/// The application's own counters, updated from any thread.
#[derive(Default)]
struct Jobs {
    done: AtomicU64,
    failed: AtomicU64,
}

/// What snapbridge reads every cycle: the running totals (it makes them reset-safe).
impl MetricsSource for Jobs {
    fn snapshot(&self) -> Result<Snapshot, SourceError> {
        Ok(Snapshot::from_iter([
            Sample::counter("jobs_done", self.done.load(Ordering::Relaxed)),
            Sample::counter("jobs_failed", self.failed.load(Ordering::Relaxed)),
        ]))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9464".into());
    let jobs_to_run: u64 = args.next().map_or(Ok(1000), |n| n.parse())?;
    let serve_for = Duration::from_secs(args.next().map_or(Ok(3600), |s| s.parse())?);

    let jobs = Arc::new(Jobs::default());
    let exporter = snapbridge::Builder::new()
        .interval(Duration::from_secs(1))
        .listen(listen.parse()?)
        .source(SourceConfig::new("app"), jobs.clone())
        .spawn()?;
    if let Some(addr) = exporter.local_addr() {
        println!("serving http://{addr}/metrics");
    }

    for job in 0..jobs_to_run {
        let counter = if job % 10 == 9 {
            &jobs.failed
        } else {
            &jobs.done
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    println!("ran {jobs_to_run} jobs");
    std::thread::sleep(serve_for);
    exporter.shutdown_blocking()?;
    Ok(())
}
