//! The pipeline: one clock that pulls every source, tracks, and publishes one view.
//!
//! ```text
//! source.pull() --> normalize --> DeltaTracker --> View (Arc, swapped) --> sinks
//! ```
//!
//! Each cycle pulls all sources concurrently (each with its own timeout), applies the
//! results in config order, adds snapbridge's own metrics, hands the new view to each
//! sink's [`PublishHook`] (the Prometheus sink attaches what its scrapes render from) and
//! swaps it in. A source error never stops the loop.

mod drops;
pub mod families;
pub mod identities;
pub mod normalize;
pub mod selfmetrics;
pub mod source_runtime;
mod source_set;
mod state_file;

pub use selfmetrics::{
    CycleFigures, REJECT_REASONS, ReloadOutcome, ReloadStats, SinkStats, Telemetry,
};
pub use source_set::{NextSource, SourceChanges};

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use snapbridge_core::{MetricsSource, SourceError};
use tokio::task::JoinSet;

use crate::blocking::off_the_reactor;
use crate::names::TranslationStrategy;
use crate::sources::{InProcess, Pulled, Source, SourceConfig, SourceEntry};
use crate::view::{Attachments, View};
use families::FamilyTable;
use selfmetrics::SelfMetrics;
use source_runtime::SourceRuntime;

/// One source's pull: its snapshot or error, and how long it took.
pub type PullResult = (Result<Pulled, SourceError>, Duration);

/// Where the current view lives; sinks load it, the pipeline swaps it.
pub type ViewCell = Arc<ArcSwap<View>>;

/// A sink's part in publishing: called with each new view before anyone can read it, so
/// what the sink derives from a view (its rendered body, say) is made once per cycle, on
/// the pipeline's side of the swap, and attached to the view
/// ([`View::attachments`](crate::view::View::attachments)). Only configured sinks add a
/// hook, so a sink that is not there costs nothing.
pub trait PublishHook: Send + Sync {
    /// Derives what the sink needs from `view` and attaches it.
    fn on_publish(&mut self, view: &mut View);

    /// True once the sink is gone for good (a reload replaced it): the pipeline drops the
    /// hook then, so replaced sinks do not pile up.
    fn retired(&self) -> bool {
        false
    }
}

/// A sink's state kept in the state file beside the trackers', written in the same atomic
/// write each cycle (after the sinks' hooks ran for the new view, before the push sinks
/// are told of it): what a push sink must not forget across a restart.
pub trait DurableState: Send + Sync {
    /// Appends the state as lines of text (no line may start with `@`).
    fn save(&self, out: &mut String);
}

/// How the pipeline runs.
#[derive(Clone, Debug)]
pub struct PipelineSettings {
    /// Period of the pull cycle.
    pub interval: Duration,
    /// Snapshot timeout of a source that sets none (at most the interval; the interval when
    /// `None`).
    pub timeout: Option<Duration>,
    /// How long the state of a series absent from its source is kept.
    pub max_staleness: Duration,
    /// Where the trackers' state is kept between runs (none: it is not kept).
    pub state_file: Option<std::path::PathBuf>,
    /// Read the state file and the sources' checkpoints, never write them: for one-shot
    /// commands run beside a running instance, whose files they must not overwrite.
    pub read_only: bool,
    /// How source names become metric and label names.
    pub translation_strategy: TranslationStrategy,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            interval: Duration::from_secs(10),
            timeout: None,
            max_staleness: Duration::from_secs(600),
            state_file: None,
            read_only: false,
            translation_strategy: TranslationStrategy::default(),
        }
    }
}

impl PipelineSettings {
    /// The timeout of a source that sets none.
    pub fn default_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval).min(self.interval)
    }
}

/// The pull-track-publish loop and all state it keeps between cycles.
pub struct Pipeline {
    interval: Duration,
    default_timeout: Duration,
    max_staleness: Duration,
    sources: Vec<SourceRuntime>,
    families: FamilyTable,
    self_metrics: SelfMetrics,
    telemetry: Arc<Telemetry>,
    published: ViewCell,
    // Push sinks wait on this for each new view; `/metrics` reads `published` instead.
    notify: tokio::sync::watch::Sender<Arc<View>>,
    figures: CycleFigures,
    hooks: Vec<Box<dyn PublishHook>>,
    state_file: Option<std::path::PathBuf>,
    // Nothing is written: no state file, no checkpoints (see `PipelineSettings::read_only`).
    read_only: bool,
    // Saved state read at start, handed to each source as it is added.
    saved_state: std::collections::HashMap<String, String>,
    translation_strategy: TranslationStrategy,
    // Sinks' saved state read at start, by section name, until each sink takes its own.
    saved_sinks: std::collections::HashMap<String, String>,
    // Sinks' state written with the trackers', by section name.
    durable: Vec<(String, Box<dyn DurableState>)>,
}

