//! CPU work on the async runtime without stalling the tasks queued behind it.

/// Runs `work` (tracking, rendering, compressing: tens of milliseconds at 100k series, most
/// of a second at 1M) so that it does not hold up the tasks queued on this async worker: on
/// a multi-threaded runtime tokio hands them to another thread meanwhile, so scrapes keep
/// being answered while a cycle is published or a body compressed. Elsewhere (no runtime,
/// or a current-thread one, where `block_in_place` would panic) it simply runs `work`.
pub fn off_the_reactor<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
