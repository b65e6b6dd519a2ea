//! The command line: `snapbridge [run]`, `snapbridge check`, `snapbridge once`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use snapbridge_core::{Number, TrackedValue};

use crate::Builder;
use crate::config::Config;
use crate::sinks::otlp::Protocol;
use crate::sinks::prometheus::{Format, render};
use crate::view::View;

/// Exports metrics that live in snapshots to Prometheus and OpenTelemetry.
#[derive(Parser, Debug)]
#[command(name = "snapbridge", version, about)]
pub struct Cli {
    /// TOML config file; without it, the embedded default runs a demo source.
    #[arg(long, short, global = true, env = "SNAPBRIDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Override `[prometheus] listen` (e.g. 127.0.0.1:9464).
    #[arg(long, global = true)]
    pub listen: Option<SocketAddr>,
    /// Push over OTLP to this endpoint (overrides `[otlp] endpoint`; enables the sink).
    #[arg(long, global = true)]
    pub otlp_endpoint: Option<String>,
    /// OTLP protocol: grpc or http/protobuf (overrides `[otlp] protocol`).
    #[arg(long, global = true, value_parser = ["grpc", "http/protobuf"])]
    pub otlp_protocol: Option<String>,
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pull on the interval, serve /metrics, until SIGTERM or Ctrl-C.
    ///
    /// SIGHUP or `POST /-/reload` re-read the config file: a valid one applies at the next
    /// cycle, an invalid one is logged and the running config stays.
    Run,
    /// Validate the config, pull each source once and print what would be exported.
    ///
    /// Reads the state file and batch_dir checkpoints but never writes them, so it is safe
    /// beside a running instance.
    Check,
    /// Run one cycle and print the exposition to stdout.
    ///
    /// Reads the state file and batch_dir checkpoints but never writes them, so it is safe
    /// beside a running instance.
    Once {
        /// Exposition format.
        #[arg(long, value_enum, default_value_t = OnceFormat::Text)]
        format: OnceFormat,
    },
}

/// Formats `once` can print.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnceFormat {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.
    Openmetrics,
    /// Length-delimited protobuf `MetricFamily` messages (binary).
    Protobuf,
}

/// What the command line says over the config file; a reload applies it again.
#[derive(Clone, Debug)]
struct Overrides {
    listen: Option<SocketAddr>,
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<String>,
}

impl Overrides {
    fn apply(&self, config: &mut Config) {
        if let Some(listen) = self.listen {
            config.prometheus.listen = listen;
        }
        if self.otlp_endpoint.is_some() || self.otlp_protocol.is_some() {
            let otlp = config.otlp.get_or_insert_with(Default::default);
            if let Some(endpoint) = &self.otlp_endpoint {
                otlp.endpoint = Some(endpoint.clone());
            }
            otlp.protocol = match self.otlp_protocol.as_deref() {
                Some("grpc") => Some(Protocol::Grpc),
                Some(_) => Some(Protocol::HttpProtobuf),
                None => otlp.protocol,
            };
        }
    }
}

/// The config file (or the embedded default) with the command line's overrides: at start,
/// and again on every reload.
fn load_config(path: Option<&Path>, overrides: &Overrides) -> Result<Config, String> {
    let mut config = match path {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::embedded_default(),
    };
    overrides.apply(&mut config);
    Ok(config)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let overrides = Overrides {
        listen: cli.listen,
        otlp_endpoint: cli.otlp_endpoint.clone(),
        otlp_protocol: cli.otlp_protocol.clone(),
    };
    let config = match load_config(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", crate::redact::text(&e));
            return ExitCode::from(2);
        }
    };
    // This process starts no children but `exec` commands: what they leave behind comes
    // here, to be killed and reaped, instead of living on under init.
    if let Err(e) = crate::sources::exec::leftovers::adopt_orphans() {
        tracing::warn!(error = %e, "exec commands' leftovers are found by their environment only");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run) {
            Command::Run => run(config, cli.config, overrides).await,
            Command::Check => check(config).await,
            Command::Once { format } => once(config, format).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", crate::redact::text(&e));
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| RedactingStderr)
        .try_init();
}

/// stderr for log lines, each one passed through [`crate::redact::text`]: whatever a
/// library logs (at trace level too) never carries a URL's user info or a known secret.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole event per write.
        let line = crate::redact::text(&String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

async fn run(config: Config, path: Option<PathBuf>, overrides: Overrides) -> Result<(), String> {
    let embedded = path.is_none();
    // Before anything runs: SIGHUP's default is to end the process.
    let hangups = hangups();
    let loader = move || {
        load_config(path.as_deref(), &overrides).map(|config| Builder::from_config(&config))
    };
    let handle = Builder::from_config(&config)
        .reload_with(loader)
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(shard) = config.shard {
        let own = config.own_sources().count();
        say(&format!(
            "snapbridge shard {}/{}: exporting {own} of {} sources",
            shard.index,
            shard.count,
            config.sources.len()
        ));
    }
    if embedded {
        say("snapbridge: no --config given, running the embedded demo source");
    }
    let scheme = if config.prometheus.serves_https() {
        "https"
    } else {
        "http"
    };
    if let Some(bound) = handle.local_addr() {
        say(&format!(
            "snapbridge serving {scheme}://{bound}/metrics (status page: {scheme}://{bound}/)"
        ));
    }
    // A SIGHUP re-reads the config file, as `POST /-/reload` does; the outcome is logged.
    let reloads = async {
        let Some(mut hangups) = hangups else {
            return std::future::pending::<()>().await;
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            let _ = handle.reload_config().await;
        }
    };
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = reloads => {}
    }
    // The last pull and the last flush are each bounded by `shutdown_timeout`; what did
    // not make it is reported, and the exit is still clean.
    match handle.shutdown().await {
        Ok(()) => tracing::info!("stopped"),
        Err(e) => tracing::warn!(error = %e, "stopped"),
    }
    let left = tokio::task::spawn_blocking(|| {
        crate::sources::exec::leftovers::sweep_at_exit(std::time::Duration::from_secs(1))
    })
    .await
    .unwrap_or(0);
    if left > 0 {
        tracing::info!(
            killed = left,
            "processes left by exec commands killed at exit"
        );
    }
    Ok(())
}

