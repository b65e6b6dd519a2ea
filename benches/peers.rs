//! snapbridge's exposition beside the libraries a user would otherwise use, in one run, on
//! the same synthetic data (benches/common). Run:
//!
//!     cargo bench --bench peers                       # 10k and 100k series
//!     SNAPBRIDGE_BENCH_1M=1 cargo bench --bench peers  # adds 1M
//!
//! Each case produces the text exposition of N series:
//! - `snapbridge_render`: snapbridge's writer rendering a published view from scratch (the
//!   first cycle, a cycle whose series changed, the OpenMetrics form);
//! - `snapbridge_steady`: the same body as a steady cycle renders it, from the view's line
//!   prefixes (`LinePrefixes`);
//! - `snapbridge_cached`: what a scrape costs snapbridge, a copy of the cached body;
//! - `prometheus_collector`: the `prometheus` crate, a custom Collector building its
//!   MetricFamily protos from the snapshot + gather + TextEncoder;
//! - `prometheus_vec`: the `prometheus` crate's CounterVec/GaugeVec, gather + encode;
//! - `prometheus_client`: `prometheus-client`'s encode of Family<Counter/Gauge>;
//! - `metrics_exporter`: `metrics-exporter-prometheus`'s render();
//! - `memcpy`: a copy of the finished body (the floor).

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use metrics::{Key, Label, Level, Metadata, Recorder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::gauge::Gauge as PcGauge;
use snapbridge::sinks::prometheus::render::render_from_scratch;
use snapbridge::sinks::prometheus::{Format, render};

mod common;
use common::{NAMES, labels, series, synthetic};

fn sizes() -> Vec<usize> {
    let mut n = vec![10_000, 100_000];
    if std::env::var("SNAPBRIDGE_BENCH_1M").is_ok() {
        n.push(1_000_000);
    }
    n
}

/// A custom Collector, the cheapest way to feed the `prometheus` crate a snapshot.
struct SnapshotCollector {
    n: usize,
    desc: Vec<Desc>,
}

impl Collector for SnapshotCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.desc.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families: Vec<MetricFamily> = (0..NAMES)
            .map(|i| {
                let (name, counter, _) = series(i, 1);
                let mut f = MetricFamily::default();
                f.set_name(if counter {
                    format!("{name}_total")
                } else {
                    name
                });
                f.set_help("synthetic".into());
                f.set_field_type(if counter {
                    MetricType::COUNTER
                } else {
                    MetricType::GAUGE
                });
                f
            })
            .collect();
        for i in 0..self.n {
            let (_, counter, value) = series(i, 1);
            let mut m = proto::Metric::default();
            let pairs: Vec<proto::LabelPair> = labels(i)
                .into_iter()
                .map(|(k, v)| {
                    let mut lp = proto::LabelPair::default();
                    lp.set_name(k.to_string());
                    lp.set_value(v);
                    lp
                })
                .collect();
            m.set_label(pairs);
            if counter {
                let mut c = proto::Counter::default();
                c.set_value(value);
                m.set_counter(c);
            } else {
                let mut g = proto::Gauge::default();
                g.set_value(value);
                m.set_gauge(g);
            }
            families[i % NAMES].mut_metric().push(m);
        }
        families
    }
}

