//! The delta book through accepted, refused and unanswered exports and a restart from the
//! state file, read back with the generated prost types.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use prost::Message;
use snapbridge_core::{Sample, Snapshot};

use super::{DeltaBook, Outcome};
use crate::pipeline::{Pipeline, PipelineSettings};
use crate::sinks::otlp::{Encoder, Temporality};
use crate::sources::SourceConfig;

/// (value, start, end) of `records_written` in a request.
fn written(bytes: &[u8]) -> (u64, u64, u64) {
    let req = ExportMetricsServiceRequest::decode(bytes).expect("valid protobuf");
    let m = req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == "records_written")
        .expect("records_written")
        .clone();
    let Some(Data::Sum(s)) = m.data else {
        panic!("not a sum")
    };
    let p = &s.data_points[0];
    let Some(number_data_point::Value::AsInt(v)) = p.value else {
        panic!("not an int: {:?}", p.value)
    };
    (v as u64, p.start_time_unix_nano, p.time_unix_nano)
}

fn pipeline(state: Option<std::path::PathBuf>) -> Pipeline {
    let mut p = Pipeline::new(PipelineSettings {
        state_file: state,
        ..PipelineSettings::default()
    });
    p.add_metrics_source(&SourceConfig::new("s"), Arc::new(|| Ok(Snapshot::new())));
    p
}

/// Publishes the raw counter `raw` at `t` seconds.
fn publish(p: &mut Pipeline, raw: u64, t: u64) -> Arc<crate::view::View> {
    let mut snap = Snapshot::new();
    snap.push(Sample::counter("records_written", raw).with_label("backend", "json"));
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + t);
    p.publish(at, vec![(Ok(snap.into()), Duration::ZERO)])
}

fn secs(t: u64) -> u64 {
    (1_700_000_000 + t) * 1_000_000_000
}

#[test]
fn a_refused_export_leaves_its_increase_to_the_next_one() {
    let mut p = pipeline(None);
    let mut enc = Encoder::new(Temporality::Delta, &[]);
    let (b, sent) = enc.build(&publish(&mut p, 100, 10));
    assert_eq!(written(&b).0, 100);
    enc.settle(sent, Outcome::Accepted);
    for (raw, t) in [(150, 20), (170, 30)] {
        let (b, sent) = enc.build(&publish(&mut p, raw, t));
        assert_eq!(
            written(&b),
            (raw - 100, secs(10), secs(t)),
            "from the delivered end"
        );
        enc.settle(sent, Outcome::Refused);
    }
    let (b, sent) = enc.build(&publish(&mut p, 200, 40));
    assert_eq!(written(&b), (100, secs(10), secs(40)));
    enc.settle(sent, Outcome::Accepted);
    let (b, _) = enc.build(&publish(&mut p, 205, 50));
    assert_eq!(written(&b), (5, secs(40), secs(50)), "contiguous");
}

#[test]
fn an_unanswered_export_is_sent_again_identically_then_continues_from_its_end() {
    let mut p = pipeline(None);
    let mut enc = Encoder::new(Temporality::Delta, &[]);
    let (_, sent) = enc.build(&publish(&mut p, 100, 10));
    enc.settle(sent, Outcome::Accepted);
    let (first, sent) = enc.build(&publish(&mut p, 130, 20));
    enc.settle(sent, Outcome::Unknown);
    // Twice, whatever the answer: a refused resend keeps its first send's doubt.
    let (again, sent) = enc.build(&publish(&mut p, 160, 30));
    assert_eq!(written(&again), written(&first));
    assert_eq!(written(&again), (30, secs(10), secs(20)));
    enc.settle(sent, Outcome::Refused);
    let (again, sent) = enc.build(&publish(&mut p, 170, 40));
    assert_eq!(written(&again), written(&first));
    enc.settle(sent, Outcome::Accepted);
    let (next, _) = enc.build(&publish(&mut p, 180, 50));
    assert_eq!(written(&next), (50, secs(20), secs(50)));
}

#[test]
fn a_restart_resends_the_unsettled_request_then_counts_what_came_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.tsv");
    let mut p = pipeline(Some(state.clone()));
    let mut enc = Encoder::new(Temporality::Delta, &[]);
    let (_, sent) = enc.build(&publish(&mut p, 100, 10));
    enc.settle(sent, Outcome::Accepted);
    // Built and marked sent, then the process dies before any answer.
    let (inflight, _) = enc.build(&publish(&mut p, 130, 20));
    let mut saved = String::new();
    enc.book().save(&mut saved);
    p.add_durable_state("otlp", Box::new(Saved(saved)));
    p.save_state();
    drop(p);

    // Restarted: the tracker and the book come back from the file.
    let mut p = pipeline(Some(state));
    let mut book = DeltaBook::default();
    let text = p.take_saved_sink_state("otlp").expect("the sink's section");
    assert!(book.restore(&text).is_ok_and(|n| n > 0), "{text}");
    let mut enc = Encoder::with_book(Temporality::Delta, &[], book);
    let (resend, sent) = enc.build(&publish(&mut p, 190, 60));
    assert_eq!(written(&resend), written(&inflight), "the same point again");
    enc.settle(sent, Outcome::Accepted);
    let (next, sent) = enc.build(&publish(&mut p, 195, 70));
    assert_eq!(
        written(&next),
        (65, secs(20), secs(70)),
        "190+5 counted since 130"
    );
    enc.settle(sent, Outcome::Accepted);
}

struct Saved(String);

impl crate::pipeline::DurableState for Saved {
    fn save(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

#[test]
fn a_bad_line_names_itself_and_restores_nothing() {
    let mut book = DeltaBook::default();
    let good = "1\t1\tx_total\ta=\"1\"\t-\t-\n";
    assert_eq!(book.restore(good), Ok(1));
    let mut book = DeltaBook::default();
    let err = book
        .restore(&format!("{good}1\t1\tx_total\t\t5@q1\t-\n"))
        .unwrap_err();
    assert!(err.starts_with("line 2:"), "{err}");
    assert!(book.is_empty());
}

#[test]
fn series_gone_past_the_staleness_are_forgotten() {
    let mut p = pipeline(None);
    let mut book = DeltaBook::new(Duration::from_secs(60));
    assert_eq!(book.restore("1\t1\told_total\t\t-\t-\n"), Ok(1));
    let mut enc = Encoder::with_book(Temporality::Delta, &[], book);
    let _ = enc.build(&publish(&mut p, 1, 10));
    // Only the live series (and the self-metrics' counters) remain.
    let mut saved = String::new();
    enc.book().save(&mut saved);
    assert!(!saved.contains("old_total"), "{saved}");
    assert!(saved.contains("records_written_total"), "{saved}");
}

#[test]
fn a_book_handed_to_a_new_encoder_keeps_every_baseline() {
    let mut p = pipeline(None);
    let mut enc = Encoder::new(Temporality::Delta, &[]);
    let (_, sent) = enc.build(&publish(&mut p, 100, 10));
    enc.settle(sent, Outcome::Accepted);
    // New settings (a reload): another encoder, the same baselines.
    let mut book = enc.into_book();
    book.detach();
    let mut enc = Encoder::with_book(Temporality::Delta, &[("k".into(), "v".into())], book);
    let (b, _) = enc.build(&publish(&mut p, 104, 20));
    assert_eq!(written(&b), (4, secs(10), secs(20)));
}
