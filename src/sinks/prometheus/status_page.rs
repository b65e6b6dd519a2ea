//! The status page on `/`: every source at a glance, plain HTML, no script.

use std::fmt::Write;
use std::time::SystemTime;

use std::sync::atomic::Ordering;

use crate::pipeline::Telemetry;
use crate::view::View;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn ago(t: Option<SystemTime>, now: SystemTime) -> String {
    match t {
        None => "never".into(),
        Some(t) => {
            let secs = now.duration_since(t).unwrap_or_default().as_secs();
            format!("{secs} s ago")
        }
    }
}

/// Renders the page for `view`, with the sinks' state from `telemetry`.
pub fn render(view: &View, telemetry: &Telemetry) -> String {
    let now = SystemTime::now();
    let mut h = String::with_capacity(4096);
    h.push_str(concat!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>snapbridge</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}",
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}",
        ".up{color:#070}.down{color:#b00;font-weight:bold}</style></head><body>",
        "<h1>snapbridge</h1><p><a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p>"
    ));
    let _ = write!(
        h,
        "<p>cycle {} · {} series · last cycle {}</p>",
        view.cycle,
        view.points.len(),
        ago((view.cycle > 0).then_some(view.time), now)
    );
    if let Some(reload) = telemetry.reload.last() {
        let _ = match &reload.result {
            Ok(applied) => write!(
                h,
                "<p>config: loaded {} ({})</p>",
                ago(Some(reload.at), now),
                esc(applied)
            ),
            Err(e) => write!(
                h,
                "<p class=\"down\">config: last reload FAILED {}, the previous config runs on: {}</p>",
                ago(Some(reload.at), now),
                esc(e)
            ),
        };
    }
    h.push_str("<h2>Sources</h2><table><tr><th>source</th><th>kind</th><th>state</th><th>series</th><th>last success</th><th>snapshot duration</th><th>last error</th></tr>");
    for s in &view.sources {
        let (class, state) = if s.up { ("up", "up") } else { ("down", "down") };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{state}</td><td>{}</td><td>{}</td><td>{:.3} s</td><td>{}</td></tr>",
            esc(&s.name),
            esc(&s.kind),
            s.series,
            ago(s.last_success, now),
            s.duration.as_secs_f64(),
            esc(&crate::redact::text(
                s.last_error
                    .as_deref()
                    .or(s.last_warning.as_deref())
                    .unwrap_or("")
            )),
        );
    }
    h.push_str("</table><h2>Sinks</h2><table><tr><th>sink</th><th>exports</th><th>errors</th><th>last result</th></tr>");
    let _ = write!(
        h,
        "<tr><td>prometheus /metrics</td><td>{}</td><td>{}</td><td>scraped by whoever asks</td></tr>",
        telemetry.prometheus.exports.load(Ordering::Relaxed),
        telemetry.prometheus.errors.load(Ordering::Relaxed)
    );
    let otlp = &telemetry.otlp;
    if otlp.enabled.load(Ordering::Relaxed) {
        let last = match otlp.last_result() {
            None => "no export yet".to_string(),
            Some((at, Ok(cycle))) => format!("ok: cycle {cycle}, {}", ago(Some(at), now)),
            Some((at, Err(e))) => format!(
                "FAILED {}: {}",
                ago(Some(at), now),
                esc(&crate::redact::text(&e))
            ),
        };
        let _ = write!(
            h,
            "<tr><td>otlp</td><td>{}</td><td>{}</td><td>{last}</td></tr>",
            otlp.exports.load(Ordering::Relaxed),
            otlp.errors.load(Ordering::Relaxed)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
