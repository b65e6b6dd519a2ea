//! Replacing the source set on a reload: a source is the same source as long as its name
//! and kind are, and then keeps its tracker state.

use std::collections::HashMap;
use std::sync::Arc;

use super::Pipeline;
use super::source_runtime::SourceRuntime;
use crate::sources::{Source, SourceConfig};

/// One source of the set a reload asks for ([`Pipeline::replace_sources`]).
pub struct NextSource {
    /// Its config (name, rules, labels).
    pub config: SourceConfig,
    /// Its kind; with the name, its identity.
    pub kind: String,
    /// A new puller, or `None` to keep the running one (only for a source that was there).
    pub source: Option<Arc<dyn Source>>,
    /// Nothing about the source changed: its runtime is kept as it is.
    pub unchanged: bool,
}

/// What a source set replacement did, by source name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceChanges {
    /// New sources, started under their `initial` rule.
    pub added: Vec<String>,
    /// Sources gone, their series with them.
    pub removed: Vec<String>,
    /// Sources whose config changed, their tracker state carried over.
    pub changed: Vec<String>,
    /// Sources kept as they were.
    pub kept: Vec<String>,
}

impl Pipeline {
    /// Replaces the source set with `next`, in its order (a reload; the next cycle pulls the
    /// new set). A source whose name and kind were there before keeps its tracker state: as
    /// it was when nothing changed, carried over into a runtime of its new config otherwise.
    /// Any other source starts afresh under its `initial` rule; sources not in `next` go,
    /// and their series leave the next view.
    pub fn replace_sources(&mut self, next: Vec<NextSource>) -> SourceChanges {
        let mut old: HashMap<String, SourceRuntime> = self
            .sources
            .drain(..)
            .map(|s| (s.name().to_string(), s))
            .collect();
        let mut changes = SourceChanges::default();
        for n in next {
            let previous = match old.remove(&n.config.name) {
                Some(o) if o.status.kind == n.kind => Some(o),
                Some(o) => {
                    // Another kind under the same name: another source, started afresh.
                    changes.removed.push(o.name().to_string());
                    None
                }
                None => None,
            };
            let Some(previous) = previous else {
                match n.source {
                    Some(source) => {
                        changes.added.push(n.config.name.clone());
                        self.add_source(&n.config, &n.kind, source);
                    }
                    None => {
                        tracing::error!(source = %n.config.name, "reload: a new source without a puller is left out")
                    }
                }
                continue;
            };
            if n.unchanged && n.source.is_none() {
                changes.kept.push(n.config.name.clone());
                self.sources.push(previous);
                continue;
            }
            let source = n.source.unwrap_or_else(|| previous.source());
            let mut runtime = SourceRuntime::new(
                &n.config,
                &n.kind,
                source,
                self.default_timeout,
                self.max_staleness,
            );
            if let Err(e) = runtime.carry_over(previous) {
                tracing::warn!(source = %n.config.name, error = %e, "reload: tracker state not carried over");
            }
            changes.changed.push(n.config.name.clone());
            self.sources.push(runtime);
        }
        changes.removed.extend(old.into_keys());
        changes.removed.sort();
        changes
    }
}