impl Pipeline {
    /// A pipeline without sources yet.
    pub fn new(settings: PipelineSettings) -> Self {
        let mut pipeline = Pipeline {
            interval: settings.interval,
            default_timeout: settings.default_timeout(),
            max_staleness: settings.max_staleness,
            sources: Vec::new(),
            families: FamilyTable::with_strategy(settings.translation_strategy),
            self_metrics: SelfMetrics::default(),
            telemetry: Arc::new(Telemetry::default()),
            published: Arc::new(ArcSwap::from_pointee(View::empty())),
            notify: tokio::sync::watch::Sender::new(Arc::new(View::empty())),
            figures: CycleFigures::default(),
            hooks: Vec::new(),
            state_file: settings.state_file,
            read_only: settings.read_only,
            saved_state: std::collections::HashMap::new(),
            translation_strategy: settings.translation_strategy,
            saved_sinks: std::collections::HashMap::new(),
            durable: Vec::new(),
        };
        pipeline.read_state();
        pipeline
    }

    /// Reads the state file, if one is configured; a bad file is reported and ignored.
    fn read_state(&mut self) {
        let Some(path) = self.state_file.clone() else {
            return;
        };
        match state_file::load(&path) {
            Ok(loaded) => {
                self.saved_state = loaded.sources.into_iter().collect();
                self.saved_sinks = loaded.sinks.into_iter().collect();
            }
            Err(e) => {
                self.telemetry
                    .state_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(error = %e, "state file not used");
            }
        }
    }

    /// Saves the trackers' and the sinks' state, if a state file is configured (each
    /// cycle does; shutdown again once the last export is settled).
    pub fn save_state(&self) {
        if let Some(path) = &self.state_file
            && !self.read_only
            && let Err(e) = state_file::save(path, &self.sources, &self.durable)
        {
            self.telemetry
                .state_errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(error = %e, "state not saved");
        }
    }

    /// Adds a configured source (a `[[source]]` entry), built now; `Err` says why it could
    /// not be built.
    pub fn add_entry(&mut self, entry: &SourceEntry) -> Result<(), String> {
        let source = if self.read_only {
            entry.build_read_only()?
        } else {
            entry.build()?
        };
        self.add_source(&entry.config, entry.kind, source);
        Ok(())
    }

    /// Adds a source of kind `kind` (shown on the status page), typed and labelled by
    /// `config`.
    pub fn add_source(&mut self, config: &SourceConfig, kind: &str, source: Arc<dyn Source>) {
        let mut runtime = SourceRuntime::new(
            config,
            kind,
            source,
            self.default_timeout,
            self.max_staleness,
        );
        runtime.normalizer.set_strategy(self.translation_strategy);
        if let Some(saved) = self.saved_state.remove(&config.name) {
            // Checked when the file was read, so this cannot fail.
            match runtime.restore_state(&saved) {
                Ok(n) => {
                    tracing::info!(source = %config.name, series = n, "tracker state restored")
                }
                Err(e) => tracing::warn!(source = %config.name, error = %e, "state not restored"),
            }
        }
        self.sources.push(runtime);
    }

    /// Applies a reloaded config's cycle settings. The interval and default timeout hold
    /// for sources added from now on (the clock follows the interval on its own); a
    /// changed state file is not switched to while running, since its saved state was
    /// read at start.
    pub fn apply_settings(&mut self, settings: &PipelineSettings) {
        self.interval = settings.interval;
        self.default_timeout = settings.default_timeout();
        self.max_staleness = settings.max_staleness;
        if settings.state_file != self.state_file {
            tracing::warn!(
                running = ?self.state_file,
                configured = ?settings.state_file,
                "reload: a changed state_file takes effect at the next start"
            );
        }
    }

