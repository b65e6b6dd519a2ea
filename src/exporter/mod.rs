//! The embedding API: a [`Builder`] that takes the sources, the `/metrics` endpoint, the
//! OTLP push and the state file, and starts an exporter that returns a [`Handle`].
//!
//! It is the one way snapbridge is put together: the `snapbridge` command fills it from a
//! config file ([`Builder::from_config`]), an application fills it in code, and the tests
//! do either and drive the cycles by hand ([`Builder::manual_cycles`]).
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use snapbridge::core::{Sample, Snapshot};
//! use snapbridge::sources::SourceConfig;
//!
//! let requests = Arc::new(AtomicU64::new(0));
//! let counted = requests.clone();
//! let handle = snapbridge::Builder::new()
//!     .listen("127.0.0.1:0".parse().unwrap())
//!     .source(SourceConfig::new("app"), Arc::new(move || {
//!         let mut snapshot = Snapshot::new();
//!         snapshot.push(Sample::counter("requests", counted.load(Ordering::Relaxed)));
//!         Ok(snapshot)
//!     }))
//!     .spawn()?; // no tokio runtime here: the exporter runs on threads of its own
//! requests.fetch_add(3, Ordering::Relaxed);
//! let addr = handle.local_addr().expect("serving /metrics");
//! println!("scrape http://{addr}/metrics");
//! handle.shutdown_blocking()?; // a last cycle, a last OTLP flush (none here)
//! # Ok::<(), snapbridge::Error>(())
//! ```

mod error;
mod handle;
mod reload;

pub use error::Error;
pub use handle::Handle;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use snapbridge_core::MetricsSource;

use crate::config::Config;
use crate::pipeline::{Pipeline, PipelineSettings};
#[cfg(feature = "otlp")]
use crate::sinks::otlp::{OtlpConfig, OtlpSink, Settings};
#[cfg(feature = "prometheus")]
use crate::sinks::prometheus::{Endpoint, PrometheusConfig, Renderer, Security};
use crate::sources::{SourceConfig, SourceEntry};

/// How long the last cycle and the last OTLP flush may each take at shutdown, unless set.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A source as the builder holds it.
#[derive(Clone)]
enum SourceSpec {
    /// A configured kind (`http`, `file`...), with its kind keys as written when it was read
    /// from a config file (what a reload compares, secrets included).
    Entry(SourceEntry, Option<String>),
    /// An application's own metrics object.
    InProcess(SourceConfig, Arc<dyn MetricsSource>),
}

/// Makes the configuration a reload applies: `POST /-/reload` and
/// [`Handle::reload_config`] call it (the `snapbridge` command re-reads its file); `Err`
/// says why, on one line, and the running configuration stays.
pub type ConfigLoader = Arc<dyn Fn() -> Result<Builder, String> + Send + Sync>;

/// Everything an exporter is made of; [`Builder::spawn`] starts it.
///
/// By default: a 10 s cycle, `/metrics` on `127.0.0.1:9464`, OTLP only when the standard
/// `OTEL_EXPORTER_OTLP_*` variables ask for it, no state file, no sources.
#[derive(Clone)]
pub struct Builder {
    pipeline: PipelineSettings,
    shutdown_timeout: Duration,
    sources: Vec<SourceSpec>,
    #[cfg(feature = "prometheus")]
    prometheus: Option<PrometheusConfig>,
    #[cfg(feature = "prometheus")]
    stale_after: Option<Duration>,
    #[cfg(feature = "otlp")]
    otlp: Option<OtlpConfig>,
    #[cfg(feature = "otlp")]
    otlp_env: bool,
    #[cfg(feature = "otlp")]
    instance: Option<String>,
    manual: bool,
    loader: Option<ConfigLoader>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// An exporter with the defaults and no sources.
    pub fn new() -> Self {
        Builder {
            pipeline: PipelineSettings::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            sources: Vec::new(),
            #[cfg(feature = "prometheus")]
            prometheus: Some(PrometheusConfig::default()),
            #[cfg(feature = "prometheus")]
            stale_after: None,
            #[cfg(feature = "otlp")]
            otlp: None,
            #[cfg(feature = "otlp")]
            otlp_env: true,
            #[cfg(feature = "otlp")]
            instance: None,
            manual: false,
            loader: None,
        }
    }

