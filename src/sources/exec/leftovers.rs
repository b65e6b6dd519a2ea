//! What a command leaves behind when it exits or is killed: background children still in
//! its process group, and children that left the group (`setsid`, a daemon's double fork).
//!
//! Each run's environment carries a marker ([`MARKER_VAR`] = a value unique to the run),
//! inherited by everything the command starts. When the run ends, every process of the
//! run's group, and every process whose environment carries the run's marker, is killed.
//! Without cgroups this is what can be found: a process that leaves the group *and* clears
//! its environment is found only when snapbridge is a child subreaper ([`adopt_orphans`],
//! the `snapbridge` binary does it): orphans are then re-parented to snapbridge instead of
//! init, and one that belongs to no run in flight is killed and reaped.
//!
//! Processes are found in `/proc` and signalled through a pidfd opened after a check of
//! their start time, so a PID reused in between is never signalled.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that marks every process a run started.
pub const MARKER_VAR: &str = "SNAPBRIDGE_EXEC_RUN";

/// Set once the process is a child subreaper: orphans come to us and are ours to reap.
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Main children spawned and not reaped yet (tokio reaps them: never wait on these), with
/// the markers of the runs in flight.
static IN_FLIGHT: Mutex<Option<InFlight>> = Mutex::new(None);

#[derive(Default)]
struct InFlight {
    pids: HashSet<i32>,
    markers: HashSet<String>,
}

fn in_flight<T>(f: impl FnOnce(&mut InFlight) -> T) -> T {
    let mut guard = IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(InFlight::default))
}

/// Makes this process a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so that what an
/// `exec` command leaves behind is re-parented here, where it can be killed and reaped.
/// For a process that starts no children of its own besides `exec` commands (the
/// `snapbridge` binary): any orphan that belongs to no run in flight is killed.
pub fn adopt_orphans() -> Result<(), String> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(format!(
            "cannot become a child subreaper: {}",
            std::io::Error::last_os_error()
        ));
    }
    SUBREAPER.store(true, Ordering::Relaxed);
    Ok(())
}

/// One run's identity: its marker, registered as in flight until dropped.
pub struct Run {
    /// The marker value, set as [`MARKER_VAR`] in the command's environment.
    pub marker: String,
    // Set once `clean` ran for this run; a run dropped before (the pull was abandoned)
    // cleans up in a thread of its own.
    cleaned: bool,
}

impl Run {
    /// A new run with a marker no other run of this process has.
    pub fn start() -> Run {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let marker = format!(
            "{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        in_flight(|f| f.markers.insert(marker.clone()));
        Run {
            marker,
            cleaned: false,
        }
    }

    /// Kills and reaps what the run left behind (see [`clean`]) in a blocking task of its
    /// own: the sweep is not part of the pull, so it never counts against its timeout.
    pub fn finish(mut self, pgid: Option<i32>) {
        self.cleaned = true;
        drop(tokio::task::spawn_blocking(move || {
            clean(&self.marker, pgid);
            // Dropped here: the run stays in flight until its leftovers are dealt with.
            drop(self);
        }));
    }

    /// Spawns with `spawn` while no sweep can reap the child before it is registered.
    pub fn spawn<T>(&self, spawn: impl FnOnce() -> std::io::Result<(T, Option<u32>)>) -> std::io::Result<T> {
        in_flight(|f| {
            let (child, pid) = spawn()?;
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                f.pids.insert(pid);
            }
            Ok(child)
        })
    }

    /// The main child `pid` has been reaped.
    pub fn reaped(&self, pid: i32) {
        in_flight(|f| f.pids.remove(&pid));
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        in_flight(|f| f.markers.remove(&self.marker));
        if !self.cleaned {
            let marker = std::mem::take(&mut self.marker);
            // Its group was killed by the run's guard; what left the group is found here.
            let _ = std::thread::Builder::new()
                .name("exec-leftovers".into())
                .spawn(move || clean(&marker, None));
        }
    }
}

