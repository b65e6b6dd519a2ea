//! `kind = "exec"`: run a command each cycle and read a JSON snapshot from its stdout, the
//! bridge for any language (`python3 -c "import json, app; print(json.dumps(app.metrics.snapshot()))"`).
//!
//! Decisions:
//! - No shell: `command = ["prog", "arg"]` is run as given, with stdin closed.
//! - The child gets its own process group. On timeout (the source's own, a little shorter
//!   than the pipeline's) the group is killed by its id (the child's PID), so a hung
//!   command and anything it started are gone before the next cycle; if the pipeline drops
//!   the pull first, a guard does the same and tokio's `kill_on_drop` kills the child.
//! - A non-zero exit fails the snapshot with the exit status and stderr's first line.
//!   Error messages name the program, never its arguments (they may carry secrets).
//! - stdout is read up to `max_bytes` (16 MiB by default); more fails the snapshot.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use snapbridge_core::{Snapshot, SourceError};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use serde::Deserialize;

use super::document::{self, DocumentOptions};
use super::{KeyError, KindConfig, PullFuture, Pulled, Source, SourceConfig, own_deadline};
use crate::values::{ByteSize, JsonPointer};

/// The command to run, and how to read what it prints.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// The program and its arguments, run without a shell.
    pub command: Vec<String>,
    /// JSON pointer to the metrics object inside the document, e.g. `"/metrics"`. Default:
    /// the whole document.
    pub pointer: Option<JsonPointer>,
    /// The most of stdout read; more fails the snapshot. Default: 16 MiB.
    pub max_bytes: Option<ByteSize>,
}

impl KindConfig for ExecConfig {
    fn example() -> &'static str {
        "command = [\"/usr/local/bin/app-metrics\", \"--json\"]"
    }

    fn validate(&self, _: &SourceConfig) -> Result<(), KeyError> {
        match self.command.first() {
            Some(program) if !program.trim().is_empty() => Ok(()),
            _ => Err(KeyError::new(
                "command",
                "must name a program: [\"prog\", \"arg\", ...]",
            )),
        }
    }

    fn build(&self, common: &SourceConfig) -> Result<Arc<dyn Source>, String> {
        Ok(Arc::new(ExecSource::new(self, common)?))
    }
}

/// Most of stderr kept for the error message.
const STDERR_BYTES: u64 = 64 * 1024;

/// A command whose stdout is a JSON snapshot.
pub struct ExecSource {
    inner: Arc<Inner>,
}

struct Inner {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    opts: Arc<DocumentOptions>,
}

impl ExecSource {
    /// The source an `exec` entry describes.
    pub fn new(config: &ExecConfig, common: &SourceConfig) -> Result<Self, String> {
        let (program, args) = config
            .command
            .split_first()
            .ok_or("kind = \"exec\" needs `command`")?;
        let opts = DocumentOptions::new(config.pointer.as_ref(), config.max_bytes, common);
        Ok(ExecSource {
            inner: Arc::new(Inner {
                program: program.clone(),
                args: args.to_vec(),
                opts: Arc::new(opts),
                timeout: own_deadline(common),
            }),
        })
    }
}

impl Source for ExecSource {
    fn pull(&self) -> PullFuture {
        Box::pin(self.inner.clone().pull())
    }

    fn recycle(&self, snapshot: Snapshot) {
        self.inner.opts.spare.put(snapshot.samples);
    }
}

/// Kills the child's process group when dropped while armed (the pull was abandoned).
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) takes plain integers. The group id is the PID of our own child,
            // which has not been reaped yet (we disarm before waiting on it completes), so it
            // cannot name another process group.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Inner {
    /// One run, its error naming the program (never its arguments: they may hold secrets).
    async fn pull(self: Arc<Self>) -> Result<Pulled, SourceError> {
        self.run()
            .await
            .map_err(|e| SourceError::new(format!("command {:?}: {e}", self.program)))
    }

    async fn run(&self) -> Result<Pulled, String> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start: {e}"))?;
        let pid = child.id();
        let mut guard = GroupGuard(pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0));
        let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let max = self.opts.max_bytes;
        let work = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut out_limited = (&mut stdout).take(max + 1);
            let mut err_limited = (&mut stderr).take(STDERR_BYTES);
            let (r_out, _) = tokio::join!(
                out_limited.read_to_end(&mut out),
                err_limited.read_to_end(&mut err)
            );
            r_out.map_err(|e| format!("cannot read stdout: {e}"))?;
            if out.len() as u64 > max {
                return Ok((out, err, None));
            }
            let status = child
                .wait()
                .await
                .map_err(|e| format!("cannot wait for it: {e}"))?;
            Ok::<_, String>((out, err, Some(status)))
        };
        let outcome = tokio::time::timeout(self.timeout, work).await;
        let (out, err, status) = match outcome {
            Err(_) => {
                guard.kill();
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
                return Err(format!(
                    "timed out after {} (killed pid {})",
                    humantime::format_duration(self.timeout),
                    pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
                ));
            }
            Ok(result) => result?,
        };
        let Some(status) = status else {
            guard.kill();
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            return Err(format!("stdout is larger than max_bytes = {max}"));
        };
        // Reaped: the PID may be reused from now on, so the guard must not fire.
        guard.0 = None;
        if !status.success() {
            let text = String::from_utf8_lossy(&err);
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            return Err(match first {
                Some(line) => format!("exited with {status}: {}", crate::text::shorten(line, 200)),
                None => format!("exited with {status} (nothing on stderr)"),
            });
        }
        document::parse_async(out, self.opts.clone())
            .await
            .map_err(|e| format!("stdout: {e}"))
    }
}
