//! Hot reload, as Prometheus does it: a new configuration is checked whole before any of
//! it applies, so a bad one leaves the running exporter as it was; a good one applies at
//! the next cycle, keeping what did not change (tracker state, the endpoint's listener,
//! the OTLP sink's delta state).

use std::sync::{Arc, Weak};

#[cfg(feature = "prometheus")]
use super::bind;
#[cfg(feature = "prometheus")]
use super::handle::Served;
use super::handle::Shared;
use super::{Builder, ConfigLoader, Error, SourceSpec};
use crate::pipeline::{NextSource, SourceChanges};
#[cfg(feature = "otlp")]
use crate::sinks::otlp::{DeltaBook, OtlpSink, Settings};
#[cfg(feature = "prometheus")]
use crate::sinks::prometheus::{ReloadFn, Security};
use crate::sources::{InProcess, Source, SourceConfig};

/// Gives `POST /-/reload` the loader's configuration to apply (when there is an endpoint).
pub(super) fn arm(handle: &super::Handle, loader: ConfigLoader) {
    #[cfg(feature = "prometheus")]
    if let Some(route) = &handle.shared.reload_route {
        let _ = route.set(trigger(Arc::downgrade(&handle.shared), loader));
    }
}

/// What `POST /-/reload` runs: the loader's configuration, applied. Holds the exporter
/// weakly, so the endpoint does not keep it alive.
#[cfg(feature = "prometheus")]
fn trigger(shared: Weak<Shared>, loader: ConfigLoader) -> ReloadFn {
    Arc::new(move || {
        let shared = shared.clone();
        let loader = loader.clone();
        Box::pin(async move {
            let Some(shared) = shared.upgrade() else {
                return Err("the exporter has stopped".to_string());
            };
            // A task of its own: a client that hangs up must not cut a reload short.
            let runtime = shared.runtime.clone();
            runtime
                .spawn(async move { shared.reload_recorded(loader()).await })
                .await
                .map_err(|e| format!("the reload panicked: {e}"))?
                .map_err(|e| e.to_string())
        })
    })
}