fn bench_peers(c: &mut Criterion) {
    let mut group = c.benchmark_group("exposition");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for n in sizes() {
        // snapbridge: one published view, rendered as each cycle does.
        let mut p = common::pipeline();
        let view = p.publish(
            SystemTime::now(),
            vec![(Ok(synthetic(n, 1).into()), Duration::ZERO)],
        );
        let body = snapbridge::sinks::prometheus::body(&view, Format::Text, false);
        group.bench_function(format!("snapbridge_render/{n}"), |b| {
            b.iter(|| render_from_scratch(&view, Format::Text, body.len()))
        });
        group.bench_function(format!("snapbridge_steady/{n}"), |b| {
            b.iter(|| render(&view, Format::Text, body.len()))
        });
        group.bench_function(format!("snapbridge_cached/{n}"), |b| {
            b.iter(|| snapbridge::sinks::prometheus::body(&view, Format::Text, false))
        });
        group.bench_function(format!("memcpy/{n}"), |b| b.iter(|| body.to_vec()));

        // prometheus: a custom Collector + TextEncoder.
        let registry = prometheus::Registry::new();
        let desc = (0..NAMES)
            .map(|i| {
                let (name, counter, _) = series(i, 1);
                let name = if counter {
                    format!("{name}_total")
                } else {
                    name
                };
                Desc::new(
                    name,
                    "synthetic".into(),
                    vec!["region".into(), "instance".into(), "shard".into()],
                    Default::default(),
                )
                .expect("desc")
            })
            .collect();
        registry
            .register(Box::new(SnapshotCollector { n, desc }))
            .expect("register collector");
        group.bench_function(format!("prometheus_collector/{n}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(body.len());
                TextEncoder::new()
                    .encode(&registry.gather(), &mut out)
                    .expect("encode");
                out
            })
        });

        // prometheus: instrumented CounterVec / GaugeVec.
        let registry = prometheus::Registry::new();
        let mut counters = Vec::new();
        let mut gauges = Vec::new();
        for i in 0..NAMES {
            let (name, counter, _) = series(i, 1);
            let keys = &["region", "instance", "shard"];
            if counter {
                let v = prometheus::CounterVec::new(
                    prometheus::Opts::new(format!("{name}_total"), "synthetic"),
                    keys,
                )
                .expect("vec");
                registry.register(Box::new(v.clone())).expect("register");
                counters.push((i, v));
            } else {
                let v = prometheus::GaugeVec::new(prometheus::Opts::new(name, "synthetic"), keys)
                    .expect("vec");
                registry.register(Box::new(v.clone())).expect("register");
                gauges.push((i, v));
            }
        }
        for i in 0..n {
            let (_, counter, value) = series(i, 1);
            let l = labels(i);
            let values = [l[0].1.as_str(), l[1].1.as_str(), l[2].1.as_str()];
            if counter {
                counters[(i % NAMES) / 2]
                    .1
                    .with_label_values(&values)
                    .inc_by(value);
            } else {
                gauges[(i % NAMES) / 2]
                    .1
                    .with_label_values(&values)
                    .set(value);
            }
        }
        group.bench_function(format!("prometheus_vec/{n}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(body.len());
                TextEncoder::new()
                    .encode(&registry.gather(), &mut out)
                    .expect("encode");
                out
            })
        });

        // prometheus-client.
        type PcLabels = Vec<(String, String)>;
        let mut registry = prometheus_client::registry::Registry::default();
        let mut pc_counters: Vec<PcFamily<PcLabels, PcCounter>> = Vec::new();
        let mut pc_gauges: Vec<PcFamily<PcLabels, PcGauge<f64, AtomicU64>>> = Vec::new();
        for i in 0..NAMES {
            let (name, counter, _) = series(i, 1);
            if counter {
                let f = PcFamily::<PcLabels, PcCounter>::default();
                registry.register(name, "synthetic", f.clone());
                pc_counters.push(f);
            } else {
                let f = PcFamily::<PcLabels, PcGauge<f64, AtomicU64>>::default();
                registry.register(name, "synthetic", f.clone());
                pc_gauges.push(f);
            }
        }
        for i in 0..n {
            let (_, counter, value) = series(i, 1);
            let l: PcLabels = labels(i)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            if counter {
                pc_counters[(i % NAMES) / 2]
                    .get_or_create(&l)
                    .inc_by(value as u64);
            } else {
                pc_gauges[(i % NAMES) / 2].get_or_create(&l).set(value);
            }
        }
        group.bench_function(format!("prometheus_client/{n}"), |b| {
            b.iter(|| {
                let mut out = String::with_capacity(body.len());
                prometheus_client::encoding::text::encode(&mut out, &registry).expect("encode");
                out
            })
        });

        // metrics-exporter-prometheus.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        static META: Metadata<'static> = Metadata::new("bench", Level::INFO, None);
        for i in 0..n {
            let (name, counter, value) = series(i, 1);
            let l: Vec<Label> = labels(i)
                .into_iter()
                .map(|(k, v)| Label::new(k, v))
                .collect();
            if counter {
                recorder
                    .register_counter(&Key::from_parts(format!("{name}_total"), l), &META)
                    .absolute(value as u64);
            } else {
                recorder
                    .register_gauge(&Key::from_parts(name, l), &META)
                    .set(value);
            }
        }
        group.bench_function(format!("metrics_exporter/{n}"), |b| {
            b.iter(|| handle.render())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_peers);
criterion_main!(benches);
