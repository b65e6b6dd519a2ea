//! The keys of `kind = "redis"`.

use std::sync::Arc;

use serde::Deserialize;

use super::RedisSource;
use crate::sources::{KeyError, KindConfig, Source, SourceConfig};
use crate::values::{JsonPointer, SourceUrl};

/// Which Redis, and which keys of it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// Where to connect: `redis://[:password@]host:port[/db]`.
    pub url: SourceUrl,
    /// The key to read: a hash (read with HGETALL), or a string holding a JSON document.
    pub key: Option<String>,
    /// A SCAN pattern; every matching key is read (numbers, hashes or JSON). Set this or
    /// `key`.
    pub pattern: Option<String>,
    /// With `key` holding a JSON string: JSON pointer to the metrics object inside it.
    /// Default: the whole document.
    pub pointer: Option<JsonPointer>,
}

impl KindConfig for RedisConfig {
    fn example() -> &'static str {
        "url = \"redis://127.0.0.1:6379\"\nkey = \"app:metrics\"  # or pattern = \"app:*\""
    }

    fn validate(&self, _: &SourceConfig) -> Result<(), KeyError> {
        if self.url.scheme() != "redis" {
            return Err(KeyError::new(
                "url",
                format!("{} is not a redis:// URL", self.url),
            ));
        }
        match (&self.key, &self.pattern) {
            (None, None) => {
                return Err(KeyError::needs(
                    "redis",
                    "key",
                    "\"app:metrics\" (or pattern = \"app:*\")",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(KeyError::new("pattern", "set `key` or `pattern`, not both"));
            }
            (Some(k), None) if k.is_empty() => {
                return Err(KeyError::new("key", "must not be empty"));
            }
            (None, Some(p)) if p.is_empty() => {
                return Err(KeyError::new("pattern", "must not be empty"));
            }
            _ => {}
        }
        if self.pattern.is_some() && self.pointer.is_some() {
            return Err(KeyError::new(
                "pointer",
                "with `pattern` each key is one value; pointer applies to `key` only",
            ));
        }
        Ok(())
    }

    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(RedisSource::new(self, common)?))
    }
}
