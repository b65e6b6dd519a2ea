//! One source at run time: its puller, rules, tracker, and what it did so far.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use snapbridge_core::{
    CycleStats, DeltaTracker, RejectReason, SeriesInfo, SourceError, TrackerConfig,
};

use super::families::FamilyTable;
use super::normalize::{NormalizeStats, Normalizer};
use crate::sources::{PullFuture, Pulled, Source, SourceConfig};
use crate::text::one_line;
use crate::view::{Point, SeriesMeta, SourceStatus};

/// Cumulative counts and last-cycle figures of one source, read by the self-metrics.
#[derive(Clone, Debug, Default)]
pub struct SourceCounters {
    /// Snapshots that failed or timed out.
    pub snapshot_errors: u64,
    /// Counter and histogram resets detected.
    pub resets: u64,
    /// Values rejected, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Labels dropped by the deny-list.
    pub denied_labels: u64,
    /// Series dropped in the last successful cycle, by reason (a gauge, not a total).
    pub dropped: BTreeMap<&'static str, u64>,
}

/// A source with everything the pipeline keeps for it between cycles.
pub struct SourceRuntime {
    source: Arc<dyn Source>,
    timeout: Duration,
    normalizer: Normalizer,
    tracker: DeltaTracker<Arc<SeriesMeta>>,
    static_labels: Vec<(String, String)>,
    max_series: usize,
    samples: Vec<snapbridge_core::Sample>,
    /// Totals and last-cycle drops.
    pub counters: SourceCounters,
    /// Status as shown on the status page.
    pub status: SourceStatus,
}

impl SourceRuntime {
    /// Sets up a source from its config entry and the source that serves it.
    pub fn new(
        config: &SourceConfig,
        kind: &str,
        source: Arc<dyn Source>,
        default_timeout: Duration,
        max_staleness: Duration,
    ) -> Self {
        let mut static_labels: Vec<(String, String)> = config
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        static_labels.push(("source".into(), config.name.clone()));
        static_labels.sort();
        SourceRuntime {
            source,
            timeout: config.timeout.map(|d| d.0).unwrap_or(default_timeout),
            normalizer: Normalizer::from_config(config),
            tracker: DeltaTracker::new(TrackerConfig {
                initial: config.initial(),
                max_staleness,
            }),
            static_labels,
            max_series: config.max_series,
            samples: Vec::new(),
            // Every tracker reason starts at 0, so dashboards and alerts see a series (and
            // its first increase) instead of "no data".
            counters: SourceCounters {
                rejected: RejectReason::ALL.iter().map(|r| (r.as_str(), 0)).collect(),
                ..SourceCounters::default()
            },
            status: SourceStatus {
                name: config.name.clone(),
                kind: kind.to_string(),
                up: false,
                last_error: None,
                last_warning: None,
                series: 0,
                last_success: None,
                duration: Duration::ZERO,
            },
        }
    }

    /// Starts a pull and returns it with its timeout.
    pub fn pull(&self) -> (PullFuture, Duration) {
        (self.source.pull(), self.timeout)
    }

    /// Series with tracker state (live or waiting out their staleness).
    pub fn tracked(&self) -> usize {
        self.tracker.len()
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.status.name
    }

    /// Appends the tracker's state (see `DeltaTracker::save_state`).
    pub fn save_state(&self, out: &mut String) {
        self.tracker.save_state(out);
    }

    /// Restores the tracker's state saved by a previous run.
    pub fn restore_state(&mut self, text: &str) -> Result<usize, String> {
        self.tracker.restore_state(text)
    }

    /// The puller, to keep it across a reload that changed only pipeline-side keys.
    pub fn source(&self) -> Arc<dyn Source> {
        self.source.clone()
    }

    /// Continues `old` (the same source before a reload changed its config): its tracker
    /// state, counters and status carry over, so totals continue without a reset or a
    /// double count. The state goes through the tracker's own save and restore, the path a
    /// restart takes, so every series is attached again under this config's labels and
    /// names when it is next seen. Returns the series carried over.
    pub fn carry_over(&mut self, old: SourceRuntime) -> Result<usize, String> {
        let mut saved = String::new();
        old.tracker.save_state(&mut saved);
        let carried = self.tracker.restore_state(&saved)?;
        self.counters = old.counters;
        self.status = SourceStatus {
            kind: self.status.kind.clone(),
            ..old.status
        };
        Ok(carried)
    }

