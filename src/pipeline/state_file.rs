//! The state file: every source's tracker state and the push sinks' state (what they
//! delivered), saved after each cycle and read at start.
//!
//! Without it a restart forgets each counter's running total: a source that had reset
//! before would then restart its exported total from its raw value, and Prometheus would
//! count that as a reset and add the raw value again. The file is written to a temporary
//! name, synced and renamed, so a crash leaves the old file or the new one, never half of
//! one; a file that cannot be read back is reported and ignored, never fatal.

use std::io::Write;
use std::path::{Path, PathBuf};

use snapbridge_core::{DeltaTracker, TrackerConfig};

use super::DurableState;
use super::source_runtime::SourceRuntime;

/// Version 2 adds sink sections; a version 1 file (sources only) is read as well.
const HEADER: &str = "snapbridge-state\t2";
const HEADER_V1: &str = "snapbridge-state\t1";
const SECTION: &str = "@source\t";
const SINK_SECTION: &str = "@sink\t";

/// What a state file holds: each source's and each sink's saved state, by name.
#[derive(Debug, Default)]
pub struct Loaded {
    /// (source name, tracker state), every one checked.
    pub sources: Vec<(String, String)>,
    /// (sink section name, its state), checked by the sink that reads it.
    pub sinks: Vec<(String, String)>,
}

/// Writes the state of `sources` and `sinks` to `path` atomically.
pub fn save(
    path: &Path,
    sources: &[SourceRuntime],
    sinks: &[(String, Box<dyn DurableState>)],
) -> Result<(), String> {
    let mut text = String::from(HEADER);
    text.push('\n');
    for s in sources {
        text.push_str(SECTION);
        text.push_str(&escape_name(s.name()));
        text.push('\n');
        s.save_state(&mut text);
    }
    for (name, state) in sinks {
        text.push_str(SINK_SECTION);
        text.push_str(&escape_name(name));
        text.push('\n');
        state.save(&mut text);
    }
    // The rename below would replace whatever is at `path`: with a state_file mistyped as
    // a device or a FIFO (and running as root) that would put a regular file in its place.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(format!(
            "cannot write the state file {}: not a regular file, left as it is",
            path.display()
        ));
    }
    let tmp = tmp_path(path);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot write the state file {}: {e}", path.display()))
}

/// Reads `path`: each source's saved state, by source name, every section checked, and
/// each sink's. A missing file is a first start (nothing); a malformed one is an error and
/// yields nothing.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = match read_bounded(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => {
            return Err(format!(
                "cannot read the state file {}: {e}",
                path.display()
            ));
        }
    };
    let bad = |what: String| {
        format!(
            "state file {} is corrupt ({what}); ignoring it",
            path.display()
        )
    };
    let mut lines = text.split_inclusive('\n');
    if !matches!(lines.next().map(str::trim_end), Some(HEADER | HEADER_V1)) {
        return Err(bad("no header".into()));
    }
    let mut loaded = Loaded::default();
    // Where the lines go: the last section opened.
    let mut current: Option<&mut (String, String)> = None;
    for line in lines {
        let bare = line.trim_end_matches('\n');
        if let Some(name) = bare.strip_prefix(SECTION) {
            loaded.sources.push((unescape_name(name), String::new()));
            current = loaded.sources.last_mut();
        } else if let Some(name) = bare.strip_prefix(SINK_SECTION) {
            loaded.sinks.push((unescape_name(name), String::new()));
            current = loaded.sinks.last_mut();
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        } else {
            return Err(bad("a series before any section".into()));
        }
    }
    // Check every source section now, so a bad one restores nothing at all.
    for (name, body) in &loaded.sources {
        let mut probe: DeltaTracker<()> = DeltaTracker::new(TrackerConfig::default());
        probe
            .restore_state(body)
            .map_err(|e| bad(format!("source {name:?}: {e}")))?;
    }
    Ok(loaded)
}

/// Largest state file read: far above 100 000 series per source for many sources, and
/// a bound on what a wrong path (a device, a huge unrelated file) can make us allocate.
const MAX_BYTES: u64 = 1 << 30;

/// The text of `path` if it is a regular file of at most [`MAX_BYTES`]: opened without
/// blocking, so a FIFO there fails at once instead of hanging the start with no output,
/// and `/dev/zero` is refused instead of read until memory runs out.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let (file, meta) = crate::regular_file::open(path)?;
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_BYTES} bytes"),
        )
    };
    if meta.len() > MAX_BYTES {
        return Err(too_big());
    }
    let mut text = String::new();
    file.take(MAX_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_BYTES {
        return Err(too_big());
    }
    Ok(text)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn escape_name(name: &str) -> String {
    name.replace('%', "%25")
        .replace('\n', "%0A")
        .replace('\t', "%09")
}

fn unescape_name(name: &str) -> String {
    name.replace("%09", "\t")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_is_neither_read_nor_replaced() {
        let zero = Path::new("/dev/zero");
        let e = load(zero).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = save(zero, &[], &[]).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let meta = std::fs::metadata(zero).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &meta.file_type()
        ));
    }
}
