//! A running exporter: its clock, its endpoint and its OTLP sink, and how to stop them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::{Builder, Error};
use crate::pipeline::{Pipeline, Telemetry, ViewCell};
#[cfg(feature = "otlp")]
use crate::sinks::otlp::OtlpSink;
#[cfg(feature = "prometheus")]
use crate::sinks::prometheus::{Endpoint, PrometheusConfig, serve};
use crate::view::View;

/// The endpoint: bound, and serving once started.
#[cfg(feature = "prometheus")]
pub(super) struct Served {
    /// Where it listens (the port chosen, when port 0 was asked for).
    pub addr: SocketAddr,
    /// What it serves; a reload swaps its security and starts it on a new listener.
    pub endpoint: Endpoint,
    /// The `[prometheus]` settings it runs with.
    pub config: PrometheusConfig,
    listener: Option<tokio::net::TcpListener>,
    retire: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

#[cfg(feature = "prometheus")]
impl Served {
    /// A bound endpoint, not serving yet.
    pub fn new(
        listener: tokio::net::TcpListener,
        endpoint: Endpoint,
        config: PrometheusConfig,
        addr: SocketAddr,
    ) -> Self {
        Served {
            addr,
            endpoint,
            config,
            listener: Some(listener),
            retire: watch::channel(false).0,
            task: None,
        }
    }

    /// Serves until the exporter stops or this endpoint is retired (a reload moved it).
    pub fn start(&mut self, runtime: &tokio::runtime::Handle, stopped: watch::Receiver<bool>) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let retired = self.retire.subscribe();
        let stop = async move {
            tokio::select! {
                _ = wait_for(stopped) => {}
                _ = wait_for(retired) => {}
            }
        };
        let served = serve(listener, self.endpoint.clone(), stop);
        self.task = Some(runtime.spawn(served));
    }

    /// Stops accepting; the connections open finish their request in flight, then close.
    pub fn retire(&mut self) -> Option<JoinHandle<()>> {
        let _ = self.retire.send(true);
        self.task.take()
    }
}

/// What changes while the exporter runs: the configuration in force, the endpoint and the
/// OTLP sink. One lock, so reloads and the shutdown take turns.
pub(super) struct Live {
    /// The builder the exporter runs as (what the next reload is compared with).
    pub current: Builder,
    /// `service.instance.id`, as resolved at start (kept when a reload moves the port).
    #[cfg(feature = "otlp")]
    pub instance: String,
    #[cfg(feature = "prometheus")]
    pub server: Option<Served>,
    #[cfg(feature = "otlp")]
    pub otlp: Option<OtlpSink>,
}

/// What the handle, the clock and `POST /-/reload` share.
pub(super) struct Shared {
    pub runtime: tokio::runtime::Handle,
    pub pipeline: Arc<Mutex<Pipeline>>,
    pub telemetry: Arc<Telemetry>,
    pub live: Mutex<Live>,
    pub local_addr: std::sync::Mutex<Option<SocketAddr>>,
    /// The cycle period; the clock follows it.
    pub interval: watch::Sender<Duration>,
    /// Fires when the exporter stops: every endpoint closes.
    pub stop_server: watch::Sender<bool>,
    /// Where `POST /-/reload` finds what to run, once a loader arms it.
    #[cfg(feature = "prometheus")]
    pub reload_route: Option<Arc<std::sync::OnceLock<crate::sinks::prometheus::ReloadFn>>>,
}

/// What [`Builder::spawn`](super::Builder::spawn) hands over to start.
pub(super) struct Parts {
    pub runtime: tokio::runtime::Handle,
    pub own: Option<tokio::runtime::Runtime>,
    pub pipeline: Pipeline,
    #[cfg(feature = "prometheus")]
    pub endpoint: Option<Served>,
    #[cfg(feature = "otlp")]
    pub otlp: Option<OtlpSink>,
    #[cfg(feature = "otlp")]
    pub instance: String,
    pub builder: Builder,
}

/// A running exporter. [`Handle::shutdown`] stops it properly (a last cycle, a last OTLP
/// flush); dropping it stops it at once.
pub struct Handle {
    // The runtime started for the exporter when the caller had none.
    own: Option<tokio::runtime::Runtime>,
    pub(super) shared: Arc<Shared>,
    views: ViewCell,
    manual: bool,
    stop_clock: watch::Sender<bool>,
    clock: Option<JoinHandle<()>>,
}

