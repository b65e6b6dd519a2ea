//! The OTLP sink: pushes every published view to an OpenTelemetry collector or any OTLP
//! receiver, over gRPC or HTTP/protobuf.
//!
//! Why the generated `opentelemetry-proto` types and not the SDK (`opentelemetry_sdk` +
//! `opentelemetry-otlp`): snapbridge already holds the aggregated result (reset-safe totals
//! with start times, exact deltas), so the SDK's job — aggregating measurements into
//! points — would be done twice. At 100k series, feeding it costs about 0.34 µs per series
//! and collecting + encoding 1.3 µs more (docs/BENCHMARKS.md, "OTLP"); it caps each metric
//! at 2000 series unless a View raises it, and its counters take increments, so a source
//! reset or a skipped cycle must be replayed into it exactly. Building the request from the
//! view instead costs well under 0.1 µs per series and sends exactly what `/metrics` shows:
//! the two paths cannot disagree.
//!
//! The sink runs as its own task. After each cycle it takes the newest view; a slow or
//! absent receiver makes it skip views, never the pull loop or `/metrics`. At most one
//! request is in flight, so memory does not grow while the receiver is away.
//!
//! In delta mode the request is built when the view is published, on the pipeline's side,
//! and its points are marked sent in the [`DeltaBook`] before the cycle's state write; the
//! task sends it only after that write (see delta.rs for why). No request is prepared
//! while one is out, so the marks on disk always describe the request on the wire.

mod config;
mod delta;
mod encode;
mod outbox;
mod refusal;
mod retry;
mod settings;
mod transport;

pub use config::{Compression, Headers, OtlpConfig, Protocol, Temporality};
pub use delta::{DeltaBook, Outcome};
pub use encode::{Encoder, Pending};
pub use settings::{Settings, parse_pairs};

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::pipeline::{Pipeline, Telemetry};
use crate::view::View;
use outbox::{BookSection, Outbox, Prepared, Preparer, SharedOutbox, lock};
use transport::Transport;

/// Checks settings as [`OtlpSink::spawn`] does (TLS roots, the endpoint's form), without
/// starting anything: what `check` runs. Must be called within a Tokio runtime.
pub fn validate(settings: &Settings) -> Result<(), String> {
    Transport::new(settings).map(|_| ())
}

/// The name of the sink's section in the state file.
const STATE_SECTION: &str = "otlp";

/// A running OTLP sink.
pub struct OtlpSink {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    outbox: SharedOutbox,
}

