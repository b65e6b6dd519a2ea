//! Reading the `[[source]]` tables: each table's `kind` names the struct of its own keys
//! (registered in `sources/mod.rs`); the other keys are the ones every source has. Both
//! parts are read with `deny_unknown_fields`, and every error names the file, the line,
//! the source and the key.

use std::collections::HashSet;
use std::ops::Range;

use super::ConfigError;
use crate::sources::{self, KindEntry, SourceConfig, SourceEntry};
use crate::values::{Table, TableError, keys_of};

/// Reads the source tables of one document.
pub(super) struct Reader<'a> {
    /// The document, to locate errors in.
    pub text: &'a str,
    /// Its name in errors.
    pub origin: &'a str,
}

/// Where a table's keys were written, kept for the checks that run after it is read.
struct Positions {
    /// The source's index and name, for the key path in errors.
    index: usize,
    name: String,
    header: Range<usize>,
    keys: Vec<(String, Range<usize>)>,
}

impl Positions {
    fn of(index: usize, table: &Table) -> Self {
        let keys = table
            .keys()
            .filter_map(|k| Some((k.to_string(), table.key_span(k)?)))
            .collect();
        // The name as written, when it is a string, only to name the source in errors.
        let name = table
            .clone()
            .remove("name")
            .and_then(|v| v.into_inner().as_str().map(str::to_string))
            .unwrap_or_default();
        Positions {
            index,
            name,
            header: table.span(),
            keys,
        }
    }

    /// Where `key` was written, or the table's header for a key that was not.
    fn of_key(&self, key: &str) -> Range<usize> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map_or(self.header.clone(), |(_, span)| span.clone())
    }

    /// `source[0] (papyra).max_series`.
    fn path(&self, key: &str) -> String {
        if self.name.trim().is_empty() {
            format!("source[{}].{key}", self.index)
        } else {
            format!("source[{}] ({}).{key}", self.index, self.name)
        }
    }
}

impl Reader<'_> {
    /// Every table, in order, with names unique.
    pub fn read_all(&self, tables: Vec<Table>) -> Result<Vec<SourceEntry>, ConfigError> {
        let mut seen = HashSet::new();
        let mut entries = Vec::with_capacity(tables.len());
        for (i, table) in tables.into_iter().enumerate() {
            let at = Positions::of(i, &table);
            let entry = self.read(&at, table)?;
            if !seen.insert(entry.config.name.clone()) {
                let reason = format!(
                    "duplicate source name {:?}: names must be unique",
                    entry.config.name
                );
                return Err(self.invalid(&at, "name", reason));
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// One table: its kind, its two parts, and the rules that span keys.
    fn read(&self, at: &Positions, mut table: Table) -> Result<SourceEntry, ConfigError> {
        let kind = self.kind(&mut table)?;
        let common_keys = keys_of::<SourceConfig>();
        let kind_keys = (kind.keys)();
        if let Some(key) = table
            .keys()
            .find(|k| !common_keys.contains(k) && !kind_keys.contains(k))
        {
            return Err(self.stray_key(at, kind, key, common_keys));
        }
        let own = table.split_off(|k| kind_keys.contains(&k));
        let config: SourceConfig = table
            .deserialize()
            .map_err(|e| self.table_error(at, kind, e))?;
        let kind_config = (kind.parse)(own).map_err(|e| self.table_error(at, kind, e))?;
        let entry = SourceEntry {
            config,
            kind: kind.name,
            kind_config,
        };
        entry
            .validate()
            .map_err(|e| self.invalid(at, e.key, e.reason))?;
        Ok(entry)
    }

    /// The registered kind the table names.
    fn kind(&self, table: &mut Table) -> Result<&'static KindEntry, ConfigError> {
        let names: Vec<String> = sources::kinds()
            .iter()
            .map(|k| format!("\"{}\"", k.name))
            .collect();
        let Some(value) = table.remove("kind") else {
            return Err(self.at(
                table.span(),
                format!(
                    "missing field `kind`: every source names its kind, one of {}",
                    names.join(", ")
                ),
            ));
        };
        let span = value.span();
        let value = value.into_inner();
        value.as_str().and_then(sources::kind).ok_or_else(|| {
            let reason = match value.as_str().and_then(sources::left_out) {
                Some(feature) => format!(
                    "source kind {value}: {}",
                    crate::features::built_without(feature)
                ),
                None => format!(
                    "unknown source kind {value}: expected one of {}",
                    names.join(", ")
                ),
            };
            self.at(span, reason)
        })
    }

    /// A key that belongs neither to every source nor to this kind: another kind's (said
    /// so, with the kinds that use it), or a key nobody knows (with the ones this kind
    /// knows).
    fn stray_key(
        &self,
        at: &Positions,
        kind: &KindEntry,
        key: &str,
        common_keys: &[&str],
    ) -> ConfigError {
        let users: Vec<String> = sources::kinds()
            .iter()
            .filter(|k| (k.keys)().contains(&key))
            .map(|k| format!("\"{}\"", k.name))
            .collect();
        if users.is_empty() {
            let mut known: Vec<&str> = common_keys.iter().chain((kind.keys)()).copied().collect();
            known.sort_unstable();
            return self.at(
                at.of_key(key),
                format!(
                    "unknown field `{key}`, expected one of `{}`",
                    known.join("`, `")
                ),
            );
        }
        let reason = format!(
            "kind = \"{}\" does not use it (only kind = {})",
            kind.name,
            users.join(" or ")
        );
        self.invalid(at, key, reason)
    }

    /// A part that did not deserialise: a missing key of the kind says what to write, any
    /// other error is located at its key.
    fn table_error(&self, at: &Positions, kind: &KindEntry, e: TableError) -> ConfigError {
        let missing = e
            .message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        match missing {
            Some(key) if e.key.is_none() && (kind.keys)().contains(&key) => {
                let example = (kind.example)()
                    .lines()
                    .find(|l| l.split('=').next().is_some_and(|k| k.trim() == key));
                let reason = match example {
                    Some(line) => format!("kind = \"{}\" needs `{key}`, e.g. {line}", kind.name),
                    None => format!("kind = \"{}\" needs `{key}`", kind.name),
                };
                self.invalid(at, key, reason)
            }
            _ => self.at(e.span, e.message),
        }
    }

    /// An error located at `span` of the document.
    fn at(&self, span: Range<usize>, reason: String) -> ConfigError {
        ConfigError::at(self.origin, self.text, span.start, reason)
    }

    /// A broken rule of `key`, on the line the key (or the table) was written.
    fn invalid(&self, at: &Positions, key: &str, reason: String) -> ConfigError {
        let line = ConfigError::line_of(self.text, at.of_key(key).start);
        ConfigError::invalid(self.origin, Some(line), &at.path(key), &reason)
    }
}
