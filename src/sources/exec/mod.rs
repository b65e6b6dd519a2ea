//! `kind = "exec"`: run a command each cycle and read a JSON snapshot from its stdout, the
//! bridge for any language (`python3 -c "import json, app; print(json.dumps(app.metrics.snapshot()))"`).
//!
//! Decisions:
//! - No shell: `command = ["prog", "arg"]` is run as given, with stdin closed.
//! - The child gets its own process group. On timeout (the source's own, a little shorter
//!   than the pipeline's) the group is killed by its id (the child's PID), so a hung
//!   command and anything it started are gone before the next cycle; if the pipeline drops
//!   the pull first, a guard does the same and tokio's `kill_on_drop` kills the child.
//! - Success is the command's own exit status: stdout is read until the command exits, then
//!   for at most 250 ms (`GRACE`) more, so a background child that keeps stdout open does not turn
//!   a finished command into a timeout.
//! - When a run ends, whatever the command left running is killed: its process group, and
//!   every process carrying the run's marker in its environment (`setsid` escapes); see
//!   [`leftovers`] for what is guaranteed.
//! - stderr is read to its end concurrently with stdout (a chatty command never blocks on
//!   a full pipe); only its first and last 8 KiB are kept.
//! - A non-zero exit fails the snapshot with the exit status and stderr's first (and last)
//!   line. Error messages name the program, never its arguments (they may carry secrets).
//! - stdout is read up to `max_bytes` (16 MiB by default); more fails the snapshot.

pub mod leftovers;
mod stderr;

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

/// How long stdout and stderr are still read once the command has exited: what it wrote
/// before exiting is in the pipe by then; a background child holding the pipe is not waited
/// for.
const GRACE: Duration = Duration::from_millis(250);

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
        let run = leftovers::Run::start();
        let (result, pgid) = self.run_marked(&run).await;
        run.finish(pgid);
        result
    }

    /// One run of the command; also returns its process group, for the sweep of leftovers.
    async fn run_marked(&self, run: &leftovers::Run) -> (Result<Pulled, String>, Option<i32>) {
        let spawned = run.spawn(|| {
            let child = Command::new(&self.program)
                .args(&self.args)
                .env(leftovers::MARKER_VAR, &run.marker)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .process_group(0)
                .spawn()?;
            let pid = child.id();
            Ok((child, pid))
        });
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return (Err(format!("cannot start: {e}")), None),
        };
        let pid = child.id().and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0);
        let mut guard = GroupGuard(pid);
        let result = self.supervise(&mut child, &mut guard).await;
        if let Some(pid) = pid {
            run.reaped(pid);
        }
        (result, pid)
    }

    async fn supervise(
        &self,
        child: &mut tokio::process::Child,
        guard: &mut GroupGuard,
    ) -> Result<Pulled, String> {
        let pid = child.id();
        let max = self.opts.max_bytes;
        let outcome = tokio::time::timeout(self.timeout, read_until_exit(child, max, self.opts.buffer.take())).await;
        let finish = |guard: &mut GroupGuard, child: &mut tokio::process::Child| {
            guard.kill();
            let _ = child.start_kill();
        };
        let (out, err, status) = match outcome {
            Err(_) => {
                finish(guard, child);
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
            finish(guard, child);
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            return Err(format!("stdout is larger than max_bytes = {max}"));
        };
        // Reaped: the PID may be reused from now on, so the guard must not fire.
        guard.0 = None;
        if !status.success() {
            return Err(match err.summary() {
                Some(line) => format!("exited with {status}: {line}"),
                None => format!("exited with {status} (nothing on stderr)"),
            });
        }
        document::parse_async(out, self.opts.clone())
            .await
            .map_err(|e| format!("stdout: {e}"))
    }
}

/// Reads stdout (up to `max` + 1 bytes) and all of stderr while waiting for the child to
/// exit, then at most [`GRACE`] longer. No exit status means stdout passed `max`.
/// Stdout goes into `out` (the source's kept buffer, empty).
async fn read_until_exit(
    child: &mut tokio::process::Child,
    max: u64,
    mut out: Vec<u8>,
) -> Result<(Vec<u8>, stderr::Captured, Option<std::process::ExitStatus>), String> {
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr_pipe = child.stderr.take().ok_or("no stderr pipe")?;
    let mut err = stderr::Captured::default();
    let (mut out_buf, mut err_buf) = (vec![0u8; 64 * 1024], vec![0u8; 16 * 1024]);
    let (mut out_done, mut err_done) = (false, false);
    let mut status = None;
    // Armed when the child exits.
    let grace = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(grace);
    while status.is_none() || !(out_done && err_done) {
        // Each branch's read is cancel-safe: bytes are kept only once a read completes.
        tokio::select! {
            r = stdout.read(&mut out_buf), if !out_done => {
                let n = r.map_err(|e| format!("cannot read stdout: {e}"))?;
                out.extend_from_slice(&out_buf[..n]);
                out_done = n == 0;
                if out.len() as u64 > max {
                    return Ok((out, err, None));
                }
            }
            r = stderr_pipe.read(&mut err_buf), if !err_done => {
                // A broken stderr is not the snapshot's problem: stop reading it.
                let n = r.unwrap_or(0);
                err.push(&err_buf[..n]);
                err_done = n == 0;
            }
            s = child.wait(), if status.is_none() => {
                status = Some(s.map_err(|e| format!("cannot wait for it: {e}"))?);
                grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
            // Exited, but something it left behind holds a pipe open: judge on what it wrote.
            _ = &mut grace => break,
        }
    }
    Ok((out, err, status))
}