    /// The names of the sources, in pull order.
    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name().to_string()).collect()
    }

    /// Adds an in-process [`MetricsSource`] (an application's own metrics object).
    pub fn add_metrics_source(&mut self, config: &SourceConfig, source: Arc<dyn MetricsSource>) {
        self.add_source(config, "in_process", Arc::new(InProcess::new(source)));
    }

    /// Keeps a sink's state in the state file under `section`, from the next cycle on.
    pub fn add_durable_state(&mut self, section: &str, state: Box<dyn DurableState>) {
        self.durable.retain(|(name, _)| name != section);
        self.durable.push((section.to_string(), state));
    }

    /// The state a sink saved under `section` in the state file read at start, once.
    pub fn take_saved_sink_state(&mut self, section: &str) -> Option<String> {
        self.saved_sinks.remove(section)
    }

    /// How long the state of a series absent from its source is kept.
    pub fn max_staleness(&self) -> Duration {
        self.max_staleness
    }

    /// Adds a sink's hook, called with every view from the next one on.
    pub fn add_publish_hook(&mut self, hook: Box<dyn PublishHook>) {
        self.hooks.push(hook);
    }

    /// The cell holding the current view, for sinks.
    pub fn views(&self) -> ViewCell {
        self.published.clone()
    }

    /// A receiver that sees every published view (push sinks wait on it). A slow receiver
    /// skips to the newest view; it never holds the pipeline back.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<View>> {
        self.notify.subscribe()
    }

    /// Counters that sinks update and the self-metrics read.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.telemetry.clone()
    }

    /// The cycle period.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Runs one cycle: pull, track, publish. Returns the published view.
    pub async fn run_cycle(&mut self) -> Arc<View> {
        let started = Instant::now();
        let now = SystemTime::now();
        let results = self.pull_all().await;
        off_the_reactor(|| {
            let view = self.publish_quietly(now, results);
            self.figures.cycle_duration = started.elapsed();
            // After the swap: scrapes already see the new view while the state is written.
            self.save_state();
            // Push sinks hear of the view only now: what their hooks marked as about to be
            // sent is on disk before it goes out.
            self.notify.send_replace(view.clone());
            view
        })
    }

    /// The cycle after the pull: normalise and track each source's result (in source
    /// order), add the self-metrics, run the sinks' hooks, and swap the view in.
    pub fn publish(&mut self, now: SystemTime, results: Vec<PullResult>) -> Arc<View> {
        let view = self.publish_quietly(now, results);
        self.notify.send_replace(view.clone());
        view
    }

    /// [`publish`](Self::publish) without telling the push sinks.
    fn publish_quietly(&mut self, now: SystemTime, results: Vec<PullResult>) -> Arc<View> {
        let mut points = Vec::with_capacity(self.figures.series + 64);
        for (runtime, (result, elapsed)) in self.sources.iter_mut().zip(results) {
            runtime.apply(now, result, elapsed, &mut self.families, &mut points);
        }
        self.figures.cycle += 1;
        self.self_metrics.collect(
            now,
            self.figures,
            &self.telemetry,
            &self.sources,
            &mut self.families,
            &mut points,
        );
        self.prune_families();
        let mut view = View {
            cycle: self.figures.cycle,
            time: now,
            points,
            families: self.families.sorted(),
            sources: self.sources.iter().map(|s| s.status.clone()).collect(),
            attachments: Attachments::default(),
        };
        let hooks_started = Instant::now();
        self.hooks.retain(|hook| !hook.retired());
        for hook in &mut self.hooks {
            hook.on_publish(&mut view);
        }
        self.figures.render_duration = hooks_started.elapsed();
        self.figures.series = view.points.len();
        let view = Arc::new(view);
        self.published.store(view.clone());
        view
    }

    /// Removes the families no series with state refers to any more, once some state was
    /// dropped: under churning names the table would otherwise grow for ever.
    fn prune_families(&mut self) {
        let dropped: usize = self
            .sources
            .iter_mut()
            .map(|s| s.take_dropped_state())
            .sum();
        if dropped == 0 {
            return;
        }
        let mut used = vec![false; self.families.id_bound()];
        for source in &self.sources {
            source.mark_families(&mut used);
        }
        self.self_metrics.mark_families(&mut used);
        let removed = self.families.retain_used(&used);
        if removed > 0 {
            tracing::debug!(
                removed,
                left = self.families.len(),
                "families without series removed"
            );
        }
    }

    /// The last cycle's figures (durations, series count), as the self-metrics report them.
    pub fn figures(&self) -> CycleFigures {
        self.figures
    }

    /// Pulls every source concurrently; results come back in source order.
    async fn pull_all(&self) -> Vec<PullResult> {
        let mut set = JoinSet::new();
        for (i, runtime) in self.sources.iter().enumerate() {
            let (pull, timeout) = runtime.pull();
            set.spawn(async move {
                let t = Instant::now();
                let result = match tokio::time::timeout(timeout, pull).await {
                    Ok(r) => r,
                    Err(_) => Err(SourceError::new(format!(
                        "snapshot timed out after {}",
                        humantime::format_duration(timeout)
                    ))),
                };
                (i, result, t.elapsed())
            });
        }
        let mut results: Vec<_> = (0..self.sources.len())
            .map(|_| {
                (
                    Err(SourceError::new("pull task did not finish")),
                    Duration::ZERO,
                )
            })
            .collect();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, result, elapsed)) => results[i] = (result, elapsed),
                Err(e) => tracing::error!(error = %e, "a pull task failed"),
            }
        }
        results
    }
}