impl OtlpSink {
    /// Starts pushing the views `pipeline` publishes. In delta mode the baselines saved in
    /// the state file are restored, and kept there from now on.
    pub fn spawn(settings: Settings, pipeline: &mut Pipeline) -> Result<OtlpSink, String> {
        let mut book = DeltaBook::new(pipeline.max_staleness());
        if settings.temporality == Temporality::Delta
            && let Some(saved) = pipeline.take_saved_sink_state(STATE_SECTION)
        {
            match book.restore(&saved) {
                Ok(n) => tracing::info!(series = n, "OTLP delta baselines restored"),
                Err(e) => {
                    pipeline
                        .telemetry()
                        .state_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "OTLP delta baselines in the state file not used");
                }
            }
        }
        OtlpSink::spawn_with_book(settings, pipeline, book)
    }

    /// [`spawn`](Self::spawn) continuing from `book`: delta baselines carried over from a
    /// sink being replaced (new settings), so no series starts its deltas again.
    pub fn spawn_with_book(
        settings: Settings,
        pipeline: &mut Pipeline,
        book: DeltaBook,
    ) -> Result<OtlpSink, String> {
        let views = pipeline.subscribe();
        let telemetry = pipeline.telemetry();
        let transport = Transport::new(&settings)?;
        tracing::info!(
            url = %settings.shown,
            protocol = ?settings.protocol,
            temporality = ?settings.temporality,
            "OTLP export enabled"
        );
        telemetry.otlp.enabled.store(true, Ordering::Relaxed);
        let (stop, stop_rx) = watch::channel(false);
        let outbox = Arc::new(Mutex::new(Outbox {
            encoder: Encoder::with_book(settings.temporality, &settings.resource, book),
            temporality: settings.temporality,
            busy: false,
            retired: false,
            prepared: None,
        }));
        if settings.temporality == Temporality::Delta {
            pipeline.add_publish_hook(Box::new(Preparer(outbox.clone())));
            pipeline.add_durable_state(STATE_SECTION, Box::new(BookSection(outbox.clone())));
        }
        let worker = Worker {
            views: views.clone(),
            outbox: outbox.clone(),
            settings,
            transport,
            telemetry,
            exported_cycle: 0,
            logged_rejections: HashSet::new(),
        };
        let task = tokio::spawn(worker.run(views, stop_rx));
        Ok(OtlpSink { stop, task, outbox })
    }

    /// Flushes and stops the sink (as [`flush_and_stop`](Self::flush_and_stop)) and hands
    /// over its delta baselines, for a sink of new settings
    /// ([`spawn_with_book`](Self::spawn_with_book)): a reload loses no series' baseline.
    pub async fn retire(self, timeout: Duration) -> (Result<(), String>, DeltaBook) {
        let outbox = self.outbox.clone();
        let flushed = self.flush_and_stop(timeout).await;
        let mut outbox = lock(&outbox);
        outbox.retired = true;
        if let Some(unsent) = outbox.prepared.take() {
            outbox.encoder.settle(unsent.pending, Outcome::Refused);
        }
        let temporality = outbox.temporality;
        let encoder = std::mem::replace(&mut outbox.encoder, Encoder::new(temporality, &[]));
        let mut book = encoder.into_book();
        book.detach();
        (flushed, book)
    }

    /// Series whose delta baselines are kept.
    pub fn delta_series(&self) -> usize {
        lock(&self.outbox).encoder.tracked()
    }

    /// Exports the newest view if it was not exported yet, then stops; gives up after
    /// `timeout`. `Err` says why that last export did not go out.
    pub async fn flush_and_stop(self, timeout: Duration) -> Result<(), String> {
        let _ = self.stop.send(true);
        let mut task = self.task;
        match tokio::time::timeout(timeout, &mut task).await {
            Ok(Ok(flushed)) => flushed,
            Ok(Err(e)) => Err(format!("the OTLP sink failed: {e}")),
            Err(_) => {
                task.abort();
                Err(format!(
                    "the OTLP flush did not finish within {}",
                    humantime::format_duration(timeout)
                ))
            }
        }
    }
}

struct Worker {
    // The published views, to stop retrying once a newer one is out.
    views: watch::Receiver<Arc<View>>,
    settings: Settings,
    transport: Transport,
    outbox: SharedOutbox,
    telemetry: Arc<Telemetry>,
    exported_cycle: u64,
    // Partial-success messages already logged: each distinct one is logged once.
    logged_rejections: HashSet<String>,
}

/// Distinct partial-success messages remembered; past this the set is cleared, so a
/// receiver that puts ids in its messages cannot grow it without bound.
const MAX_LOGGED_REJECTIONS: usize = 256;

impl Worker {
    /// The request to send for `view`, marking the outbox busy: the one prepared at its
    /// publication (delta), or built now (cumulative). `None` when there is none to send.
    fn take_request(&self, view: &View) -> Option<Prepared> {
        let mut outbox = lock(&self.outbox);
        let prepared = match outbox.prepared.take() {
            Some(p) if p.cycle == view.cycle => Some(p),
            // Prepared for a newer view whose state write may not be done: it goes out
            // when that view is announced.
            Some(p) if p.cycle > view.cycle => {
                outbox.prepared = Some(p);
                None
            }
            Some(old) => {
                outbox.encoder.settle(old.pending, Outcome::Refused);
                None
            }
            None => None,
        };
        let prepared = match prepared {
            Some(p) => Some(p),
            None if outbox.temporality == Temporality::Cumulative => {
                let (request, pending) = outbox.encoder.build(view);
                Some(Prepared {
                    cycle: view.cycle,
                    request: request.into(),
                    pending,
                })
            }
            // Delta: a view published while a request was out has none; its increase
            // goes with the next one.
            None => None,
        };
        outbox.busy = prepared.is_some();
        prepared
    }

