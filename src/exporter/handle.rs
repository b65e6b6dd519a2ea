//! A running exporter: its clock, its endpoint and its OTLP sink, and how to stop them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::Error;
use crate::pipeline::{Pipeline, Telemetry, ViewCell};
#[cfg(feature = "otlp")]
use crate::sinks::otlp::OtlpSink;
#[cfg(feature = "prometheus")]
use crate::sinks::prometheus::{Endpoint, serve};
use crate::view::View;

/// The endpoint's bound listener and what it serves.
#[cfg(feature = "prometheus")]
pub(super) type Server = (tokio::net::TcpListener, Endpoint);

/// What [`Builder::spawn`](super::Builder::spawn) hands over to start.
pub(super) struct Parts {
    pub runtime: tokio::runtime::Handle,
    pub own: Option<tokio::runtime::Runtime>,
    pub pipeline: Pipeline,
    #[cfg(feature = "prometheus")]
    pub endpoint: Option<(Server, SocketAddr)>,
    #[cfg(feature = "otlp")]
    pub otlp: Option<OtlpSink>,
    pub manual: bool,
    pub shutdown_timeout: Duration,
}

/// A running exporter. [`Handle::shutdown`] stops it properly (a last cycle, a last OTLP
/// flush); dropping it stops it at once.
pub struct Handle {
    runtime: tokio::runtime::Handle,
    // The runtime started for the exporter when the caller had none.
    own: Option<tokio::runtime::Runtime>,
    pipeline: Arc<Mutex<Pipeline>>,
    views: ViewCell,
    telemetry: Arc<Telemetry>,
    local_addr: Option<SocketAddr>,
    manual: bool,
    shutdown_timeout: Duration,
    stop_clock: watch::Sender<bool>,
    stop_server: watch::Sender<bool>,
    clock: Option<JoinHandle<()>>,
    server: Option<JoinHandle<()>>,
    #[cfg(feature = "otlp")]
    otlp: Option<OtlpSink>,
}

impl Handle {
    /// Spawns the endpoint and, unless cycles are manual, the clock.
    pub(super) fn start(parts: Parts) -> Handle {
        let views = parts.pipeline.views();
        let telemetry = parts.pipeline.telemetry();
        let interval = parts.pipeline.interval();
        let pipeline = Arc::new(Mutex::new(parts.pipeline));
        let (stop_clock, clock_stopped) = watch::channel(false);
        let (stop_server, server_stopped) = watch::channel(false);
        #[cfg(feature = "prometheus")]
        let (server, local_addr) = match parts.endpoint {
            Some(((listener, endpoint), addr)) => {
                let stopped = wait_for(server_stopped);
                let task = parts.runtime.spawn(serve(listener, endpoint, stopped));
                (Some(task), Some(addr))
            }
            None => (None, None),
        };
        #[cfg(not(feature = "prometheus"))]
        let (server, local_addr) = {
            drop(server_stopped);
            (None, None)
        };
        let clock = (!parts.manual).then(|| {
            let task = clock(pipeline.clone(), interval, wait_for(clock_stopped));
            parts.runtime.spawn(task)
        });
        Handle {
            runtime: parts.runtime,
            own: parts.own,
            pipeline,
            views,
            telemetry,
            local_addr,
            manual: parts.manual,
            shutdown_timeout: parts.shutdown_timeout,
            stop_clock,
            stop_server,
            clock,
            server,
            #[cfg(feature = "otlp")]
            otlp: parts.otlp,
        }
    }

    /// Where `/metrics` is served (with the port chosen when port 0 was asked for), if it
    /// is.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The view the last cycle published (an empty one before the first cycle).
    pub fn view(&self) -> Arc<View> {
        self.views.load_full()
    }