impl Shared {
    /// Applies `next` (or the reason there is none), logs the outcome on one line and
    /// records it for the self-metrics and the status page.
    pub(super) async fn reload_recorded(
        &self,
        next: Result<Builder, String>,
    ) -> Result<String, Error> {
        let result = match next {
            Ok(next) => self.reload(next).await,
            Err(reason) => Err(Error::Reload(reason)),
        };
        match &result {
            Ok(applied) => tracing::info!(applied = %applied, "config reloaded"),
            Err(e) => tracing::error!(error = %e, "config reload failed, the running config stays"),
        }
        self.telemetry
            .reload
            .record(result.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
        result
    }

    /// Checks everything `next` needs (its sources build, its TLS files and password
    /// hashes load, its address binds, its OTLP settings resolve), then applies it;
    /// returns a summary of what changed.
    async fn reload(&self, mut next: Builder) -> Result<String, Error> {
        let mut live = self.live.lock().await;
        if self
            .telemetry
            .shutting_down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(Error::Reload("the exporter is shutting down".into()));
        }
        // The loader and the mode of the running exporter are not a config's to change.
        next.loader = live.current.loader.clone();
        next.manual = live.current.manual;
        next.pipeline.read_only = live.current.pipeline.read_only;
        let plan = plan_sources(
            &live.current.sources,
            &next.sources,
            next.pipeline.read_only,
        )?;
        #[cfg(feature = "prometheus")]
        let endpoint = match (&live.server, &next.prometheus) {
            (None, None) => None,
            (Some(served), Some(config)) => {
                let security = Security::from_config(config).map_err(Error::Endpoint)?;
                let listener = if config.listen == served.config.listen {
                    None
                } else {
                    Some(bind(config.listen)?)
                };
                Some((security, listener, config.clone()))
            }
            _ => {
                return Err(Error::Reload(
                    "adding or removing the /metrics endpoint takes a restart".into(),
                ));
            }
        };
        #[cfg(feature = "otlp")]
        let settings = {
            let instance = next
                .instance
                .clone()
                .unwrap_or_else(|| live.instance.clone());
            let env = |name: &str| next.otlp_env.then(|| std::env::var(name).ok()).flatten();
            let settings =
                Settings::resolve(next.otlp.as_ref(), env, &instance).map_err(Error::Otlp)?;
            // The last check that can fail (an unusable CA file, say): before any change.
            if let Some(settings) = &settings {
                crate::sinks::otlp::validate(settings).map_err(Error::Otlp)?;
            }
            let env = |name: &str| {
                (live.current.otlp_env)
                    .then(|| std::env::var(name).ok())
                    .flatten()
            };
            let running = Settings::resolve(live.current.otlp.as_ref(), env, &live.instance)
                .ok()
                .flatten();
            settings.map(|s| (s, running))
        };
        let mut pipeline = self.pipeline.lock().await;
        // The first change: the OTLP sink, under the pipeline's lock so no view is published
        // between the old sink's last export and the new sink's start.
        #[cfg(feature = "otlp")]
        let otlp_note = match (live.otlp.take(), settings) {
            (Some(sink), Some((settings, running))) => {
                let timeout = live.current.shutdown_timeout;
                let (flushed, book) = sink.retire(timeout).await;
                if let Err(e) = flushed {
                    tracing::warn!(error = %e, "OTLP settings reloaded: the last flush with the old ones");
                }
                // The receiver sees new streams when what identifies them changed: their
                // deltas start afresh then. Otherwise every baseline carries over, so a new
                // endpoint, header or timeout neither resends nor loses an increase.
                let same_streams = running.is_some_and(|r| {
                    r.temporality == settings.temporality && r.resource == settings.resource
                });
                let book = if same_streams {
                    book
                } else {
                    DeltaBook::new(pipeline.max_staleness())
                };
                let sink = OtlpSink::spawn_with_book(settings, &mut pipeline, book)
                    .map_err(Error::Otlp)?;
                live.otlp = Some(sink);
                None
            }
            (None, Some((settings, _))) => {
                let sink = OtlpSink::spawn(settings, &mut pipeline).map_err(Error::Otlp)?;
                live.otlp = Some(sink);
                Some("OTLP push on".to_string())
            }
            (Some(sink), None) => {
                let timeout = live.current.shutdown_timeout;
                // Its last view goes out in the background; the reload does not wait.
                self.runtime.spawn(async move {
                    if let (Err(e), _) = sink.retire(timeout).await {
                        tracing::warn!(error = %e, "OTLP push off: last flush");
                    }
                });
                Some("OTLP push off".to_string())
            }
            (None, None) => None,
        };
        // From here on nothing fails: the cycle after this one runs the new config.
        pipeline.apply_settings(&next.pipeline);
        let changes = pipeline.replace_sources(plan);
        drop(pipeline);
        self.interval.send_if_modified(|period| {
            let changed = *period != next.pipeline.interval;
            *period = next.pipeline.interval;
            changed
        });
        #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
        let mut notes = vec![summary(&changes)];
        #[cfg(feature = "prometheus")]
        if let (Some((security, listener, config)), Some(served)) = (endpoint, &mut live.server) {
            served.endpoint.security.store(security);
            served.config = config.clone();
            if let Some((listener, addr)) = listener {
                notes.push(format!("/metrics moved to {addr}"));
                self.move_endpoint(served, listener, config, addr);
            }
        }
        #[cfg(feature = "otlp")]
        notes.extend(otlp_note);
        live.current = next;
        Ok(notes.join("; "))
    }

    /// Serves the endpoint on `listener` from now on; the old listener closes, and its open
    /// connections answer their request in flight before they close.
    #[cfg(feature = "prometheus")]
    fn move_endpoint(
        &self,
        served: &mut Served,
        listener: tokio::net::TcpListener,
        config: crate::sinks::prometheus::PrometheusConfig,
        addr: std::net::SocketAddr,
    ) {
        let mut moved = Served::new(listener, served.endpoint.clone(), config, addr);
        moved.start(&self.runtime, self.stop_server.subscribe());
        let old = std::mem::replace(served, moved);
        drop(old.retire_owned());
        if let Ok(mut local) = self.local_addr.lock() {
            *local = Some(addr);
        }
    }
}

#[cfg(feature = "prometheus")]
impl Served {
    /// Retires this endpoint and lets its task end on its own.
    fn retire_owned(mut self) -> Option<tokio::task::JoinHandle<()>> {
        self.retire()
    }
}

/// One line: what the reload did to the sources.
fn summary(c: &SourceChanges) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    format!(
        "sources added: {}; removed: {}; changed: {}; unchanged: {}",
        list(&c.added),
        list(&c.removed),
        list(&c.changed),
        c.kept.len()
    )
}