    /// Counts the data points a receiver rejected and logs its reason once per message:
    /// the same rejection repeats every cycle, and the counter says how often.
    fn partial_success(&mut self, accepted: &transport::Accepted) {
        if accepted.rejected_points == 0 && accepted.message.is_empty() {
            return;
        }
        self.telemetry
            .otlp
            .rejected_points
            .fetch_add(accepted.rejected_points, Ordering::Relaxed);
        if self.logged_rejections.len() >= MAX_LOGGED_REJECTIONS {
            self.logged_rejections.clear();
        }
        if self.logged_rejections.insert(accepted.message.clone()) {
            tracing::warn!(
                rejected_points = accepted.rejected_points,
                message = %crate::redact::text(&accepted.message),
                "OTLP receiver rejected part of an export (not retried; logged once per message)"
            );
        }
    }

    /// Exports views as they come until stopped, then the last one; its outcome is the
    /// result.
    async fn run(
        mut self,
        mut views: watch::Receiver<Arc<View>>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        loop {
            tokio::select! {
                changed = views.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let view = views.borrow_and_update().clone();
                    // A failure is counted and shown; the next view is tried anyway.
                    let _ = self.export(&view).await;
                }
                // The only change ever sent is the stop.
                _ = stop.changed() => break,
            }
        }
        // The final flush: the view of the last cycle, if it has not gone out yet.
        let view = views.borrow().clone();
        self.export(&view).await
    }

    /// Exports `view` unless it already went out; `Err` is the failure, also counted.
    async fn export(&mut self, view: &View) -> Result<(), String> {
        if view.cycle == 0 || view.cycle <= self.exported_cycle {
            return Ok(());
        }
        let Some(Prepared {
            request, pending, ..
        }) = self.take_request(view)
        else {
            return Ok(());
        };
        let resends = pending.resends();
        if resends > 0 {
            tracing::info!(
                points = resends,
                "OTLP: sending again, unchanged, points whose earlier send got no answer (a receiver that has them drops them as duplicates)"
            );
        }
        let started = Instant::now();
        let telemetry = self.telemetry.clone();
        let stats = &telemetry.otlp;
        let mut attempt = 1;
        // Once one attempt may have been stored, the request's fate stays unknown unless
        // a later attempt is accepted.
        let mut maybe_delivered = false;
        let result = loop {
            let sent = self.transport.send(&self.settings, &request).await;
            if let Err(e) = &sent {
                maybe_delivered |= e.maybe_delivered;
            }
            match sent {
                Ok(accepted) => break Ok(accepted),
                Err(e) if e.retryable && attempt < self.settings.max_attempts => {
                    // The receiver's own delay when it gave one, else the back-off.
                    let delay = e.retry_after.unwrap_or_else(|| retry::backoff(attempt));
                    tracing::debug!(attempt, ?delay, error = %crate::redact::text(&e.message), "OTLP export failed, retrying");
                    // Never past the next cycle: its view carries everything this one
                    // does (delta: its increase, or this very point again), and fresher.
                    let mut newer = self.views.clone();
                    let cycle = view.cycle;
                    let superseded = async move {
                        if newer.wait_for(|v| v.cycle > cycle).await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => attempt += 1,
                        _ = superseded => break Err(transport::SendError {
                            message: format!("{} (the next cycle came before the retry)", e.message),
                            ..e
                        }),
                    }
                }
                Err(e) => break Err(e),
            }
        };
        stats
            .last_duration_nanos
            .store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let outcome = match (&result, maybe_delivered) {
            (Ok(_), _) => Outcome::Accepted,
            (Err(_), true) => Outcome::Unknown,
            (Err(_), false) => Outcome::Refused,
        };
        {
            let mut outbox = lock(&self.outbox);
            outbox.encoder.settle(pending, outcome);
            outbox.busy = false;
        }
        match result {
            Ok(accepted) => {
                self.partial_success(&accepted);
                self.exported_cycle = view.cycle;
                stats.exports.fetch_add(1, Ordering::Relaxed);
                stats.set_last_result(Ok(view.cycle));
                Ok(())
            }
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                // A permanent error (400, 401/403, INVALID_ARGUMENT...) repeats until the
                // config or the receiver changes: say so, on the log and the status page.
                // Receivers echo requests (headers, URLs) in their error bodies.
                let reason = crate::redact::text(&e.message);
                let message = if e.retryable {
                    reason
                } else {
                    format!("not retried: {reason}")
                };
                tracing::warn!(error = %message, cycle = view.cycle, "OTLP export failed");
                stats.set_last_result(Err(message.clone()));
                Err(message)
            }
        }
    }
}