    /// Everything a config file says: the global keys, the sources of this instance's
    /// shard, `[prometheus]` and `[otlp]`.
    ///
    /// ```
    /// let config = snapbridge::config::Config::parse(
    ///     "interval = \"1s\"\n[[source]]\nname = \"demo\"\nkind = \"demo\"\n",
    ///     "example.toml",
    /// )?;
    /// let builder = snapbridge::Builder::from_config(&config)
    ///     .listen("127.0.0.1:0".parse().unwrap());
    /// # let _ = builder;
    /// # Ok::<(), snapbridge::config::ConfigError>(())
    /// ```
    pub fn from_config(config: &Config) -> Self {
        let mut builder = Builder::new();
        builder.pipeline = config.pipeline_settings();
        builder.shutdown_timeout = config.shutdown_timeout.0;
        #[cfg(feature = "prometheus")]
        {
            builder.prometheus = Some(config.prometheus.clone());
        }
        #[cfg(feature = "otlp")]
        {
            builder.otlp = config.otlp.clone();
            builder.instance = config.instance.clone();
        }
        builder.sources = config
            .own_sources()
            .map(|entry| {
                let kind_keys = config.kind_keys(&entry.config.name).map(str::to_string);
                SourceSpec::Entry(entry.clone(), kind_keys)
            })
            .collect();
        builder
    }

    /// How a reload gets its new configuration: a function that makes the builder the
    /// exporter should become (sources, `/metrics`, OTLP, interval). With it, `POST
    /// /-/reload` and [`Handle::reload_config`] work; the command passes one that re-reads
    /// its config file. What this builder says about its loader is ignored.
    pub fn reload_with(
        mut self,
        loader: impl Fn() -> Result<Builder, String> + Send + Sync + 'static,
    ) -> Self {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// The period of the pull cycle.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.pipeline.interval = interval;
        self
    }