    /// The counters the sinks keep (scrapes served, exports failed...).
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.telemetry.clone()
    }

    /// Runs one cycle now (pull, track, publish) and returns its view: the way to drive an
    /// exporter built with [`Builder::manual_cycles`](super::Builder::manual_cycles). A
    /// cycle of the clock that is due meanwhile waits for it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use snapbridge::core::{Sample, Snapshot};
    /// use snapbridge::sources::SourceConfig;
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), snapbridge::Error> {
    ///     let handle = snapbridge::Builder::new()
    ///         .without_prometheus()
    ///         .without_otlp()
    ///         .manual_cycles()
    ///         .source(SourceConfig::new("jobs"), Arc::new(|| {
    ///             Ok(Snapshot::from_iter([Sample::counter("jobs_done", 7u64)]))
    ///         }))
    ///         .spawn()?;
    ///     let view = handle.run_cycle().await?;
    ///     assert!(view.points.iter().any(|p| p.meta.family.exposed == "jobs_done_total"));
    ///     handle.shutdown().await
    /// }
    /// ```
    pub async fn run_cycle(&self) -> Result<Arc<View>, Error> {
        let pipeline = self.pipeline.clone();
        // On the exporter's runtime: the pulls are its tasks, whoever awaits this.
        self.runtime
            .spawn(async move { pipeline.lock().await.run_cycle().await })
            .await
            .map_err(|e| Error::Panicked(format!("a cycle: {e}")))
    }

    /// Stops the exporter: the clock stops, a last cycle runs (unless cycles are manual),
    /// the OTLP sink flushes it, then the endpoint closes. Each step is bounded by the
    /// shutdown timeout and every step runs; the first problem is the error, the others
    /// are logged.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let mut problems = Vec::new();
        self.telemetry
            .shutting_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // One deadline for the cycle under way and the last one: a pull that hangs until
        // its source's own timeout (30 s, say) must not hold the exit past shutdown_timeout.
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        let mut abandoned = false;
        let _ = self.stop_clock.send(true);
        if let Some(mut clock) = self.clock.take() {
            match tokio::time::timeout_at(deadline, &mut clock).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => problems.push(Error::Panicked(format!("the cycle clock: {e}"))),
                Err(_) => {
                    // Cancel-safe: a cycle changes no state before its pulls are all in.
                    clock.abort();
                    abandoned = true;
                }
            }
        }
        if abandoned {
            // The cycle under way used the whole budget: a last one would get no time.
            problems.push(Error::FinalCycleTimeout(self.shutdown_timeout));
        } else if !self.manual {
            let last = tokio::time::timeout_at(deadline, self.run_cycle()).await;
            match last {
                Ok(Ok(view)) => tracing::info!(cycle = view.cycle, "final cycle published"),
                Ok(Err(e)) => problems.push(e),
                Err(_) => problems.push(Error::FinalCycleTimeout(self.shutdown_timeout)),
            }
        }
        #[cfg(feature = "otlp")]
        if let Some(sink) = self.otlp.take() {
            if let Err(e) = sink.flush_and_stop(self.shutdown_timeout).await {
                problems.push(Error::OtlpFlush(e));
            }
            // What the last export delivered, so a restart does not send it again.
            if let Ok(pipeline) =
                tokio::time::timeout(self.shutdown_timeout, self.pipeline.lock()).await
            {
                pipeline.save_state();
            }
        }
        let _ = self.stop_server.send(true);
        if let Some(server) = self.server.take()
            && let Err(e) = server.await
        {
            problems.push(Error::Panicked(format!("the /metrics server: {e}")));
        }
        let mut problems = problems.into_iter();
        let first = problems.next();
        for later in problems {
            tracing::warn!(error = %later, "shutdown");
        }
        first.map_or(Ok(()), Err)
    }

    /// [`Handle::shutdown`] for code that is not async. Outside any runtime only (it
    /// blocks the thread): for an exporter that runs on a runtime of its own, or from a
    /// thread that is not one of its runtime's.
    pub fn shutdown_blocking(mut self) -> Result<(), Error> {
        match self.own.take() {
            Some(own) => {
                let result = own.block_on(self.shutdown());
                own.shutdown_background();
                result
            }
            None => {
                let runtime = self.runtime.clone();
                runtime.block_on(self.shutdown())
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.stop_clock.send(true);
        let _ = self.stop_server.send(true);
        if let Some(own) = self.own.take() {
            // Never blocks, so a handle may be dropped anywhere, async code included.
            own.shutdown_background();
        }
    }
}

/// Resolves once `true` is sent (or the sender is gone).
async fn wait_for(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Runs a cycle every `interval` until `stopped` resolves; a cycle under way finishes first
/// (or is aborted by [`Handle::shutdown`] at its deadline).
async fn clock(
    pipeline: Arc<Mutex<Pipeline>>,
    interval: Duration,
    stopped: impl std::future::Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let view = pipeline.lock().await.run_cycle().await;
                tracing::debug!(cycle = view.cycle, series = view.points.len(), "cycle published");
            }
            _ = &mut stopped => break,
        }
    }
}
