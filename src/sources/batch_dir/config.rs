//! The keys of `kind = "batch_dir"`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use snapbridge_core::Initial;

use super::BatchDirSource;
use crate::sources::{KeyError, KindConfig, Source, SourceConfig};
use crate::values::ByteSize;

/// The directory of batch files, and how their records become series.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDirConfig {
    /// The directory the batch files are written to.
    pub path: PathBuf,
    /// Where the record of counted batch files is kept. Default: a hidden file in the
    /// directory, `.snapbridge-<source>.checkpoint.json`.
    pub checkpoint: Option<PathBuf>,
    /// Upper bounds (seconds) of the operation duration histogram's buckets. Default: 1 ms
    /// to 10 s (`0.001, 0.0025, 0.005 ... 5, 10`).
    pub buckets: Option<Vec<f64>>,
    /// Metadata keys that become labels (metadata values are often unbounded). Keys on the
    /// deny-list never do. Default: none.
    #[serde(default)]
    pub metadata_labels: Vec<String>,
    /// The largest batch file read; a larger one is reported and skipped. Default: 16 MiB.
    pub max_bytes: Option<ByteSize>,
}

impl KindConfig for BatchDirConfig {
    fn example() -> &'static str {
        "path = \"/var/lib/app/metrics\"  # the batch files' directory"
    }

    fn validate(&self, common: &SourceConfig) -> Result<(), KeyError> {
        if let Some(b) = &self.buckets {
            if b.is_empty() {
                return Err(KeyError::new("buckets", "must hold at least one bound"));
            }
            if b.iter().any(|x| !x.is_finite()) || !b.windows(2).all(|w| w[0] < w[1]) {
                return Err(KeyError::new(
                    "buckets",
                    "bounds must be finite and strictly increasing",
                ));
            }
        }
        let deny = common.deny_labels();
        for k in &self.metadata_labels {
            if deny.iter().any(|d| d.eq_ignore_ascii_case(k)) {
                return Err(KeyError::new(
                    "metadata_labels",
                    format!("{k:?} is on the label deny-list (it may carry personal data)"),
                ));
            }
            if matches!(k.as_str(), "operation_type" | "operation_name" | "success") {
                return Err(KeyError::new(
                    "metadata_labels",
                    format!("{k:?} is already a label"),
                ));
            }
        }
        if common.initial() == Initial::Drop {
            return Err(KeyError::new(
                "initial",
                "batch_dir totals are kept across restarts in the checkpoint: \"drop\" would hide them; use \"keep\"",
            ));
        }
        Ok(())
    }

    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(BatchDirSource::new(self, common)))
    }

    fn build_read_only(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(BatchDirSource::new_read_only(self, common)))
    }
}
