//! `state_file`: a restarted snapbridge continues every counter from its saved total (no
//! double count after a source reset, nothing lost while it was down); a corrupt file is
//! reported and ignored, never fatal.

mod common;

use std::sync::Arc;

use common::{Bridge, Scripted, http_get, source_config};
use snapbridge::core::Sample;

fn metric(bridge: &Bridge, line_start: &str) -> String {
    let (_, _, _, body) = http_get(&bridge.url("/metrics"), &[]);
    let body = String::from_utf8(body).unwrap();
    body.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("{line_start} not in\n{body}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_restart_continues_totals_and_a_corrupt_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.tsv");
    let config = format!("interval = \"1h\"\nstate_file = \"{}\"\n", state.display());
    let scripted = Scripted::default();
    let set = |v: u64| {
        scripted.set(
            [Sample::counter("records_written", v)]
                .into_iter()
                .collect(),
        )
    };
    let line = "records_written_total{source=\"kept\"}";
    {
        let mut first = Bridge::start(
            &config,
            vec![(source_config("kept", ""), Arc::new(scripted.clone()))],
        );
        set(500);
        first.cycle();
        set(50); // the source reset and counted 50
        first.cycle();
        assert_eq!(metric(&first, line), "550");
    } // snapbridge stops (or is killed: the file was written after the last cycle)
    assert!(state.exists());

    // While it was down, the source counted 30 more.
    set(80);
    let mut second = Bridge::start(
        &config,
        vec![(source_config("kept", ""), Arc::new(scripted.clone()))],
    );
    second.cycle();
    assert_eq!(
        metric(&second, line),
        "580",
        "continues from the saved total"
    );
    assert_eq!(metric(&second, "snapbridge_state_file_errors_total"), "0");
    drop(second);

    std::fs::write(
        &state,
        "snapbridge-state\t1\n@source\tkept\nc\tnot a number\n",
    )
    .unwrap();
    let mut third = Bridge::start(
        &config,
        vec![(source_config("kept", ""), Arc::new(scripted.clone()))],
    );
    third.cycle();
    // The corrupt file was ignored: the series starts again (initial = keep).
    assert_eq!(metric(&third, line), "80");
    assert_eq!(metric(&third, "snapbridge_state_file_errors_total"), "1");
}
