//! The keys of `kind = "file"`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::FileSource;
use crate::sources::{KeyError, KindConfig, Source, SourceConfig};
use crate::values::{ByteSize, JsonPointer};

/// Which file to read: one path, or the newest file matching a pattern.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The JSON file.
    pub path: Option<PathBuf>,
    /// A glob in the file name (`/var/lib/app/metrics-*.json`): the newest match is read, so
    /// the source follows a writer that rotates its files. Set this or `path`.
    pub path_glob: Option<String>,
    /// JSON pointer to the metrics object inside the document, e.g. `"/metrics"`. Default:
    /// the whole document.
    pub pointer: Option<JsonPointer>,
    /// The largest file read; a larger one fails the snapshot. Default: 16 MiB.
    pub max_bytes: Option<ByteSize>,
}

impl KindConfig for FileConfig {
    fn example() -> &'static str {
        "path = \"/var/lib/app/metrics.json\""
    }

    fn validate(&self, _: &SourceConfig) -> Result<(), KeyError> {
        let glob = match (&self.path, &self.path_glob) {
            (None, None) => {
                return Err(KeyError::needs(
                    "file",
                    "path",
                    "\"/var/lib/app/metrics.json\" (or path_glob)",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(KeyError::new(
                    "path_glob",
                    "set `path` or `path_glob`, not both",
                ));
            }
            (Some(_), None) => return Ok(()),
            (None, Some(glob)) => glob,
        };
        let p = Path::new(glob);
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.is_empty() {
            return Err(KeyError::new(
                "path_glob",
                format!("{glob:?} has no file name pattern"),
            ));
        }
        let dir = p.parent().map(|d| d.to_string_lossy()).unwrap_or_default();
        if dir.contains(['*', '?', '[', '{']) {
            return Err(KeyError::new(
                "path_glob",
                format!("{glob:?}: only the file name may hold a pattern, not the directory"),
            ));
        }
        globset::Glob::new(name)
            .map(|_| ())
            .map_err(|e| KeyError::new("path_glob", format!("invalid glob {name:?}: {e}")))
    }

    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(FileSource::new(self, common)?))
    }
}