impl Handle {
    /// Spawns the endpoint and, unless cycles are manual, the clock.
    pub(super) fn start(parts: Parts) -> Handle {
        let views = parts.pipeline.views();
        let telemetry = parts.pipeline.telemetry();
        let interval = parts.pipeline.interval();
        let manual = parts.builder.manual;
        let pipeline = Arc::new(Mutex::new(parts.pipeline));
        let (stop_clock, clock_stopped) = watch::channel(false);
        let (stop_server, server_stopped) = watch::channel(false);
        #[cfg(feature = "prometheus")]
        let (server, local_addr, reload_route) = {
            let mut server = parts.endpoint;
            let local_addr = server.as_ref().map(|s| s.addr);
            if let Some(served) = &mut server {
                served.start(&parts.runtime, server_stopped);
            }
            let reload_route = server.as_ref().map(|s| s.endpoint.reload.clone());
            (server, local_addr, reload_route)
        };
        #[cfg(not(feature = "prometheus"))]
        let local_addr = {
            drop(server_stopped);
            None
        };
        let (interval_tx, interval_rx) = watch::channel(interval);
        let shared = Arc::new(Shared {
            runtime: parts.runtime.clone(),
            pipeline: pipeline.clone(),
            telemetry: telemetry.clone(),
            live: Mutex::new(Live {
                current: parts.builder,
                #[cfg(feature = "otlp")]
                instance: parts.instance,
                #[cfg(feature = "prometheus")]
                server,
                #[cfg(feature = "otlp")]
                otlp: parts.otlp,
            }),
            local_addr: std::sync::Mutex::new(local_addr),
            interval: interval_tx,
            stop_server,
            #[cfg(feature = "prometheus")]
            reload_route,
        });
        // The start is the first successful load, as Prometheus counts it.
        telemetry.reload.record(Ok("started".into()));
        let clock = (!manual).then(|| {
            let task = clock(pipeline, interval_rx, wait_for(clock_stopped));
            parts.runtime.spawn(task)
        });
        Handle {
            own: parts.own,
            shared,
            views,
            manual,
            stop_clock,
            clock,
        }
    }

    /// Where `/metrics` is served (with the port chosen when port 0 was asked for), if it
    /// is.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.local_addr.lock().ok().and_then(|a| *a)
    }

    /// The view the last cycle published (an empty one before the first cycle).
    pub fn view(&self) -> Arc<View> {
        self.views.load_full()
    }

    /// The counters the sinks keep (scrapes served, exports failed...).
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.shared.telemetry.clone()
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
        let pipeline = self.shared.pipeline.clone();
        // On the exporter's runtime: the pulls are its tasks, whoever awaits this.
        self.shared
            .runtime
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
        self.shared
            .telemetry
            .shutting_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // A reload under way finishes first; none starts after this.
        let mut live = self.shared.live.lock().await;
        let shutdown_timeout = live.current.shutdown_timeout;
        // One deadline for the cycle under way and the last one: a pull that hangs until
        // its source's own timeout (30 s, say) must not hold the exit past shutdown_timeout.
        let deadline = tokio::time::Instant::now() + shutdown_timeout;
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
            problems.push(Error::FinalCycleTimeout(shutdown_timeout));
        } else if !self.manual {
            let last = tokio::time::timeout_at(deadline, self.run_cycle()).await;
            match last {
                Ok(Ok(view)) => tracing::info!(cycle = view.cycle, "final cycle published"),
                Ok(Err(e)) => problems.push(e),
                Err(_) => problems.push(Error::FinalCycleTimeout(shutdown_timeout)),
            }
        }
        #[cfg(feature = "otlp")]
        if let Some(sink) = live.otlp.take() {
            if let Err(e) = sink.flush_and_stop(shutdown_timeout).await {
                problems.push(Error::OtlpFlush(e));
            }
            // What the last export delivered, so a restart does not send it again.
            if let Ok(pipeline) =
                tokio::time::timeout(shutdown_timeout, self.shared.pipeline.lock()).await
            {
                pipeline.save_state();
            }
        }
        let _ = self.shared.stop_server.send(true);
        #[cfg(feature = "prometheus")]
        if let Some(server) = live.server.as_mut().and_then(Served::retire)
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
                let runtime = self.shared.runtime.clone();
                runtime.block_on(self.shutdown())
            }
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.stop_clock.send(true);
        let _ = self.shared.stop_server.send(true);
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
/// (or is aborted by [`Handle::shutdown`] at its deadline). A reload that changes the
/// interval restarts the period from the cycle after.
async fn clock(
    pipeline: Arc<Mutex<Pipeline>>,
    mut interval: watch::Receiver<Duration>,
    stopped: impl std::future::Future<Output = ()>,
) {
    let period = *interval.borrow_and_update();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let view = pipeline.lock().await.run_cycle().await;
                tracing::debug!(cycle = view.cycle, series = view.points.len(), "cycle published");
            }
            Ok(()) = interval.changed() => {
                let period = *interval.borrow_and_update();
                ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            }
            _ = &mut stopped => break,
        }
    }
}
