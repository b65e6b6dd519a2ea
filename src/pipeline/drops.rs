//! What a source's series lost in a cycle, and the log lines that say so: once when it
//! starts, then every [`WARN_EVERY`] while it lasts (a flood helps nobody, silence neither).

use std::time::{Duration, Instant};

/// While series keep being dropped, the log line is repeated this often.
const WARN_EVERY: Duration = Duration::from_secs(600);

/// What `attach` refused in one cycle.
#[derive(Default)]
pub struct Drops {
    /// Over `max_series`.
    pub limit: u64,
    /// Refused by the family table (a name clash).
    pub conflict: u64,
    /// The same series as another key of the source, once named.
    pub duplicate: u64,
    /// The first clash, for the log.
    pub first_conflict: Option<String>,
    /// The first duplicate, for the log.
    pub first_duplicate: Option<String>,
}

/// When each kind of drop was last logged.
#[derive(Default)]
pub struct Warnings {
    limit: Episode,
    conflict: Episode,
    duplicate: Episode,
    /// Stale state evicted before `max_staleness`.
    pub evicted: Episode,
}

/// A condition that lasts: logged when it starts, then every [`WARN_EVERY`].
#[derive(Default)]
pub struct Episode(Option<Instant>);

impl Episode {
    /// True (and remembered) when the condition should be logged now.
    pub fn due(&mut self, now: Instant) -> bool {
        let due = self
            .0
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY);
        if due {
            self.0 = Some(now);
        }
        due
    }

    fn reset(&mut self) {
        self.0 = None;
    }
}

impl Warnings {
    /// One log line when series start being dropped, then one per [`WARN_EVERY`] while it
    /// goes on.
    pub fn log(&mut self, name: &str, drops: &Drops, exposed: usize, max_series: usize) {
        let now = Instant::now();
        if drops.limit == 0 {
            self.limit.reset();
        } else if self.limit.due(now) {
            tracing::warn!(
                source = %name,
                dropped = drops.limit,
                exposed,
                max_series,
                "series dropped: the snapshot has more series than max_series"
            );
        }
        if drops.duplicate == 0 {
            self.duplicate.reset();
        } else if self.duplicate.due(now)
            && let Some(first) = &drops.first_duplicate
        {
            tracing::warn!(source = %name, dropped = drops.duplicate, "duplicate series after naming: {first}");
        }
        if drops.conflict == 0 {
            self.conflict.reset();
        } else if self.conflict.due(now)
            && let Some(first) = &drops.first_conflict
        {
            tracing::warn!(source = %name, dropped = drops.conflict, "series dropped, name clash: {first}");
        }
    }
}