    /// Applies one pull's outcome: on success the series go through normalisation and the
    /// tracker into `out`; on failure the source contributes nothing this cycle (so its
    /// series go stale in Prometheus, as a down target's do) but keeps its tracker state.
    pub fn apply(
        &mut self,
        now: SystemTime,
        result: Result<Pulled, SourceError>,
        elapsed: Duration,
        families: &mut FamilyTable,
        out: &mut Vec<Point>,
    ) {
        self.status.duration = elapsed;
        let pulled = match result {
            Ok(p) => p,
            Err(e) => {
                self.counters.snapshot_errors += 1;
                let message = one_line(e.message(), MAX_MESSAGE_BYTES);
                tracing::warn!(source = %self.status.name, error = %message, "snapshot failed");
                self.status.up = false;
                self.status.last_error = Some(message);
                self.status.series = 0;
                self.tracker.expire(now);
                return;
            }
        };
        self.samples = pulled.snapshot.samples;
        self.status.last_warning = None;
        for r in &pulled.rejected {
            *self.counters.rejected.entry(r.reason).or_default() += 1;
        }
        if let Some(first) = pulled.rejected.first() {
            let more = pulled.rejected.len() - 1;
            let mut warning = format!("key {:?}: {}", first.key, first.detail);
            if more > 0 {
                warning.push_str(&format!(" (and {more} more rejected values)"));
            }
            let warning = one_line(&warning, MAX_MESSAGE_BYTES);
            tracing::warn!(source = %self.status.name, warning = %warning, "values rejected");
            self.status.last_warning = Some(warning);
        }
        let mut norm = NormalizeStats::default();
        self.normalizer.normalize(&mut self.samples, &mut norm);
        let before = out.len();
        let mut dropped_limit = 0u64;
        let mut dropped_conflict = 0u64;
        let mut live = self.tracker.len();
        let (max_series, static_labels) = (self.max_series, &self.static_labels);
        let attach = |info: &SeriesInfo<'_>| {
            if live >= max_series {
                dropped_limit += 1;
                return None;
            }
            let help = || match info.description {
                Some(d) => d.to_string(),
                None => format!("Bridged by snapbridge from key {:?}", info.key.name),
            };
            let Ok(family) = families.get_or_register(&info.key.name, info.kind, info.unit, help)
            else {
                dropped_conflict += 1;
                return None;
            };
            live += 1;
            Some(Arc::new(SeriesMeta::new(
                family,
                merge_labels(static_labels, info.key.labels.as_slice()),
            )))
        };
        let stats = self
            .tracker
            .observe(now, self.samples.drain(..), attach, out);
        self.tracker.expire(now);
        self.record(&stats, &norm, dropped_limit, dropped_conflict);
        self.status.up = true;
        self.status.last_error = None;
        self.status.series = out.len() - before;
        self.status.last_success = Some(now);
    }

    fn record(&mut self, stats: &CycleStats, norm: &NormalizeStats, limit: u64, conflict: u64) {
        let c = &mut self.counters;
        c.resets += stats.resets;
        for reason in RejectReason::ALL {
            let n = stats.rejected(reason);
            if n > 0 {
                *c.rejected.entry(reason.as_str()).or_default() += n;
            }
        }
        c.denied_labels += norm.denied_labels;
        c.dropped.clear();
        for (reason, n) in [
            ("series_limit", limit),
            ("kind_conflict", conflict),
            ("label_value_too_long", norm.label_too_long),
            ("invalid_name", norm.invalid_name),
        ] {
            c.dropped.insert(reason, n);
        }
    }
}

/// The static labels (and `source`) win over the source's own; a source label they
/// shadow is kept as `exported_<key>`, as Prometheus does with `honor_labels: false`.
fn merge_labels(
    static_labels: &[(String, String)],
    own: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = static_labels.to_vec();
    for (k, v) in own {
        if static_labels.iter().any(|(sk, _)| sk == k) {
            out.push((format!("exported_{k}"), v.clone()));
        } else {
            out.push((k.clone(), v.clone()));
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Errors and warnings are shown on one line, at most this long.
const MAX_MESSAGE_BYTES: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_labels_win_and_the_shadowed_one_is_kept() {
        let statics = vec![
            ("service".to_string(), "papyra".to_string()),
            ("source".to_string(), "a".to_string()),
        ];
        let own = vec![("source".to_string(), "inner".to_string())];
        let merged = merge_labels(&statics, &own);
        let keys: Vec<_> = merged.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            keys,
            ["exported_source=inner", "service=papyra", "source=a"]
        );
    }
}
