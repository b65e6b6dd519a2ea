//! One cycle and one scrape of snapbridge at 10k and 100k series.
//!
//! Synthetic data, the same shape as the peer measurements in docs/BENCHMARKS.md: N series
//! over 50 metric names, 3 labels each, half counters, half gauges. Run:
//!
//!     cargo bench --bench pipeline
//!
//! - `cycle/N`: normalise + DeltaTracker + publish (self-metrics and the text body
//!   rendered) for one snapshot of N series, in steady state (every series already known,
//!   counters moving). The pull itself is excluded: the snapshot the pipeline handed back
//!   is refilled with the next values outside the timer.
//! - `cycle/with_pull/N`: the same with the refill (what a source implementing
//!   `MetricsSource::snapshot_into` does) inside the timer.
//! - `render/N`: the text body alone, from a published view, from scratch (what the first
//!   cycle, a cycle after churn and the OpenMetrics form cost);
//! - `render/cached/N`: the same body in steady state, from the cached line prefixes
//!   (`LinePrefixes`: what every cycle with unchanged series costs);
//! - `render/gzip/N`: compressing the text body, done once per view for the first scrape
//!   that accepts gzip (Prometheus does);
//! - `render/openmetrics/N` and `render/openmetrics_cached/N`: the OpenMetrics body (what
//!   Prometheus asks for, rendered on its first scrape of a view) from scratch and from the
//!   view's line prefixes.
//! - `scrape/plain/N` and `scrape/gzip/N`: a full HTTP GET of `/metrics` on loopback from a
//!   cached view (what a Prometheus scrape costs snapbridge plus the client);
//! - `scrape/16_concurrent/N`: 16 scrapers at once (the time until all 16 have their body).
//!
//! `SNAPBRIDGE_BENCH_1M=1 cargo bench --bench pipeline` adds 1M series.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

mod common;
use common::{pipeline, recycling_pipeline, refill, synthetic};
use snapbridge::sinks::prometheus::render::render_from_scratch;
use snapbridge::sinks::prometheus::{Format, render};
use snapbridge::sources::SourceConfig;

/// 10k and 100k series; `SNAPBRIDGE_BENCH_1M=1` adds 1M.
fn sizes() -> Vec<usize> {
    let mut n = vec![10_000, 100_000];
    if std::env::var("SNAPBRIDGE_BENCH_1M").is_ok() {
        n.push(1_000_000);
    }
    n
}

fn bench_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("cycle");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for n in sizes() {
        let (mut p, spare) = recycling_pipeline();
        let mut step = 0u64;
        // Warm-up: every series known, and the snapshot handed back to be refilled.
        for _ in 0..2 {
            step += 1;
            let snap = refill(&spare, n, step);
            p.publish(SystemTime::now(), vec![(Ok(snap), Duration::ZERO)]);
        }
        group.bench_function(format!("{n}"), |b| {
            b.iter_batched(
                || {
                    step += 1;
                    refill(&spare, n, step)
                },
                |snap| p.publish(SystemTime::now(), vec![(Ok(snap), Duration::ZERO)]),
                BatchSize::PerIteration,
            )
        });
        // The same with the pull: the source writes this cycle's values over the snapshot
        // handed back (as `MetricsSource::snapshot_into` does) inside the timer.
        group.bench_function(format!("with_pull/{n}"), |b| {
            b.iter(|| {
                step += 1;
                let snap = refill(&spare, n, step);
                p.publish(SystemTime::now(), vec![(Ok(snap), Duration::ZERO)])
            })
        });
    }
    group.finish();
}

fn bench_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for n in sizes() {
        let mut p = pipeline();
        let view = p.publish(
            SystemTime::now(),
            vec![(Ok(synthetic(n, 1).into()), Duration::ZERO)],
        );
        let hint = snapbridge::sinks::prometheus::body(&view, Format::Text, false).len();
        group.bench_function(format!("{n}"), |b| {
            b.iter(|| render_from_scratch(&view, Format::Text, hint))
        });
        // What a steady cycle runs: the same series as the cycle before, from the line
        // prefixes the pipeline attached to the view.
        let exposition = view
            .attachments
            .get::<snapbridge::sinks::prometheus::Exposition>();
        assert!(
            exposition.is_some_and(|e| e.prefixes.is_some()),
            "the cycle attached line prefixes"
        );
        group.bench_function(format!("cached/{n}"), |b| {
            b.iter(|| render(&view, Format::Text, hint))
        });
        let text = snapbridge::sinks::prometheus::body(&view, Format::Text, false);
        group.bench_function(format!("gzip/{n}"), |b| {
            b.iter(|| snapbridge::gzip::gzip(&text))
        });
        group.bench_function(format!("openmetrics/{n}"), |b| {
            b.iter(|| render_from_scratch(&view, Format::OpenMetrics, hint))
        });
        group.bench_function(format!("openmetrics_cached/{n}"), |b| {
            b.iter(|| render(&view, Format::OpenMetrics, hint))
        });
        // Protobuf has no line prefixes: every render is from the view.
        group.bench_function(format!("protobuf/{n}"), |b| {
            b.iter(|| render_from_scratch(&view, Format::Protobuf, hint))
        });
    }
    group.finish();
}

fn bench_scrape(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("scrape");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for n in sizes() {
        // The exporter as an application embeds it, its one cycle run by hand.
        let snapshot = synthetic(n, 1);
        let source = SourceConfig {
            max_series: 2_000_000,
            ..SourceConfig::new("bench")
        };
        let handle = {
            let _on = rt.enter();
            snapbridge::Builder::new()
                .listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .without_otlp()
                .manual_cycles()
                .source(source, Arc::new(move || Ok(snapshot.clone())))
                .spawn()
                .expect("exporter")
        };
        rt.block_on(handle.run_cycle()).expect("a cycle");
        let addr = handle.local_addr().expect("an endpoint");
        let url = format!("http://{addr}/metrics");
        let agent = ureq::AgentBuilder::new().build();
        // 16 scrapers at once: one iteration is 16 concurrent GETs, each on its own thread.
        group.bench_function(format!("16_concurrent/{n}"), |b| {
            b.iter(|| {
                std::thread::scope(|scope| {
                    for _ in 0..16 {
                        scope.spawn(|| {
                            let resp = ureq::get(&url).call().expect("scrape");
                            let mut body = Vec::new();
                            std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)
                                .expect("body");
                            body.len()
                        });
                    }
                })
            })
        });
        for (label, encoding) in [("plain", "identity"), ("gzip", "gzip")] {
            group.bench_function(format!("{label}/{n}"), |b| {
                b.iter(|| {
                    let resp = agent
                        .get(&url)
                        .set("Accept-Encoding", encoding)
                        .call()
                        .expect("scrape");
                    let mut body = Vec::new();
                    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).expect("body");
                    body.len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_cycle, bench_render, bench_scrape);
criterion_main!(benches);
