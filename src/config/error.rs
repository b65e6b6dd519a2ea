//! Config errors, each one line: file, line, key, reason.

use std::fmt;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    Io {
        /// The path as given.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// TOML syntax, an unknown key or a bad value, located in the file.
    At {
        /// File name (or `<embedded default>`).
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key on that line, when one could be read there.
        key: Option<String>,
        /// The table the line belongs to (`[prometheus]`, `[[source]]`).
        table: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A rule that spans keys (unique names, required keys), named by its key path.
    Invalid {
        /// File name.
        origin: String,
        /// 1-based line of the key (or of its table), when it is in the file.
        line: Option<usize>,
        /// Dotted key path, e.g. `source[0] (papyra).max_series`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    /// Locates a `toml` deserialisation error in `text`.
    pub(crate) fn from_toml(origin: &str, text: &str, err: &toml::de::Error) -> Self {
        let offset = err.span().map(|s| s.start).unwrap_or(0);
        ConfigError::at(origin, text, offset, err.message())
    }

    /// An error at byte `offset` of `text`: its line and column, the key written on that
    /// line and the table it belongs to are read from the text.
    pub(crate) fn at(origin: &str, text: &str, offset: usize, reason: impl AsRef<str>) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = ConfigError::line_of(text, offset);
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let line_text = text[line_start..].lines().next().unwrap_or("");
        let key = line_text
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        let table = before
            .lines()
            .chain(line_text.starts_with('[').then_some(line_text))
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.split('#').next().unwrap_or(l).trim().to_string());
        let mut reason = reason.as_ref().replace('\n', " ").trim().to_string();
        // A type error echoes the value written: never for a key that holds a secret.
        let secret = key
            .iter()
            .chain(&table)
            .any(|k| crate::redact::is_secret_key(k));
        if secret {
            reason = crate::redact::quoted_values(&reason);
        }
        ConfigError::At {
            origin: origin.to_string(),
            line,
            column,
            key,
            table,
            reason,
        }
    }

    /// A broken rule that spans keys, of `key` (a path such as `source[0] (a).url`).
    pub(crate) fn invalid(origin: &str, line: Option<usize>, key: &str, reason: &str) -> Self {
        ConfigError::Invalid {
            origin: origin.to_string(),
            line,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The 1-based line of byte `offset` in `text`.
    pub(crate) fn line_of(text: &str, offset: usize) -> usize {
        let end = offset.min(text.len());
        text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io { path, reason } => {
                write!(f, "cannot read config file {path}: {reason}")
            }
            ConfigError::At {
                origin,
                line,
                column,
                key,
                table,
                reason,
            } => {
                write!(f, "{origin}:{line}:{column}: ")?;
                if let Some(table) = table {
                    write!(f, "in {table}, ")?;
                }
                if let Some(key) = key {
                    write!(f, "key `{key}`: ")?;
                }
                f.write_str(reason)
            }
            ConfigError::Invalid {
                origin,
                line: Some(line),
                key,
                reason,
            } => write!(f, "{origin}:{line}: key `{key}`: {reason}"),
            ConfigError::Invalid {
                origin,
                line: None,
                key,
                reason,
            } => write!(f, "{origin}: key `{key}`: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}
