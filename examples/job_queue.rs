//! A job queue with an in-memory metric store, served as a JSON `/metrics` endpoint of its
//! own, and exported by snapbridge through the `http` source.
//!
//! - `MetricStore`: `jobs_created`, `jobs_completed`, `jobs_failed`, `jobs_retried` (counters)
//!   and `jobs_in_progress` (a gauge), behind a mutex, returned as a copy (never a
//!   reference to the live state, which a reader could see change under it);
//! - a producer creates jobs, three workers process them (every 7th attempt fails), and a
//!   sweeper retries failed jobs;
//! - the queue serves `GET /metrics` as `{"jobs_created": 120, ...}` on its own port;
//! - snapbridge pulls that URL with `kind = "http"`; its `counters` rule names the four
//!   totals and its `gauges` rule names `jobs_in_progress`.
//!
//! Run: `cargo run --example job_queue [-- --listen 127.0.0.1:9464]`; the job queue's own
//! JSON and snapbridge's `/metrics` (`jobs_created_total`, `jobs_in_progress`) are printed.

#[path = "support/mod.rs"]
pub mod support;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use snapbridge::Builder;
use snapbridge::config::Config;
use support::{AbortOnDrop, Options, Running};

/// The queue's metrics, serialised as the endpoint's JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metric {
    /// Counter: jobs created.
    pub jobs_created: u64,
    /// Counter: jobs completed.
    pub jobs_completed: u64,
    /// Counter: jobs failed.
    pub jobs_failed: u64,
    /// Counter: jobs retried.
    pub jobs_retried: u64,
    /// Gauge: jobs being processed.
    pub jobs_in_progress: u64,
}

/// The in-memory metric store: every update under one mutex.
#[derive(Default)]
pub struct MetricStore {
    metrics: Mutex<Metric>,
}

impl MetricStore {
    fn update(&self, f: impl FnOnce(&mut Metric)) {
        if let Ok(mut m) = self.metrics.lock() {
            f(&mut m);
        }
    }

    /// A copy, never a reference to the internal state.
    pub fn get(&self) -> Metric {
        self.metrics.lock().map(|m| *m).unwrap_or_default()
    }
}

/// A job.
#[derive(Clone, Debug)]
struct Job {
    id: u64,
    attempts: u32,
}

/// The queue, its store and its switches.
pub struct JobQueue {
    /// Metrics.
    pub store: MetricStore,
    pending: Mutex<VecDeque<Job>>,
    failed: Mutex<Vec<Job>>,
    /// While true, no job is created or started (running ones finish).
    pub paused: AtomicBool,
}

impl JobQueue {
    fn create(&self, id: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.push_back(Job { id, attempts: 0 });
        }
        self.store.update(|m| m.jobs_created += 1);
    }

    fn take(&self) -> Option<Job> {
        if self.paused.load(Ordering::Acquire) {
            return None;
        }
        let job = self.pending.lock().ok()?.pop_front()?;
        self.store.update(|m| m.jobs_in_progress += 1);
        Some(job)
    }

    fn finish(&self, mut job: Job, ok: bool) {
        self.store.update(|m| {
            m.jobs_in_progress -= 1;
            if ok {
                m.jobs_completed += 1;
            } else {
                m.jobs_failed += 1;
            }
        });
        if !ok {
            job.attempts += 1;
            if let Ok(mut f) = self.failed.lock() {
                f.push(job);
            }
        }
    }

    fn retry_failed(&self) {
        let jobs: Vec<Job> = match self.failed.lock() {
            Ok(mut f) => f.drain(..).filter(|j| j.attempts < 3).collect(),
            Err(_) => return,
        };
        for job in jobs {
            self.store.update(|m| m.jobs_retried += 1);
            if let Ok(mut p) = self.pending.lock() {
                p.push_back(job);
            }
        }
    }
}

/// Serves `GET /metrics` as JSON until aborted.
async fn serve_json(queue: Arc<JobQueue>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let queue = queue.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let queue = queue.clone();
                async move {
                    let (status, body) = if req.uri().path() == "/metrics" {
                        (
                            200,
                            serde_json::to_vec(&queue.store.get()).unwrap_or_default(),
                        )
                    } else {
                        (404, b"{\"error\": \"not found\"}".to_vec())
                    };
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
                    resp.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What the test drives.
pub struct Handle {
    /// The queue (its store and pause switch).
    pub queue: Arc<JobQueue>,
    /// The queue's own JSON endpoint.
    pub json_url: String,
}

/// Starts the queue, its workers, its JSON endpoint, and snapbridge pulling it.
pub async fn start(options: Options) -> Result<(Running, Handle), String> {
    let queue = Arc::new(JobQueue {
        store: MetricStore::default(),
        pending: Mutex::new(VecDeque::new()),
        failed: Mutex::new(Vec::new()),
        paused: AtomicBool::new(false),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let app: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut tasks = vec![AbortOnDrop(tokio::spawn(serve_json(
        queue.clone(),
        listener,
    )))];
    let q = queue.clone();
    tasks.push(AbortOnDrop(tokio::spawn(async move {
        let mut id = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(15)).await;
            if !q.paused.load(Ordering::Acquire) {
                id += 1;
                q.create(id);
            }
        }
    })));
    for worker in 0..3u64 {
        let q = queue.clone();
        tasks.push(AbortOnDrop(tokio::spawn(async move {
            let mut attempt = worker;
            loop {
                match q.take() {
                    Some(job) => {
                        tokio::time::sleep(Duration::from_millis(10 + job.id % 20)).await;
                        attempt += 1;
                        q.finish(job, attempt % 7 != 0);
                    }
                    None => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        })));
    }
    let q = queue.clone();
    tasks.push(AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if !q.paused.load(Ordering::Acquire) {
                q.retry_failed();
            }
        }
    })));
    let json_url = format!("http://{app}/metrics");
    let toml = format!(
        "{}timeout = \"1s\"\n[[source]]\nname = \"job_queue\"\nkind = \"http\"\nurl = \"{json_url}\"\ncounters = [\"jobs_created\", \"jobs_completed\", \"jobs_failed\", \"jobs_retried\"]\ngauges = [\"jobs_in_progress\"]\n",
        options.interval_toml()
    );
    let config = Config::parse(&toml, "job_queue example").map_err(|e| e.to_string())?;
    let served = support::serve(Builder::from_config(&config), options.listen).await?;
    let lines = vec![
        format!("job_queue: 3 workers; the queue's own JSON metrics at {json_url}"),
        format!(
            "  pulled by snapbridge (kind = \"http\"): jobs_created_total, jobs_in_progress on {}",
            served.metrics_url()
        ),
    ];
    Ok((
        Running {
            served,
            lines,
            guard: Box::new(tasks),
            before_stop: None,
        },
        Handle { queue, json_url },
    ))
}

fn main() -> std::process::ExitCode {
    support::main(|o| async move { start(o).await.map(|(r, _)| r) })
}
