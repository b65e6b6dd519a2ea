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

mod config;
mod encode;
mod retry;
mod settings;
mod transport;

pub use config::{Compression, Headers, OtlpConfig, Protocol, Temporality};
pub use encode::Encoder;
pub use settings::{Settings, parse_pairs};

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::pipeline::Telemetry;
use crate::view::View;
use transport::Transport;

/// A running OTLP sink.
pub struct OtlpSink {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    reconfigure: tokio::sync::mpsc::UnboundedSender<(Settings, Transport)>,
}

impl OtlpSink {
    /// Starts pushing the views `views` publishes.
    pub fn spawn(
        settings: Settings,
        views: watch::Receiver<Arc<View>>,
        telemetry: Arc<Telemetry>,
    ) -> Result<OtlpSink, String> {
        let transport = Transport::new(&settings)?;
        tracing::info!(
            url = %settings.url,
            protocol = ?settings.protocol,
            temporality = ?settings.temporality,
            "OTLP export enabled"
        );
        telemetry.otlp.enabled.store(true, Ordering::Relaxed);
        let (stop, stop_rx) = watch::channel(false);
        let (reconfigure, reconfigured) = tokio::sync::mpsc::unbounded_channel();
        let worker = Worker {
            reconfigured,
            views: views.clone(),
            encoder: Encoder::new(settings.temporality, &settings.resource),
            settings,
            transport,
            telemetry,
            exported_cycle: 0,
            logged_rejections: HashSet::new(),
        };
        let task = tokio::spawn(worker.run(views, stop_rx));
        Ok(OtlpSink {
            stop,
            task,
            reconfigure,
        })
    }

    /// Exports with `settings` from the next export on (a config reload). Only the
    /// transport is rebuilt: the delta state of every series carries over, so a changed
    /// endpoint, header or timeout neither resends nor loses an increase. A changed
    /// temporality or resource starts the delta state afresh, as the receiver sees new
    /// streams then. `Err` (an unusable CA file, say) leaves the sink as it was.
    pub fn reconfigure(&self, settings: Settings) -> Result<(), String> {
        let transport = Transport::new(&settings)?;
        self.reconfigure
            .send((settings, transport))
            .map_err(|_| "the OTLP sink has stopped".to_string())
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
    // New settings from a reload, applied before the next export.
    reconfigured: tokio::sync::mpsc::UnboundedReceiver<(Settings, Transport)>,
    // The published views, to stop retrying once a newer one is out.
    views: watch::Receiver<Arc<View>>,
    settings: Settings,
    transport: Transport,
    encoder: Encoder,
    telemetry: Arc<Telemetry>,
    exported_cycle: u64,
    // Partial-success messages already logged: each distinct one is logged once.
    logged_rejections: HashSet<String>,
}

/// Distinct partial-success messages remembered; past this the set is cleared, so a
/// receiver that puts ids in its messages cannot grow it without bound.
const MAX_LOGGED_REJECTIONS: usize = 256;

impl Worker {
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
                message = %accepted.message,
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

    /// Switches to the newest settings a reload sent, keeping the encoder (and its delta
    /// state) unless what identifies the streams changed.
    fn apply_reconfigured(&mut self) {
        while let Ok((settings, transport)) = self.reconfigured.try_recv() {
            if settings.temporality != self.settings.temporality
                || settings.resource != self.settings.resource
            {
                self.encoder = Encoder::new(settings.temporality, &settings.resource);
            }
            tracing::info!(url = %settings.url, protocol = ?settings.protocol, "OTLP settings reloaded");
            self.settings = settings;
            self.transport = transport;
        }
    }

    /// Exports `view` unless it already went out; `Err` is the failure, also counted.
    async fn export(&mut self, view: &View) -> Result<(), String> {
        self.apply_reconfigured();
        if view.cycle == 0 || view.cycle <= self.exported_cycle {
            return Ok(());
        }
        let started = Instant::now();
        let (request, pending) = self.encoder.build(view);
        let request = bytes::Bytes::from(request);
        let telemetry = self.telemetry.clone();
        let stats = &telemetry.otlp;
        let mut attempt = 1;
        let result = loop {
            match self.transport.send(&self.settings, &request).await {
                Ok(accepted) => break Ok(accepted),
                Err(e) if e.retryable && attempt < self.settings.max_attempts => {
                    // The receiver's own delay when it gave one, else the back-off.
                    let delay = e.retry_after.unwrap_or_else(|| retry::backoff(attempt));
                    tracing::debug!(attempt, ?delay, error = %e.message, "OTLP export failed, retrying");
                    // Never past the next cycle: its view carries everything this one
                    // does (the encoder commits only what was accepted), and fresher.
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
        match result {
            Ok(accepted) => {
                self.partial_success(&accepted);
                self.encoder.commit(pending);
                self.exported_cycle = view.cycle;
                stats.exports.fetch_add(1, Ordering::Relaxed);
                stats.set_last_result(Ok(view.cycle));
                Ok(())
            }
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                // A permanent error (400, 401/403, INVALID_ARGUMENT...) repeats until the
                // config or the receiver changes: say so, on the log and the status page.
                let message = if e.retryable {
                    e.message
                } else {
                    format!("not retried: {}", e.message)
                };
                tracing::warn!(error = %message, cycle = view.cycle, "OTLP export failed");
                stats.set_last_result(Err(message.clone()));
                Err(message)
            }
        }
    }
}
