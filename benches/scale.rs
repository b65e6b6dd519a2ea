//! Scaling: cycle and render time, allocations per steady-state cycle and resident memory per
//! series at 10k, 100k and 1M series (synthetic data of benches/common). Run:
//!
//!     cargo bench --bench scale
//!
//! Each size runs in a fresh pipeline: 3 warm-up cycles, then 5 measured ones (medians).
//! The cycle renders nothing; "render on the first scrape" is what the first scrape of each
//! view costs, as a scrape gets it (`body()`: in steady state from the cached line
//! prefixes); "render from scratch" is `render()` of the same view (the first cycle, a
//! cycle after churn).
//! Resident memory is the process' VmRSS growth while the pipeline with its published view
//! and its text body (rendered as for a scrape) is alive, divided by the series count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use snapbridge::sinks::prometheus::render::{Format, render_from_scratch};

mod common;

/// Counts allocations, to show which ones grow with the series count.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarding the caller's layout to the system allocator unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .map(|v| v.trim().trim_end_matches("kB").trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; this harness takes no arguments.
    let sizes = [10_000usize, 100_000, 1_000_000];
    println!(
        "| series | cycle (ns/series) | render on the first scrape (ns/series) | render from scratch (ns/series) | allocations per cycle (pipeline / per series) | RSS per series | body |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut points = Vec::new();
    for n in sizes {
        let base_rss = rss_kib();
        let (mut p, spare) = common::recycling_pipeline();
        let mut step = 0;
        for _ in 0..3 {
            step += 1;
            let snap = common::refill(&spare, n, step);
            p.publish(SystemTime::now(), vec![(Ok(snap), Duration::ZERO)]);
        }
        let (mut cycles, mut renders, mut allocs) = (Vec::new(), Vec::new(), Vec::new());
        let mut in_cycle = Vec::new();
        let mut body = 0;
        for _ in 0..5 {
            step += 1;
            let snap = common::refill(&spare, n, step);
            let a0 = ALLOCS.load(Ordering::Relaxed);
            let t = Instant::now();
            let view = p.publish(SystemTime::now(), vec![(Ok(snap), Duration::ZERO)]);
            cycles.push(t.elapsed());
            allocs.push(ALLOCS.load(Ordering::Relaxed) - a0);
            let t = Instant::now();
            let scraped = snapbridge::sinks::prometheus::body(&view, Format::Text, false);
            in_cycle.push(t.elapsed());
            assert!(!scraped.is_empty());
            let t = Instant::now();
            body = render_from_scratch(&view, Format::Text, body).len();
            renders.push(t.elapsed());
        }
        let rss = rss_kib().saturating_sub(base_rss);
        let (cycle, rend, rend_cycle) = (median(cycles), median(renders), median(in_cycle));
        allocs.sort();
        let a = allocs[allocs.len() / 2];
        println!(
            "| {n} | {:.0} | {:.0} | {:.0} | {a} / {:.3} | {} B | {:.1} MB |",
            cycle.as_nanos() as f64 / n as f64,
            rend_cycle.as_nanos() as f64 / n as f64,
            rend.as_nanos() as f64 / n as f64,
            a as f64 / n as f64,
            rss * 1024 / n as u64,
            body as f64 / 1e6
        );
        points.push((n as f64, cycle.as_secs_f64(), rend_cycle.as_secs_f64()));
        drop(p);
    }
    // Scaling exponent: the slope of log(time) over log(n), 10k to 1M.
    let (first, last) = (points[0], points[points.len() - 1]);
    let slope = (last.1.ln() - first.1.ln()) / (last.0.ln() - first.0.ln());
    println!("\ncycle time grows as n^{slope:.2} from 10k to 1M series");
    let at_1m = last.1 + last.2;
    println!(
        "1M series every 10 s: cycle and one scrape's render take {:.2} s, {:.0}% of one core",
        at_1m,
        at_1m / 10.0 * 100.0
    );
}
