//! `docs/CONFIG.md`, the reference of every config key, is generated from the config types:
//! their keys (as serde reads them), their Rust types and their doc comments. This test
//! writes the reference and fails when the committed file differs, so the two cannot drift;
//! `SNAPBRIDGE_BLESS=1 cargo test --test config_reference` rewrites the file.
//!
//! A doc comment's `Default: ...` sentence is the default column; where it is one TOML
//! value in backticks, the test checks that writing that value changes nothing.

use std::path::{Path, PathBuf};

use snapbridge::config::{Config, OtlpConfig, PrometheusConfig, SourceConfig, TlsServerConfig};
use snapbridge::sinks::otlp::Settings;
use snapbridge::values::{BasicAuth, keys_of};

/// One key as its struct declares it.
#[derive(Debug)]
struct Key {
    name: String,
    rust: String,
    required: bool,
    doc: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The keys of `pub struct name` in `file`, with their types and doc comments.
fn struct_keys(file: &Path, name: &str) -> Vec<Key> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let start = text
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name} in {file:?}"));
    let (mut keys, mut doc, mut attrs) = (Vec::new(), Vec::<String>::new(), String::new());
    for line in text[start..].lines().skip(1) {
        let t = line.trim();
        if t == "}" {
            break;
        }
        if let Some(d) = t.strip_prefix("///") {
            doc.push(plain_links(d.trim()));
        } else if t.starts_with("#[") {
            attrs.push_str(t);
        } else if let Some((field, rust)) = t.trim_end_matches(',').split_once(": ") {
            let field = field.trim_start_matches("pub ").trim();
            let renamed = attrs
                .split("rename = \"")
                .nth(1)
                .and_then(|r| r.split('"').next());
            // A key's stand-in for a build without its feature (it only refuses the key)
            // is not a key of its own.
            let stand_in = attrs.contains("cfg(not(feature");
            if !attrs.contains("skip") && !stand_in {
                let optional = rust.starts_with("Option<") || attrs.contains("default");
                keys.push(Key {
                    name: renamed.unwrap_or(field).to_string(),
                    rust: rust.to_string(),
                    required: !optional,
                    doc: doc.join(" "),
                });
            }
            doc.clear();
            attrs.clear();
        } else if !t.is_empty() && !t.starts_with("//") {
            doc.clear();
            attrs.clear();
        }
    }
    keys
}