/// Prints a line on stdout; a closed stdout (a supervisor that stopped reading) must not
/// take the exporter down, as `println!` would by panicking.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// SIGHUP, caught (a reload) instead of ending the process; `None` where there is none.
#[cfg(unix)]
fn hangups() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP not caught: reload with POST /-/reload");
            None
        }
    }
}

/// SIGHUP, caught (a reload) instead of ending the process; `None` where there is none.
#[cfg(not(unix))]
fn hangups() -> Option<Never> {
    None
}

/// Stands in for a signal stream where there is none.
#[cfg(not(unix))]
enum Never {}

#[cfg(not(unix))]
impl Never {
    async fn recv(&mut self) -> Option<()> {
        match *self {}
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested: last pull, then exit");
}

/// One cycle of the config's sources, nothing served or pushed.
async fn one_cycle(config: &Config) -> Result<Arc<View>, String> {
    let handle = Builder::from_config(config)
        .without_prometheus()
        .without_otlp()
        // A one-shot run beside a running instance must not overwrite its files.
        .read_only()
        .manual_cycles()
        .spawn()
        .map_err(|e| e.to_string())?;
    let view = handle.run_cycle().await.map_err(|e| e.to_string())?;
    handle.shutdown().await.map_err(|e| e.to_string())?;
    Ok(view)
}

async fn once(config: Config, format: OnceFormat) -> Result<(), String> {
    let view = one_cycle(&config).await?;
    let format = match format {
        OnceFormat::Text => Format::Text,
        OnceFormat::Openmetrics => Format::OpenMetrics,
        OnceFormat::Protobuf => Format::Protobuf,
    };
    let body = render(&view, format, 1 << 16);
    use std::io::Write;
    std::io::stdout()
        .write_all(&body)
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// The `[otlp]` sink checked as `run` would set it up (the file, then the environment).
fn check_otlp(config: &Config) -> Result<Option<String>, String> {
    let env = |name: &str| std::env::var(name).ok();
    let settings = crate::sinks::otlp::Settings::resolve(config.otlp.as_ref(), env, "check")?;
    let Some(settings) = settings else {
        return Ok(None);
    };
    crate::sinks::otlp::validate(&settings)?;
    Ok(Some(settings.shown))
}

async fn check(config: Config) -> Result<(), String> {
    // A sink `run` would refuse fails `check` too, before anything is pulled.
    let otlp = check_otlp(&config).map_err(|e| format!("sink otlp: {e}"))?;
    let view = one_cycle(&config).await?;
    println!(
        "config ok: {} source(s), interval {}, /metrics on {}",
        config.sources.len(),
        humantime::format_duration(config.interval.0),
        config.prometheus.listen
    );
    if let Some(url) = otlp {
        println!("sink otlp: pushes to {url}");
    }
    let mut down = Vec::new();
    for s in &view.sources {
        match &s.last_error {
            None if s.series == 0 => println!("source {}: up, no metrics", s.name),
            None => println!("source {}: up, {} series", s.name, s.series),
            Some(e) => {
                println!("source {}: DOWN: {}", s.name, crate::redact::text(e));
                down.push(s.name.clone());
            }
        }
    }
    let mut rows = vec![[
        "SOURCE".to_string(),
        "METRIC".into(),
        "TYPE".into(),
        "LABELS".into(),
        "VALUE".into(),
    ]];
    // Bridged series come first in a view, self-metrics after them.
    let bridged: usize = view.sources.iter().map(|s| s.series).sum();
    for p in &view.points[..bridged.min(view.points.len())] {
        let pairs = p.meta.labels();
        let source = pairs
            .iter()
            .find(|(k, _)| k == "source")
            .map(|(_, v)| v.clone());
        let Some(source) = source else { continue };
        let labels: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "source")
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let value = match &p.value {
            TrackedValue::Counter { total, .. } => number(*total),
            TrackedValue::Gauge(g) => g.to_string(),
            TrackedValue::Histogram { total, .. } => {
                format!("count={} sum={}", total.count(), total.sum())
            }
        };
        rows.push([
            source,
            p.meta.family.exposed.clone(),
            p.meta.family.kind.as_str().to_string(),
            labels.join(","),
            value,
        ]);
    }
    print_table(&rows);
    if down.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} source(s) failed to pull: {}",
            down.len(),
            view.sources.len(),
            down.join(", ")
        ))
    }
}

fn number(n: Number) -> String {
    match n {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => f.to_string(),
        other => other.as_f64().to_string(),
    }
}

fn print_table(rows: &[[String; 5]]) {
    let mut widths = [0usize; 5];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
