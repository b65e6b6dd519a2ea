//! `kind = "echo"`: a kind that exists only in the tests, to show what adding a kind takes:
//! this folder and one line in `source_kinds!` (`sources/mod.rs`). Nothing else in the
//! program names it: the config file reads its keys, the pipeline runs it, and its errors
//! name the file, the line and the key like every other kind's.
//!
//! Its snapshot is the numbers its config lists, times a factor.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use snapbridge_core::{Sample, Snapshot};

use super::{InProcess, KeyError, KindConfig, Source, SourceConfig};

/// The keys of `kind = "echo"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    /// The values the snapshot holds, `name = number`.
    pub values: BTreeMap<String, u64>,
    /// Each value is multiplied by this (at least 1).
    #[serde(default = "one")]
    pub times: u64,
}

fn one() -> u64 {
    1
}

impl KindConfig for EchoConfig {
    fn example() -> &'static str {
        "values = { requests = 1 }"
    }

    fn validate(&self, _: &SourceConfig) -> Result<(), KeyError> {
        if self.times == 0 {
            return Err(KeyError::new("times", "must be at least 1"));
        }
        Ok(())
    }

    fn build(&self, _: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        let samples: Vec<(String, u64)> = self
            .values
            .iter()
            .map(|(name, v)| (name.clone(), v.saturating_mul(self.times)))
            .collect();
        let snapshot = move || {
            Ok(samples
                .iter()
                .map(|(name, v)| Sample::untyped(name.as_str(), *v))
                .collect::<Snapshot>())
        };
        Ok(Arc::new(InProcess::new(Arc::new(snapshot))))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::pipeline::{Pipeline, PipelineSettings};

    fn parse(keys: &str) -> Result<Config, String> {
        let text = format!("[[source]]\nname = \"e\"\nkind = \"echo\"\n{keys}\n");
        Config::parse(&text, "echo.toml").map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn a_kind_registered_by_one_line_is_read_checked_and_run() {
        let config = parse(
            "values = { requests = 3, queue = 2 }\ntimes = 10\ncounters = [\"requests\"]\nlabels = { team = \"core\" }",
        )
        .unwrap();
        assert_eq!(config.sources[0].kind, "echo");
        let mut pipeline = Pipeline::new(PipelineSettings::default());
        pipeline.add_entry(&config.sources[0]).unwrap();
        let view = pipeline.run_cycle().await;
        let line = |name: &str| {
            view.points
                .iter()
                .find(|p| p.meta.family.exposed == name)
                .map(|p| (p.meta.rendered_labels.to_string(), format!("{:?}", p.value)))
        };
        let (labels, value) = line("requests_total").expect("a counter, by the common rules");
        assert_eq!(labels, "source=\"e\",team=\"core\"");
        assert!(value.contains("Int(30)"), "{value}");
        assert!(line("queue").is_some(), "a gauge by default");
        assert_eq!(view.sources[0].kind, "echo");
    }

    #[test]
    fn its_errors_name_the_file_the_line_and_the_key() {
        let e = parse("values = { a = 1 }\ntimes = \"many\"").unwrap_err();
        assert!(e.starts_with("echo.toml:5:") && e.contains("key `times`"), "{e}");
        let e = parse("values = { a = 1 }\ntimes = 0").unwrap_err();
        assert!(e.contains("key `source[0] (e).times`: must be at least 1"), "{e}");
        let e = parse("").unwrap_err();
        assert!(e.contains("needs `values`, e.g. values = { requests = 1 }"), "{e}");
        let e = parse("values = { a = 1 }\nurl = \"http://h/\"").unwrap_err();
        assert!(e.contains("only kind = \"http\" or \"redis\""), "{e}");
        let e = parse("values = { a = 1 }\nvalue = 1").unwrap_err();
        assert!(e.starts_with("echo.toml:5:") && e.contains("unknown field `value`"), "{e}");
    }
}