/// What each source of `next` becomes: kept as it runs, its tracker carried into a new
/// config, or new. A puller is built only where the source's kind keys (or the common
/// keys a puller reads) changed, or the source is new; one that cannot be built fails
/// the reload.
fn plan_sources(
    running: &[SourceSpec],
    next: &[SourceSpec],
    read_only: bool,
) -> Result<Vec<NextSource>, Error> {
    let mut plan = Vec::with_capacity(next.len());
    for spec in next {
        let (config, kind) = spec.identity();
        let old = running.iter().find(|o| {
            let (c, k) = o.identity();
            c.name == config.name && k == kind
        });
        let same_puller = old.is_some_and(|o| o.same_puller(spec));
        let source = if same_puller {
            None
        } else {
            Some(spec.build(read_only).map_err(|reason| Error::Source {
                name: config.name.clone(),
                reason,
            })?)
        };
        let unchanged = same_puller
            && old.is_some_and(|o| format!("{:?}", o.identity().0) == format!("{config:?}"));
        plan.push(NextSource {
            config: config.clone(),
            kind: kind.to_string(),
            source,
            unchanged,
        });
    }
    Ok(plan)
}

impl SourceSpec {
    /// Its config and its kind (with the name, its identity).
    fn identity(&self) -> (&SourceConfig, &str) {
        match self {
            SourceSpec::Entry(entry, _) => (&entry.config, entry.kind),
            SourceSpec::InProcess(config, _) => (config, "in_process"),
        }
    }

    /// A new puller for it.
    fn build(&self, read_only: bool) -> Result<Arc<dyn Source>, String> {
        match self {
            SourceSpec::Entry(entry, _) if read_only => entry.build_read_only(),
            SourceSpec::Entry(entry, _) => entry.build(),
            SourceSpec::InProcess(_, source) => Ok(Arc::new(InProcess::new(source.clone()))),
        }
    }

    /// True when `next` can keep this source's running puller: the same kind keys and the
    /// same common keys a puller reads (all but the pipeline's own: labels, rename, prefix,
    /// max_series), or the same in-process object.
    fn same_puller(&self, next: &SourceSpec) -> bool {
        let common = |c: &SourceConfig| {
            let mut c = c.clone();
            c.labels.clear();
            c.rename.clear();
            c.prefix = None;
            c.max_series = 0;
            format!("{c:?}")
        };
        match (self, next) {
            (SourceSpec::Entry(a, keys_a), SourceSpec::Entry(b, keys_b)) => {
                let kind_keys_same = match (keys_a, keys_b) {
                    (Some(x), Some(y)) => x == y,
                    // Built in code: its Debug form (secrets hidden) is all there is to compare.
                    (None, None) => {
                        format!("{:?}", a.kind_config) == format!("{:?}", b.kind_config)
                    }
                    _ => false,
                };
                kind_keys_same && common(&a.config) == common(&b.config)
            }
            (SourceSpec::InProcess(a, x), SourceSpec::InProcess(b, y)) => {
                Arc::as_ptr(x) as *const () == Arc::as_ptr(y) as *const () && common(a) == common(b)
            }
            _ => false,
        }
    }
}

impl super::Handle {
    /// Reconfigures the running exporter as `next` describes, as a reload does: `next` is
    /// checked whole first (sources build, TLS files and password hashes load, a new
    /// address binds, OTLP settings resolve), and on any problem nothing changes and the
    /// error says why. Otherwise it applies at the next cycle: sources with the same name
    /// and kind keep their tracker state (totals continue, nothing counted twice), sources
    /// gone leave the exposition, new ones start under their `initial` rule; the endpoint
    /// takes new credentials and TLS files at once and moves to a new address without
    /// dropping a scrape in flight; the OTLP sink keeps its delta state. Returns what
    /// changed, on one line. Either way the outcome is what
    /// `snapbridge_config_last_reload_successful` and the status page show.
    pub async fn reload(&self, next: Builder) -> Result<String, Error> {
        let shared = self.shared.clone();
        self.shared
            .runtime
            .spawn(async move { shared.reload_recorded(Ok(next)).await })
            .await
            .map_err(|e| Error::Panicked(format!("a reload: {e}")))?
    }

    /// Reloads what the loader given to [`Builder::reload_with`] makes now (the command
    /// re-reads its config file): what SIGHUP and `POST /-/reload` do. A loader error (an
    /// invalid file) is a failed reload like any other.
    pub async fn reload_config(&self) -> Result<String, Error> {
        let loader = self.shared.live.lock().await.current.loader.clone();
        let next = match loader {
            Some(load) => load(),
            None => Err("no config to reload: the exporter was built without a loader".into()),
        };
        let shared = self.shared.clone();
        self.shared
            .runtime
            .spawn(async move { shared.reload_recorded(next).await })
            .await
            .map_err(|e| Error::Panicked(format!("a reload: {e}")))?
    }
}
