//! The `snapbridge` command.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    snapbridge::cli::main()
}

/// Caps glibc's malloc at two arenas unless `MALLOC_ARENA_MAX` says otherwise.
///
/// glibc gives each thread that allocates under contention an arena of its own, up to
/// eight per core. snapbridge's allocations come from the tokio workers and the blocking
/// pool that parses large documents, so a snapshot allocated on one thread is freed on
/// another and each arena keeps its own free memory: bridging 100k series, RSS was 235 MB
/// with the default and 187 MB with two arenas, for the same CPU (docs/BENCHMARKS.md). The
/// binary only: a library does not set its host's allocator policy.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only adjusts glibc's allocator settings; called before any other
        // thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
