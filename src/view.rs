//! The published view: one whole cycle, immutable, shared by every sink.
//!
//! The pipeline builds a `View` at the end of each cycle and swaps it in atomically; a
//! scrape or an OTLP export holds an `Arc` to one view for as long as it needs it, so it
//! never sees a mix of two cycles.
//!
//! The view knows no sink. What a sink derives from it (a rendered body, say) the sink
//! attaches when the view is published, in [`View::attachments`], under a type of its own.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use snapbridge_core::{Kind, Tracked};

mod by_family;
pub use by_family::ByFamily;

/// A metric family: every series that shares one exposed name.
#[derive(Debug)]
pub struct Family {
    /// Position in the family table (stable for the life of the process).
    pub id: u32,
    /// Base name: what is pushed over OTLP (no unit suffix, no `_total`).
    pub base: String,
    /// Name on `/metrics` in text format (counters end in `_total`).
    pub exposed: String,
    /// Kind shared by every series of the family.
    pub kind: Kind,
    /// OpenTelemetry unit (`s`, `By`, ...), if known.
    pub unit: Option<String>,
    /// Description, exported as `# HELP`.
    pub help: String,
}

impl Family {
    /// The OpenMetrics family name (counters without `_total`).
    pub fn openmetrics_name(&self) -> &str {
        crate::names::openmetrics_family(&self.exposed, self.kind)
    }
}

/// What is fixed for a series while it lives: its family and final labels.
///
/// The labels are kept once, rendered for the text formats; [`SeriesMeta::labels`] reads
/// them back for the rare uses that want pairs. Keeping the pairs as strings as well cost
/// about ten small allocations per series, a quarter of snapbridge's memory at 1M series.
#[derive(Debug)]
pub struct SeriesMeta {
    /// The family.
    pub family: Arc<Family>,
    /// The final labels (the source's own after rename and deny-list, the static labels and
    /// `source`), sorted and pre-rendered for the text formats (`a="1",b="2"`, escaped, no
    /// braces; see [`crate::labels`]), so a cycle copies bytes instead of escaping strings
    /// again.
    pub rendered_labels: Box<str>,
}

impl SeriesMeta {
    /// Builds the meta, rendering the labels once.
    pub fn new(family: Arc<Family>, labels: Vec<(String, String)>) -> Self {
        let rendered_labels = crate::labels::render_labels(&labels);
        SeriesMeta {
            family,
            rendered_labels,
        }
    }

    /// The label pairs, sorted by key (read back from the rendered form).
    pub fn labels(&self) -> Vec<(String, String)> {
        crate::labels::parse_labels(&self.rendered_labels)
    }
}

/// One series in one cycle: the tracker's output, with the series' meta attached.
pub type Point = Tracked<Arc<SeriesMeta>>;

/// How a source did in the cycle.
#[derive(Clone, Debug)]
pub struct SourceStatus {
    /// Source name (the `source` label).
    pub name: String,
    /// Source kind (`demo`, `http`, ...).
    pub kind: String,
    /// True when the last snapshot succeeded.
    pub up: bool,
    /// The last error, one line, when the last snapshot failed.
    pub last_error: Option<String>,
    /// Values the last snapshot held but could not be exported (one line), if any.
    pub last_warning: Option<String>,
    /// Series exported from this source in this cycle.
    pub series: usize,
    /// When the last successful snapshot was taken.
    pub last_success: Option<SystemTime>,
    /// How long the last snapshot took.
    pub duration: Duration,
}

/// One immutable cycle: every point, every source's status, and what sinks derived from it.
#[derive(Debug)]
pub struct View {
    /// Cycle number, counting from 1 (0 is the empty view before the first cycle).
    pub cycle: u64,
    /// When the cycle's pull started.
    pub time: SystemTime,
    /// Every point: bridged series first, then snapbridge's own.
    pub points: Vec<Point>,
    /// Every family any point refers to, sorted by exposed name.
    pub families: Arc<Vec<Arc<Family>>>,
    /// Per-source status, in config order.
    pub sources: Vec<SourceStatus>,
    /// What sinks attached when the view was published.
    pub attachments: Attachments,
}

/// Values that sinks attach to a view when it is published, one per type: each sink keeps
/// what it derives from a view (rendered bodies, say) under a type only it names, so the
/// view needs to know none of them, and a sink that is not configured attaches nothing.
#[derive(Default)]
pub struct Attachments(Vec<Box<dyn Any + Send + Sync>>);

impl Attachments {
    /// Attaches `value`, replacing an earlier value of the same type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.0.retain(|v| !v.is::<T>());
        self.0.push(Box::new(value));
    }

    /// The attached value of type `T`, if any.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.iter().find_map(|v| v.downcast_ref::<T>())
    }
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachments({})", self.0.len())
    }
}

impl View {
    /// For each family id, the family's position in `families` (name order); `None` for an
    /// id the view does not list. Sinks use it to group points by family in one pass.
    pub fn family_ranks(&self) -> Vec<Option<usize>> {
        let slots = self
            .families
            .iter()
            .map(|f| f.id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut rank = vec![None; slots];
        for (pos, f) in self.families.iter().enumerate() {
            rank[f.id as usize] = Some(pos);
        }
        rank
    }

    /// The position of `family` in `families`, from [`View::family_ranks`].
    pub fn rank_of(ranks: &[Option<usize>], family: &Family) -> Option<usize> {
        ranks.get(family.id as usize).copied().flatten()
    }

    /// The view served before the first cycle completes: no points at all.
    pub fn empty() -> Self {
        View {
            cycle: 0,
            time: SystemTime::UNIX_EPOCH,
            points: Vec::new(),
            families: Arc::new(Vec::new()),
            sources: Vec::new(),
            attachments: Attachments::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_hold_one_value_per_type() {
        let mut a = Attachments::default();
        assert!(a.get::<u32>().is_none());
        a.insert(1u32);
        a.insert("text");
        a.insert(2u32);
        assert_eq!(a.get::<u32>(), Some(&2));
        assert_eq!(a.get::<&str>(), Some(&"text"));
        assert_eq!(format!("{a:?}"), "Attachments(2)");
    }
}