/// What `/proc/<pid>/stat` says about a process.
struct Stat {
    state: char,
    ppid: i32,
    pgrp: i32,
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // Field 22 (starttime) is the 20th after the command name.
    let start = fields.nth(16)?.parse().ok()?;
    Some(Stat {
        state,
        ppid,
        pgrp,
        start,
    })
}

/// The run marker in `pid`'s environment, if it has one we can read.
fn marker_of(pid: i32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{MARKER_VAR}=");
    env.split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Sends SIGKILL to `pid` if it is still the process that started at `start`.
fn kill_checked(pid: i32, start: u64) {
    // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        // No pidfd (an old kernel): check and kill by PID, a window of microseconds.
        if stat(pid).is_some_and(|s| s.start == start) {
            // SAFETY: kill(2) takes plain integers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        return;
    }
    // The descriptor names one process for good: if it is the one we found, signal it.
    if stat(pid).is_some_and(|s| s.start == start) {
        // SAFETY: pidfd_send_signal with a valid descriptor, no siginfo, no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd,
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
    // SAFETY: fd was returned by pidfd_open above and is closed once.
    unsafe { libc::close(fd) };
}

/// Reaps `pid` if it is our child and has exited.
fn reap(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on one PID that is not a child tokio waits for.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == pid }
}

/// Kills what the run `marker` (whose main child led the process group `pgid`) left
/// behind, and reaps what became ours; returns how many processes were killed.
pub fn clean(marker: &str, pgid: Option<i32>) -> usize {
    let (killed, mut to_reap) = kill_where(|pid, s, ours| {
        // A main child still in flight is its run's to end (tokio reaps it).
        if ours && in_flight(|f| f.pids.contains(&pid)) {
            return false;
        }
        pgid.is_some_and(|g| g == s.pgrp) || {
            let m = marker_of(pid);
            m.as_deref() == Some(marker)
                // An adopted orphan of no run in flight: nobody else will end it.
                || (ours && !m.is_some_and(|m| in_flight(|f| f.markers.contains(&m))))
        }
    });
    if SUBREAPER.load(Ordering::Relaxed) {
        // A killed process takes a moment to become a zombie; its children come to us too
        // and are found by the next sweep.
        let deadline = Instant::now() + Duration::from_secs(1);
        to_reap.retain(|pid| !reap(*pid));
        while !to_reap.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            to_reap.retain(|pid| !reap(*pid));
        }
    }
    killed
}

/// At exit: kills whatever any run of this process left behind (a marker of this PID's
/// runs) and every orphan adopted as subreaper, sweeping until none is found (a killed
/// process' children come to us a moment later), at most for `limit`. A run's own sweep
/// is a task of the runtime, which may be gone by then: nothing may outlive the exporter.
pub fn sweep_at_exit(limit: Duration) -> usize {
    let prefix = format!("{}.", std::process::id());
    let deadline = Instant::now() + limit;
    let mut killed = 0;
    loop {
        let (found, to_reap) = kill_where(|pid, _, ours| {
            ours || marker_of(pid).is_some_and(|m| m.starts_with(&prefix))
        });
        for pid in to_reap {
            reap(pid);
        }
        killed += found;
        if found == 0 || Instant::now() >= deadline {
            return killed;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One pass over `/proc`: kills every live process `wanted(pid, stat, ours)` selects
/// (`ours`: an orphan adopted as subreaper), never this one. Returns how many were killed
/// and the adopted ones to reap: those killed, and zombies already.
fn kill_where(wanted: impl Fn(i32, &Stat, bool) -> bool) -> (usize, Vec<i32>) {
    let me = std::process::id() as i32;
    let adopted = SUBREAPER.load(Ordering::Relaxed);
    let (mut killed, mut to_reap) = (0, Vec::new());
    for pid in pids() {
        if pid == me {
            continue;
        }
        let Some(s) = stat(pid) else { continue };
        let ours = s.ppid == me && adopted;
        if s.state == 'Z' {
            if ours && !in_flight(|f| f.pids.contains(&pid)) {
                to_reap.push(pid);
            }
            continue;
        }
        if wanted(pid, &s, ours) {
            kill_checked(pid, s.start);
            killed += 1;
            if ours {
                to_reap.push(pid);
            }
        }
    }
    (killed, to_reap)
}