/// Rustdoc links as plain code: `[`X`]` and `[`X`](path)` become `X` in backticks.
fn plain_links(doc: &str) -> String {
    let mut out = String::new();
    let mut rest = doc;
    while let Some(at) = rest.find("[`") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find("`]") else {
            out.push_str(&rest[at..]);
            return out;
        };
        out.push_str(&after[..end + 1]);
        rest = &after[end + 2..];
        if rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            rest = &rest[close + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The TOML type of a Rust config type, as the reference writes it.
fn toml_type(rust: &str) -> String {
    let inner = rust
        .strip_prefix("Option<")
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(rust);
    let named = match inner.rsplit("::").next().unwrap_or(inner) {
        "String" => "string",
        "bool" => "boolean",
        "u32" | "u64" | "usize" => "integer",
        "DurationValue" => "duration (`\"500ms\"`, `\"10s\"`, `\"1h 30m\"`)",
        "PathBuf" => "path",
        "SocketAddr" => "address (`\"host:port\"`)",
        "GlobList" => "array of globs",
        "DefaultKind" => "`\"gauge\"`, `\"counter\"` or `\"ignore\"`",
        "InitialValue" => "`\"keep\"` or `\"drop\"`",
        "BTreeMap<String, String>" => "table of strings",
        "BTreeMap<String, Secret>" | "Headers" => "table of strings (secret)",
        "Vec<String>" => "array of strings",
        "Vec<f64>" => "array of numbers",
        "Shard" => "`\"i/n\"`",
        "SourceUrl" => "URL",
        "Secret" => "string (secret)",
        "ByteSize" => "size (bytes, or `\"512KiB\"`, `\"16MiB\"`)",
        "JsonPointer" => "JSON pointer (`\"/metrics\"`)",
        "BasicAuth" => "table (below)",
        "Protocol" => "`\"grpc\"` or `\"http/protobuf\"`",
        "Temporality" => "`\"cumulative\"` or `\"delta\"`",
        "Compression" => "`\"none\"` or `\"gzip\"`",
        "TranslationStrategy" => {
            "`\"UnderscoreEscapingWithSuffixes\"`, `\"NoUTF8EscapingWithSuffixes\"` or `\"NoTranslation\"`"
        }
        "PrometheusConfig" | "OtlpConfig" | "TlsServerConfig" => "table (below)",
        "Vec<Table>" => "array of tables (below)",
        other => panic!("tests/config_reference.rs: give the TOML type of `{other}`"),
    };
    named.to_string()
}

/// The default column and the meaning column of a doc comment.
fn split_default(key: &Key) -> (String, String) {
    match key.doc.split_once("Default: ") {
        Some((meaning, default)) => (
            default.trim().trim_end_matches('.').to_string(),
            meaning.trim().to_string(),
        ),
        None if key.required => ("required".into(), key.doc.clone()),
        None => ("not set".into(), key.doc.clone()),
    }
}

/// A section of the reference: a heading, a sentence, and the table of its keys.
fn section(out: &mut String, heading: &str, intro: &str, keys: &[Key], known: &[&str]) {
    let mut names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    let mut want = known.to_vec();
    names.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        names, want,
        "{heading}: the keys read from the source are not serde's"
    );
    out.push_str(&format!("\n## {heading}\n\n{intro}\n\n"));
    out.push_str("| key | type | default | meaning |\n|---|---|---|---|\n");
    for key in keys {
        let (default, meaning) = split_default(key);
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            key.name,
            toml_type(&key.rust),
            default,
            meaning.replace('|', "\\|")
        ));
    }
}

/// The source kinds: name, keys (from the registry), the struct and file that declare them.
fn kinds() -> Vec<(
    &'static str,
    &'static [&'static str],
    &'static str,
    PathBuf,
    String,
)> {
    snapbridge::sources::kinds()
        .iter()
        .map(|k| {
            let dir = root().join("src/sources").join(k.name);
            let files = [dir.join("config.rs"), dir.join("mod.rs")];
            let (file, ty) = files
                .iter()
                .find_map(|f| {
                    let text = std::fs::read_to_string(f).ok()?;
                    let after = text.split("impl KindConfig for ").nth(1)?;
                    Some((f.clone(), after.split_whitespace().next()?.to_string()))
                })
                .unwrap_or_else(|| panic!("no `impl KindConfig` in {dir:?}"));
            (k.name, (k.keys)(), (k.example)(), file, ty)
        })
        .collect()
}