    /// The snapshot timeout of sources that set none (at most the interval, the default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.pipeline.timeout = Some(timeout);
        self
    }

    /// How long the state of a series absent from its source is kept (10 minutes).
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.pipeline.max_staleness = max_staleness;
        self
    }

    /// Where the trackers' state is kept between runs, so a restart neither double counts
    /// nor loses what the sources counted meanwhile.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pipeline.state_file = Some(path.into());
        self
    }

    /// How source names become metric and label names (Prometheus' OTLP
    /// `translation_strategy` names), on `/metrics` and over OTLP alike.
    pub fn translation_strategy(mut self, strategy: crate::names::TranslationStrategy) -> Self {
        self.pipeline.translation_strategy = strategy;
        self
    }

    /// Read the state file and the sources' checkpoints (`batch_dir`) but never write them:
    /// what `check` and `once` use, so a one-shot run beside a running instance leaves that
    /// instance's files as they were.
    pub fn read_only(mut self) -> Self {
        self.pipeline.read_only = true;
        self
    }

    /// How long the last cycle and the last OTLP flush may each take at shutdown (5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Adds an application's own metrics object, configured by `config` (its name, rules
    /// and labels). Its `snapshot()` runs on a blocking thread, with the source's timeout.
    pub fn source(mut self, config: SourceConfig, source: Arc<dyn MetricsSource>) -> Self {
        self.sources.push(SourceSpec::InProcess(config, source));
        self
    }

    /// Adds a configured source kind (what a `[[source]]` table describes).
    pub fn configured_source(mut self, entry: SourceEntry) -> Self {
        self.sources.push(SourceSpec::Entry(entry, None));
        self
    }

    /// Serves `/metrics` with these settings (address, TLS, basic auth).
    #[cfg(feature = "prometheus")]
    pub fn prometheus(mut self, config: PrometheusConfig) -> Self {
        self.prometheus = Some(config);
        self
    }

    /// Serves `/metrics` on `addr` (port 0: any free port, see [`Handle::local_addr`]).
    #[cfg(feature = "prometheus")]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.prometheus.get_or_insert_with(Default::default).listen = addr;
        self
    }

    /// No `/metrics` endpoint: nothing is rendered for it either.
    #[cfg_attr(not(feature = "prometheus"), allow(unused_mut))]
    pub fn without_prometheus(mut self) -> Self {
        #[cfg(feature = "prometheus")]
        {
            self.prometheus = None;
        }
        self
    }

    /// `/healthz` fails when the last cycle is older than this (default: three intervals
    /// and 30 s).
    #[cfg(feature = "prometheus")]
    pub fn healthz_stale_after(mut self, age: Duration) -> Self {
        self.stale_after = Some(age);
        self
    }

    /// Pushes over OTLP with these settings; the `OTEL_EXPORTER_OTLP_*` variables fill
    /// what they leave out, unless [`Builder::otlp_from_env`] turns that off.
    #[cfg(feature = "otlp")]
    pub fn otlp(mut self, config: OtlpConfig) -> Self {
        self.otlp = Some(config);
        self
    }

    /// Whether the standard `OTEL_*` variables count (they do by default, as in any
    /// OpenTelemetry SDK): an `OTEL_EXPORTER_OTLP_ENDPOINT` alone turns the push on.
    #[cfg(feature = "otlp")]
    pub fn otlp_from_env(mut self, read: bool) -> Self {
        self.otlp_env = read;
        self
    }

    /// No OTLP push, whatever the environment says.
    #[cfg_attr(not(feature = "otlp"), allow(unused_mut))]
    pub fn without_otlp(mut self) -> Self {
        #[cfg(feature = "otlp")]
        {
            self.otlp = None;
            self.otlp_env = false;
        }
        self
    }

    /// This instance's identity over OTLP (`service.instance.id`); default
    /// `<host>:<port of /metrics>`.
    #[cfg(feature = "otlp")]
    pub fn instance(mut self, id: impl Into<String>) -> Self {
        self.instance = Some(id.into());
        self
    }

    /// No clock: a cycle runs only when [`Handle::run_cycle`] is called (tests, one-shot
    /// commands), and [`Handle::shutdown`] runs none of its own.
    pub fn manual_cycles(mut self) -> Self {
        self.manual = true;
        self
    }

    /// Starts the exporter on the tokio runtime this is called from, or, outside any, on a
    /// runtime of its own (two threads, stopped with the handle). The endpoint is listening
    /// when this returns; the first cycle runs at once.
    pub fn spawn(self) -> Result<Handle, Error> {
        let (runtime, own) = match tokio::runtime::Handle::try_current() {
            Ok(current) => (current, None),
            Err(_) => {
                let own = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("snapbridge")
                    .enable_all()
                    .build()
                    .map_err(Error::Runtime)?;
                (own.handle().clone(), Some(own))
            }
        };
        // Listeners, sinks and their tasks belong to that runtime.
        let _entered = runtime.enter();
        let mut pipeline = Pipeline::new(self.pipeline.clone());
        for source in &self.sources {
            match source {
                SourceSpec::Entry(entry, _) => {
                    pipeline.add_entry(entry).map_err(|reason| Error::Source {
                        name: entry.config.name.clone(),
                        reason,
                    })?
                }
                SourceSpec::InProcess(config, source) => {
                    pipeline.add_metrics_source(config, source.clone())
                }
            }
        }
        #[cfg(feature = "prometheus")]
        let endpoint = match &self.prometheus {
            Some(config) => {
                pipeline.add_publish_hook(Box::new(Renderer::new()));
                let stale_after = self
                    .stale_after
                    .unwrap_or(self.pipeline.interval * 3 + Duration::from_secs(30));
                let endpoint = Endpoint::new(
                    pipeline.views(),
                    pipeline.telemetry(),
                    Security::from_config(config).map_err(Error::Endpoint)?,
                    stale_after,
                );
                let (listener, addr) = bind(config.listen)?;
                Some(handle::Served::new(
                    listener,
                    endpoint,
                    config.clone(),
                    addr,
                ))
            }
            None => None,
        };
        #[cfg(feature = "otlp")]
        let (otlp, instance) = {
            #[cfg(feature = "prometheus")]
            let local_addr = endpoint.as_ref().map(|served| served.addr);
            #[cfg(not(feature = "prometheus"))]
            let local_addr = None;
            let instance = self
                .instance
                .clone()
                .unwrap_or_else(|| instance_id(local_addr));
            let env = |name: &str| self.otlp_env.then(|| std::env::var(name).ok()).flatten();
            let otlp = Settings::resolve(self.otlp.as_ref(), env, &instance)
                .map_err(Error::Otlp)?
                .map(|settings| OtlpSink::spawn(settings, &mut pipeline))
                .transpose()
                .map_err(Error::Otlp)?;
            (otlp, instance)
        };
        let loader = self.loader.clone();
        let handle = Handle::start(handle::Parts {
            runtime,
            own,
            pipeline,
            #[cfg(feature = "prometheus")]
            endpoint,
            #[cfg(feature = "otlp")]
            otlp,
            #[cfg(feature = "otlp")]
            instance,
            builder: self,
        });
        if let Some(loader) = loader {
            reload::arm(&handle, loader);
        }
        Ok(handle)
    }
}

/// Binds the endpoint's listener, here and not in a task, so a taken port is the caller's
/// error (the start's, or the reload's that moves the endpoint).
#[cfg(feature = "prometheus")]
fn bind(listen: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
    let listen_error = |error| Error::Listen {
        addr: listen,
        error,
    };
    let listener = std::net::TcpListener::bind(listen).map_err(listen_error)?;
    listener.set_nonblocking(true).map_err(listen_error)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    Ok((listener, addr))
}

/// A stable identity for this instance: the host name and the port it serves on, so
/// several snapbridges feeding one backend never collide (`service.instance.id`).
#[cfg(feature = "otlp")]
fn instance_id(listen: Option<SocketAddr>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    match listen {
        Some(addr) => format!("{host}:{}", addr.port()),
        None => host,
    }
}
