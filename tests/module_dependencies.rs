//! The modules of `src/` depend one way. Read from the source text: every `crate::`,
//! `super::` and `self::` path outside comments and test modules, `use` lines included.
//!
//! - No two sibling modules use each other (at any depth: `config` and `sources`,
//!   `pipeline::selfmetrics` and `pipeline::source_runtime`...).
//! - `view` and `pipeline` use nothing from `sinks`: a sink adds what it needs through the
//!   pipeline's publish hook.
//! - The top-level modules form layers, each using only the ones below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// The layers of `src/`, lowest first; a module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["names", "features", "redact"],
    &[
        "blocking",
        "gzip",
        "http_client",
        "labels",
        "limits",
        "protowire",
        "regular_file",
        "text",
        "values",
    ],
    &["view"],
    &["sources"],
    &["pipeline"],
    &["sinks"],
    &["config"],
    &["exporter"],
    &["cli"],
];

/// Every module file of `src/` (the binary's `main.rs` aside), by module path.
fn module_files() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        match parts.last().map(String::as_str) {
            Some("main") if parts.len() == 1 => continue,
            // Test files are test code.
            Some(name) if name == "tests" || name.ends_with("_tests") => continue,
            Some("mod") | Some("lib") => {
                parts.pop();
            }
            _ => {}
        }
        modules.insert(parts, file);
    }
    modules
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty());
        if t == "#[cfg(test)]" && next.is_some_and(|n| n.starts_with("mod ")) {
            // Test modules come last in every file.
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line.split(" //").next().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The paths a `use` tree names: `crate::{a, b::{c, d}}` is `crate::a`, `crate::b::c`...
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(tree).trim().to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| match p.as_str() {
            "self" => prefix.to_string(),
            _ => format!("{prefix}::{p}"),
        })
        .collect()
}

/// Every `crate::`/`super::`/`self::` path of some code: in `use` items and in expressions.
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    // `use` items first (they may span lines and hold trees), then take them out.
    let mut without_uses = String::new();
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let is_item = before
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let item = &rest[at + 4..at + end];
        let first = item.trim_start();
        if is_item
            && ["crate::", "super::", "self::"]
                .iter()
                .any(|p| first.starts_with(p))
        {
            found.extend(expand(&item.split_whitespace().collect::<String>()));
            without_uses.push_str(before);
            rest = &rest[at + end + 1..];
        } else {
            without_uses.push_str(&rest[..at + 4]);
            rest = &rest[at + 4..];
        }
    }
    without_uses.push_str(rest);
    let bytes = without_uses.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = without_uses[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = without_uses[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(without_uses.len(), |e| at + e);
            found.push(without_uses[at..end].trim_end_matches(':').to_string());
        }
    }
    found
}

/// The module a path names, from the file of module `here`.
fn resolve(
    path: &str,
    here: &Module,
    modules: &BTreeMap<Module, PathBuf>,
    root_exports: &BTreeMap<String, String>,
) -> Option<Module> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    // `self` is the file's own module (`a::b` for `a/b.rs` and for `a/b/mod.rs`), `super`
    // its parent.
    let mut base: Module = here.clone();
    match segments.first().copied() {
        Some("crate") => base.clear(),
        Some("self") => {}
        Some("super") => {
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
            segments.insert(0, "super");
        }
        _ => return None,
    }
    segments.remove(0);
    let mut target = base;
    for s in segments {
        let mut next = target.clone();
        next.push(s.to_string());
        if modules.contains_key(&next) {
            target = next;
        } else {
            if target.is_empty()
                && let Some(m) = root_exports.get(s)
            {
                target = vec![m.clone()];
            }
            break;
        }
    }
    Some(target)
}

/// Names re-exported at the crate root (`pub use exporter::{Builder, Error}`), by module.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub use "))
    {
        for path in expand(line.trim_end_matches(';')) {
            let mut parts = path.split("::");
            if let (Some(module), Some(name)) = (parts.next(), parts.last()) {
                out.insert(name.to_string(), module.to_string());
            }
        }
    }
    out
}

/// File module -> the modules it uses (neither itself, nor an ancestor, nor a descendant).
fn edges() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = module_files();
    let lib = std::fs::read_to_string(&modules[&Vec::new()]).expect("lib.rs");
    let exports = root_exports(&lib);
    let mut out = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read module");
        let mut uses = BTreeSet::new();
        for path in paths(&code(&text)) {
            let Some(target) = resolve(&path, module, &modules, &exports) else {
                continue;
            };
            let related = target.starts_with(module) || module.starts_with(&target);
            if !related {
                uses.insert(target);
            }
        }
        out.insert(module.clone(), uses);
    }
    out
}

/// True when some module under `a` uses some module under `b`.
fn uses(edges: &BTreeMap<Module, BTreeSet<Module>>, a: &Module, b: &Module) -> bool {
    edges
        .iter()
        .filter(|(from, _)| from.starts_with(a))
        .any(|(_, to)| to.iter().any(|t| t.starts_with(b)))
}

fn show(m: &Module) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

#[test]
fn the_reader_sees_the_uses_it_must() {
    let e = edges();
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Module>();
    assert!(uses(&e, &m("pipeline"), &m("sources")), "{e:?}");
    assert!(uses(&e, &m("sinks"), &m("pipeline")));
    assert!(uses(&e, &m("view"), &m("labels")), "view renders labels");
    assert!(
        uses(&e, &m("cli"), &m("exporter")),
        "through `crate::Builder`"
    );
    assert!(uses(
        &e,
        &m("pipeline::selfmetrics"),
        &m("pipeline::families")
    ));
    assert_eq!(
        expand("crate::{a, b::{c, d as e}, f::{self, g}}"),
        [
            "crate::a",
            "crate::b::c",
            "crate::b::d",
            "crate::f",
            "crate::f::g"
        ]
    );
}

#[test]
fn no_two_modules_use_each_other() {
    let e = edges();
    let all: BTreeSet<Module> = module_files().into_keys().collect();
    let mut cycles = Vec::new();
    for a in &all {
        for b in &all {
            let siblings = !a.is_empty()
                && a.len() == b.len()
                && a[..a.len() - 1] == b[..b.len() - 1]
                && a < b;
            if siblings && uses(&e, a, b) && uses(&e, b, a) {
                cycles.push(format!("{} <-> {}", show(a), show(b)));
            }
        }
    }
    assert!(cycles.is_empty(), "modules that use each other: {cycles:?}");
}

#[test]
fn view_and_pipeline_use_nothing_from_sinks() {
    let e = edges();
    let sinks = vec!["sinks".to_string()];
    for module in ["view", "pipeline"] {
        let m = vec![module.to_string()];
        let offenders: Vec<String> = e
            .iter()
            .filter(|(from, _)| from.starts_with(&m))
            .flat_map(|(from, to)| {
                to.iter()
                    .filter(|t| t.starts_with(&sinks))
                    .map(move |t| format!("{} uses {}", show(from), show(t)))
            })
            .collect();
        assert!(offenders.is_empty(), "{offenders:?}");
    }
}

#[test]
fn top_level_modules_use_only_lower_layers() {
    let e = edges();
    let layer = |name: &str| LAYERS.iter().position(|l| l.contains(&name));
    let mut wrong = Vec::new();
    for (from, to) in &e {
        let Some(top) = from.first() else { continue };
        let Some(own) = layer(top) else {
            wrong.push(format!("{top} is in no layer of this test"));
            continue;
        };
        for t in to {
            let Some(target) = t.first() else { continue };
            if target != top && layer(target).is_none_or(|l| l >= own) {
                wrong.push(format!("{} uses {}", show(from), show(t)));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