fn reference() -> String {
    let src = root().join("src");
    let mut out = String::from(
        "# Configuration reference\n\n\
         Every key of the configuration file (`snapbridge --config FILE`), by section. The file\n\
         is TOML; a key that is not listed here is an error that names its file and line.\n\n\
         This page is generated from the config types and their doc comments by\n\
         `tests/config_reference.rs`, which fails when the two differ; after changing a key,\n\
         `SNAPBRIDGE_BLESS=1 cargo test --test config_reference` writes it again.\n",
    );
    section(
        &mut out,
        "Global keys",
        "At the top of the file, before any `[section]`.",
        &struct_keys(&src.join("config/mod.rs"), "Config"),
        keys_of::<Config>(),
    );
    section(
        &mut out,
        "`[prometheus]`",
        "The `/metrics` endpoint (also `/healthz` and a status page on `/`).",
        &struct_keys(&src.join("sinks/prometheus/config.rs"), "PrometheusConfig"),
        keys_of::<PrometheusConfig>(),
    );
    section(
        &mut out,
        "`[prometheus.tls_server_config]`",
        "Serve HTTPS instead of HTTP.",
        &struct_keys(&src.join("sinks/prometheus/config.rs"), "TlsServerConfig"),
        keys_of::<TlsServerConfig>(),
    );
    section(
        &mut out,
        "`[otlp]`",
        "OTLP push. The standard `OTEL_EXPORTER_OTLP_*`, `OTEL_RESOURCE_ATTRIBUTES` and \
         `OTEL_SERVICE_NAME` variables fill what the section leaves out (the file wins); \
         without the section and without an `OTEL_EXPORTER_OTLP_ENDPOINT` nothing is pushed.",
        &struct_keys(&src.join("sinks/otlp/config.rs"), "OtlpConfig"),
        keys_of::<OtlpConfig>(),
    );
    section(
        &mut out,
        "`[[source]]`: the keys every source has",
        "One `[[source]]` table per source. `kind` selects the kind (one of the sections \
         below) and its own keys, written in the same table as these.",
        &struct_keys(&src.join("sources/config.rs"), "SourceConfig"),
        keys_of::<SourceConfig>(),
    );
    for (name, keys, example, file, ty) in kinds() {
        let example = if example.is_empty() {
            String::new()
        } else {
            format!(" It needs, for example:\n\n```toml\n{example}\n```")
        };
        section(
            &mut out,
            &format!("`[[source]]` with `kind = \"{name}\"`"),
            &format!("Its own keys, next to the keys every source has.{example}"),
            &struct_keys(&file, &ty),
            keys,
        );
    }
    section(
        &mut out,
        "`basic_auth` of `kind = \"http\"`",
        "An inline table: `basic_auth = { username = \"...\", password = \"...\" }`.",
        &struct_keys(&src.join("values/secret.rs"), "BasicAuth"),
        keys_of::<BasicAuth>(),
    );
    out
}

#[test]
fn the_reference_is_what_the_config_types_say() {
    let want = reference();
    let path = root().join("docs/CONFIG.md");
    if std::env::var_os("SNAPBRIDGE_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/CONFIG.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "docs/CONFIG.md is not what the config types say (first difference at line {}): \
             run SNAPBRIDGE_BLESS=1 cargo test --test config_reference\nwant: {:?}\nhave: {:?}",
            line + 1,
            want.lines().nth(line),
            have.lines().nth(line)
        );
    }
}

/// The literal defaults of a section: `(key, literal)` for each `Default: \`...\`` sentence.
fn literal_defaults(file: &str, ty: &str) -> Vec<(String, String)> {
    struct_keys(&root().join("src").join(file), ty)
        .into_iter()
        .filter_map(|k| {
            let (default, _) = split_default(&k);
            let literal = default.strip_prefix('`')?.strip_suffix('`')?.to_string();
            (!literal.contains('`')).then_some((k.name, literal))
        })
        .collect()
}

/// A section's file and struct, and how to read the struct with extra keys (as a string
/// to compare).
type DefaultsCase<'a> = (&'a str, &'a str, &'a dyn Fn(&str) -> String);

#[test]
fn written_defaults_are_the_defaults() {
    let cases: [DefaultsCase; 4] = [
        ("config/mod.rs", "Config", &|extra| {
            format!("{:?}", Config::parse(extra, "t").expect("parses"))
        }),
        ("sinks/prometheus/config.rs", "PrometheusConfig", &|extra| {
            let config: PrometheusConfig = toml::from_str(extra).expect("parses");
            format!("{config:?}")
        }),
        ("sources/config.rs", "SourceConfig", &|extra| {
            let config: SourceConfig =
                toml::from_str(&format!("name = \"s\"\n{extra}")).expect("parses");
            format!("{config:?}")
        }),
        ("sinks/otlp/config.rs", "OtlpConfig", &|extra| {
            // The OTLP defaults are applied when the settings are resolved.
            let config: OtlpConfig = toml::from_str(extra).expect("parses");
            format!("{:?}", Settings::resolve(Some(&config), |_| None, "i"))
        }),
    ];
    let mut checked = 0;
    for (file, ty, read) in cases {
        let base = read("");
        for (key, literal) in literal_defaults(file, ty) {
            assert_eq!(
                read(&format!("{key} = {literal}\n")),
                base,
                "{ty}.{key}: the documented default {literal} is not the default"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} defaults checked");
}
