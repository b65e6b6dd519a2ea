//! One source at run time: its puller, rules, tracker, and what it did so far.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use snapbridge_core::{
    CycleStats, DeltaTracker, Kind, RejectReason, SampleRef, SeriesInfo, Snapshot, SourceError,
    TrackerConfig,
};

use super::drops::{Drops, Warnings};
use super::families::FamilyTable;
use super::identities::Identities;
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
    pub(super) normalizer: Normalizer,
    tracker: DeltaTracker<Arc<SeriesMeta>>,
    static_labels: Vec<(String, String)>,
    max_series: usize,
    // The snapshot being applied; its strings stay with it, and it goes back to the source
    // to be refilled in place (`Source::recycle`).
    snapshot: Snapshot,
    // `clean_at[i]`: the last snapshot's sample `i` passed normalisation unchanged and was
    // the tracker's `i`-th series (no sample before it dropped). With the source's word
    // that the key at `i` is unchanged (`Pulled::unchanged`), this cycle neither checks
    // nor compares it again (`SampleRef::unchanged`). `clean_next` is the buffer for this
    // cycle's.
    clean_at: Vec<bool>,
    clean_next: Vec<bool>,
    // A duplicate series was logged and has not gone away since.
    duplicates_logged: bool,
    identities: Identities,
    // Series whose state was dropped since the pipeline last asked (their families may go).
    state_dropped: usize,
    warnings: Warnings,
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
            snapshot: Snapshot::new(),
            clean_at: Vec::new(),
            clean_next: Vec::new(),
            duplicates_logged: false,
            identities: Identities::default(),
            state_dropped: 0,
            warnings: Warnings::default(),
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

    /// Series whose state was dropped (expired or evicted) since the last call.
    pub fn take_dropped_state(&mut self) -> usize {
        std::mem::take(&mut self.state_dropped)
    }

    /// Marks `used[id]` for the family of every series with state.
    pub fn mark_families(&self, used: &mut [bool]) {
        for meta in self.tracker.metas() {
            if let Some(u) = used.get_mut(meta.family.id as usize) {
                *u = true;
            }
        }
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
    pub fn restore_state(&mut self, text: &str) -> Result<usize, snapbridge_core::StateError> {
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
        let carried = self
            .tracker
            .restore_state(&saved)
            .map_err(|e| e.to_string())?;
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
                self.drop_state(now);
                return;
            }
        };
        self.snapshot = pulled.snapshot;
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
        let normalizer = &mut self.normalizer;
        let before = out.len();
        let max_series = self.max_series;
        // The limit is on series exposed now. A snapshot within it is taken whole; past it,
        // new series get the room the already tracked series it holds leave (counting them
        // costs a lookup each, so only then).
        // Past the limit the keys are normalised first (owned), to count the known ones.
        let mut over_limit = Vec::new();
        let room_for_new = if self.snapshot.samples.len() <= max_series {
            usize::MAX
        } else {
            over_limit = std::mem::take(&mut self.snapshot.samples);
            normalizer.normalize(&mut over_limit, &mut norm);
            let known = (over_limit.iter())
                .filter(|s| self.tracker.contains(&s.key))
                .count();
            max_series.saturating_sub(known)
        };
        let mut drops = Drops::default();
        let mut accepted = 0usize;
        let (static_labels, identities) = (&self.static_labels, &mut self.identities);
        let attach = |info: &SeriesInfo<'_>| {
            if accepted >= room_for_new {
                drops.limit += 1;
                return None;
            }
            let help = || match info.description {
                Some(d) => d.to_string(),
                None => format!("Bridged by snapbridge from key {:?}", info.key.name),
            };
            let family = match families.get_or_register(&info.key.name, info.kind, info.unit, help)
            {
                Ok(f) => f,
                Err(clash) => {
                    drops.conflict += 1;
                    drops.first_conflict.get_or_insert_with(|| {
                        format!(
                            "key {:?} ({:?}) would use the name {} of family {}",
                            info.key.name, info.kind, clash.name, clash.owner
                        )
                    });
                    return None;
                }
            };
            let labels = merge_labels(static_labels, &info.key.labels, info.kind);
            let meta = Arc::new(SeriesMeta::new(family, labels));
            if !identities.claim(&meta) {
                drops.duplicate += 1;
                drops.first_duplicate.get_or_insert_with(|| {
                    format!(
                        "key {:?} is exported as {}{{{}}}, which another key of the source already is",
                        info.key.name, meta.family.exposed, meta.rendered_labels
                    )
                });
                return None;
            }
            accepted += 1;
            Some(meta)
        };
        let mut clean_next = std::mem::take(&mut self.clean_next);
        clean_next.clear();
        let stats = if room_for_new == usize::MAX {
            // Within the limit (the usual case): keys lent to the tracker as they are, and
            // not even looked at when the source kept them since they were found clean.
            let (clean_at, unchanged) = (&self.clean_at, &pulled.unchanged);
            let mut aligned = true;
            let samples = (self.snapshot.samples.iter_mut().enumerate()).filter_map(|(i, s)| {
                let known = aligned
                    && unchanged.get(i).copied().unwrap_or(false)
                    && clean_at.get(i).copied().unwrap_or(false);
                let lent = normalizer.normalize_ref(s, known, &mut norm);
                aligned &= lent.is_some();
                let clean = lent
                    .as_ref()
                    .is_some_and(|r| matches!(r.key, std::borrow::Cow::Borrowed(_)));
                clean_next.push(aligned && clean);
                lent.map(|r| SampleRef {
                    unchanged: known,
                    ..r
                })
            });
            self.tracker.observe_borrowed(now, samples, attach, out)
        } else {
            // Normalised in place, some dropped: no promise about the next cycle's keys.
            let stats = (self.tracker).observe(now, over_limit.drain(..), attach, out);
            self.snapshot.samples = over_limit;
            stats
        };
        self.clean_next = std::mem::replace(&mut self.clean_at, clean_next);
        self.source.recycle(std::mem::take(&mut self.snapshot));
        // Stale series that all came back at once can be more than the limit: the last go.
        let exposed = out.len() - before;
        if exposed > max_series {
            out.truncate(before + max_series);
            drops.limit += (exposed - max_series) as u64;
        }
        self.drop_state(now);
        let exposed_now = out.len() - before;
        (self.warnings).log(&self.status.name, &drops, exposed_now, max_series);
        self.warn_duplicates(&stats);
        let duplicates = drops.duplicate;
        self.record(&stats, &norm, drops.limit, drops.conflict);
        *self.counters.rejected.entry("duplicate").or_default() += duplicates;
        self.status.up = true;
        self.status.last_error = None;
        self.status.series = out.len() - before;
        self.status.last_success = Some(now);
    }

    /// Duplicates are counted every cycle but logged once, when they start (a source that
    /// lists a key twice does so every cycle); the status page shows them while they last.
    fn warn_duplicates(&mut self, stats: &CycleStats) {
        let Some(key) = &stats.first_duplicate else {
            self.duplicates_logged = false;
            return;
        };
        let n = stats.rejected(RejectReason::Duplicate);
        let labels: Vec<String> = key
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let warning = one_line(
            &format!(
                "series {:?} {{{}}} appears more than once in the snapshot ({n} duplicates): the first of each is kept",
                key.name,
                labels.join(", ")
            ),
            MAX_MESSAGE_BYTES,
        );
        if !self.duplicates_logged {
            tracing::warn!(source = %self.status.name, warning = %warning, "duplicate series");
            self.duplicates_logged = true;
        }
        if self.status.last_warning.is_none() {
            self.status.last_warning = Some(warning);
        }
    }

    /// Drops expired state, and stale state past its own bound: as many series as
    /// `max_series` may be kept beyond the current ones; past that the longest absent go
    /// first (down to 7/8 of the bound, so this is not done every cycle under churn).
    fn drop_state(&mut self, now: SystemTime) {
        let mut dropped = self.tracker.expire(now);
        let bound = self.max_series.saturating_mul(2);
        if self.tracker.len() > bound {
            let evicted = self.tracker.evict_stale(bound - self.max_series / 8);
            if evicted > 0 && self.warnings.evicted.due(std::time::Instant::now()) {
                tracing::warn!(
                    source = %self.status.name,
                    evicted,
                    max_series = self.max_series,
                    "state of series absent from the snapshot dropped before max_staleness: more than max_series of them (if they come back they start anew)"
                );
            }
            dropped += evicted;
        }
        if dropped > 0 {
            self.identities.forget_dead();
            self.state_dropped += dropped;
        }
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
/// shadow is kept as `exported_<key>`, as Prometheus does with `honor_labels: false`. So is
/// a label the exposition itself sets for the kind (`le` on a histogram's buckets).
fn merge_labels(
    static_labels: &[(String, String)],
    own: &snapbridge_core::Labels,
    kind: Kind,
) -> Vec<(String, String)> {
    let reserved = |k: &str| crate::names::is_reserved_label(k, kind);
    let mut out: Vec<(String, String)> = Vec::with_capacity(static_labels.len() + own.len());
    for (k, v) in static_labels {
        // Refused when the config is read; a source built in code is not checked there.
        if reserved(k) {
            out.push((format!("exported_{k}"), v.clone()));
        } else {
            out.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in own {
        if reserved(k) || static_labels.iter().any(|(sk, _)| sk == k) {
            out.push((format!("exported_{k}"), v.to_string()));
        } else {
            out.push((k.to_string(), v.to_string()));
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
        let own = snapbridge_core::Labels::from_pairs([("source", "inner")]);
        let merged = merge_labels(&statics, &own, Kind::Gauge);
        let keys: Vec<_> = merged.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            keys,
            ["exported_source=inner", "service=papyra", "source=a"]
        );
    }

    #[test]
    fn a_histogram_s_own_le_is_kept_as_exported_le() {
        let statics = vec![("source".to_string(), "a".to_string())];
        let own = snapbridge_core::Labels::from_pairs([("le", "spoof")]);
        let keys = |kind| {
            merge_labels(&statics, &own, kind)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Kind::Histogram), ["exported_le=spoof", "source=a"]);
        assert_eq!(keys(Kind::Gauge), ["le=spoof", "source=a"]);
    }
}
