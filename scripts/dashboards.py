#!/usr/bin/env python3
"""Writes the Grafana dashboards in dashboards/ from the definitions below.

The JSON files are committed and importable as they are; this script is how they are made,
so the conventions (datasource input and variable, template variables, units, descriptions,
links, $__rate_interval) are applied the same way to every panel. Run it after editing:

    python3 scripts/dashboards.py

tests/dashboards.rs checks the committed files follow the conventions and that every query
returns data from a real Prometheus (scrape path) and VictoriaMetrics (OTLP path).
"""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "dashboards"
SCHEMA_VERSION = 39  # Grafana 11
DS = {"type": "prometheus", "uid": "${datasource}"}


def sel(*extra):
    """The common selector: `source` first (both paths carry it), job/instance optional."""
    parts = ['source=~"$source"', 'job=~"$job"', 'instance=~"$instance"', *extra]
    return "{" + ",".join(parts) + "}"


def variables(source_metric):
    def query_var(name, query, label):
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "definition": query,
            "query": {"query": query, "refId": f"{name}-var"},
            "refresh": 2,
            "includeAll": True,
            "multi": True,
            # ".*" also matches series without the label: OTLP data has no job/instance.
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "sort": 1,
        }

    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
        },
        query_var("source", f"label_values({source_metric}, source)", "Source"),
        query_var("job", f'label_values({source_metric}{{source=~"$source"}}, job)', "Job"),
        query_var(
            "instance",
            f'label_values({source_metric}{{source=~"$source",job=~"$job"}}, instance)',
            "Instance",
        ),
    ]


def panel(title, description, unit, targets, kind="timeseries", width=12, height=8, extra=None):
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
            for i, (expr, legend) in enumerate(targets)
        ],
        "_size": (width, height),
    }
    if kind == "timeseries":
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value"}
    if extra:
        p["fieldConfig"]["defaults"].update(extra)
    return p


def layout(panels):
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_size")
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        row_h = max(row_h, h)
    return panels


def dashboard(uid, title, description, source_metric, panels):
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "A Prometheus-compatible data source holding snapbridge's series (scraped or pushed over OTLP)",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
        ],
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["snapbridge"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "",
        "version": 1,
        "links": [
            {
                "title": "snapbridge dashboards",
                "type": "dashboards",
                "tags": ["snapbridge"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": variables(source_metric)},
        "annotations": {"list": []},
        "panels": layout(panels),
    }


def rate(metric, by="source", extra=()):
    return f"sum by ({by}) (rate({metric}{sel(*extra)}[$__rate_interval]))"


def ratio(part, whole_parts):
    whole = " + ".join(rate(m) for m in whole_parts)
    return f"{rate(part)} / clamp_min({whole}, 1e-9)"


UP_MAPPING = {
    "mappings": [{"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}],
    "color": {"mode": "thresholds"},
    "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
}

OVERVIEW = dashboard(
    "snapbridge-overview",
    "snapbridge overview",
    "snapbridge's own health: sources, cycles, series, resets, rejected and dropped values, sinks.",
    "snapbridge_source_up",
    [
        panel("Sources up", "1 when the source's last snapshot succeeded, 0 when it failed or timed out.", "none",
              [(f"snapbridge_source_up{sel()}", "{{source}}")], kind="stat", width=8, extra=UP_MAPPING),
        panel("Time since last good cycle", "Seconds since snapbridge last published a view. It should stay below the interval.", "s",
              [('time() - max(snapbridge_last_cycle_timestamp_seconds{job=~"$job",instance=~"$instance"})', "last cycle")],
              kind="stat", width=8),
        panel("Series per source", "Series each source exported in the last cycle.", "short",
              [(f"snapbridge_source_series{sel()}", "{{source}}")], kind="stat", width=8),
        panel("Cycle and render duration", "Duration of the whole cycle (pull, track, publish) and of rendering the /metrics body.", "s",
              [('max(snapbridge_cycle_duration_seconds{job=~"$job",instance=~"$instance"})', "cycle"),
               ('max(snapbridge_render_duration_seconds{job=~"$job",instance=~"$instance"})', "render")]),
        panel("Snapshot duration", "How long each source's last snapshot took (its timeout bounds it).", "s",
              [(f"snapbridge_source_snapshot_duration_seconds{sel()}", "{{source}}")]),
        panel("Counter resets", "Source counter resets (restarts, reset()) that snapbridge absorbed, per interval.", "short",
              [(f"sum by (source) (increase(snapbridge_source_resets_total{sel()}[$__rate_interval]))", "{{source}}")]),
        panel("Rejected values by reason", "Values refused per second: NaN, negative or infinite counters, bad histograms, duplicates, non-numeric values.", "short",
              [(rate("snapbridge_rejected_values_total", by="source, reason"), "{{source}} {{reason}}")]),
        panel("Dropped series by reason", "Series dropped in the last cycle: over the series limit, kind conflicts, oversized labels.", "short",
              [(f"sum by (source, reason) (snapbridge_dropped_series{sel()})", "{{source}} {{reason}}")]),
        panel("Source errors", "Failed snapshots per second, per source.", "short",
              [(rate("snapbridge_source_errors_total"), "{{source}}")]),
        panel("Exports per sink", "Successful exports per second: OTLP pushes and /metrics scrapes served.", "reqps",
              [('sum by (sink) (rate(snapbridge_exports_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))', "{{sink}}")]),
        panel("Export errors per sink", "Failed OTLP exports and refused HTTP requests per second.", "short",
              [('sum by (sink) (rate(snapbridge_export_errors_total{job=~"$job",instance=~"$instance"}[$__rate_interval]))', "{{sink}}")]),
        panel("Export and scrape duration", "Duration of the last OTLP export and of the last /metrics response.", "s",
              [('max by (sink) (snapbridge_export_duration_seconds{job=~"$job",instance=~"$instance"})', "{{sink}}")]),
    ],
)

PERSISTENCE = dashboard(
    "snapbridge-persistence",
    "Persistence layer",
    "A persistence layer's snapshot() counters: writes, reads, errors, scans, anomalies, recoveries, compactions.",
    "records_written_total",
    [
        panel("Writes per second", "Records successfully written.", "ops", [(rate("records_written_total"), "{{source}}")]),
        panel("Reads per second", "Records successfully read.", "ops", [(rate("records_read_total"), "{{source}}")]),
        panel("Write error ratio", "Write errors over write attempts (written + errors).", "percentunit",
              [(ratio("write_errors_total", ["records_written_total", "write_errors_total"]), "{{source}}")]),
        panel("Read error ratio", "Read errors over read attempts (read + errors).", "percentunit",
              [(ratio("read_errors_total", ["records_read_total", "read_errors_total"]), "{{source}}")]),
        panel("Scans", "Scan runs over the stored data, per interval.", "short",
              [(f"sum by (source) (increase(scan_runs_total{sel()}[$__rate_interval]))", "{{source}}")], width=8),
        panel("Anomalies detected", "Anomalies detected in data or persistence behaviour, per interval.", "short",
              [(f"sum by (source) (increase(anomalies_detected_total{sel()}[$__rate_interval]))", "{{source}}")], width=8),
        panel("Compactions", "Compaction runs, per interval.", "short",
              [(f"sum by (source) (increase(compactions_run_total{sel()}[$__rate_interval]))", "{{source}}")], width=8),
        panel("Recoveries attempted vs failed", "Recovery attempts and the ones that did not succeed, per interval.", "short",
              [(f"sum by (source) (increase(recoveries_attempted_total{sel()}[$__rate_interval]))", "{{source}} attempted"),
               (f"sum by (source) (increase(recoveries_failed_total{sel()}[$__rate_interval]))", "{{source}} failed")], width=24),
    ],
)

JOB_QUEUE = dashboard(
    "snapbridge-job-queue",
    "Job queue",
    "A job store's counters and in-progress gauge: created, completed, failed, retried.",
    "jobs_created_total",
    [
        panel("Job rates", "Jobs created, completed, failed and retried per second.", "ops",
              [(rate("jobs_created_total"), "{{source}} created"), (rate("jobs_completed_total"), "{{source}} completed"),
               (rate("jobs_failed_total"), "{{source}} failed"), (rate("jobs_retried_total"), "{{source}} retried")], width=24),
        panel("Jobs in progress", "Jobs being processed right now.", "short",
              [(f"sum by (source) (jobs_in_progress{sel()})", "{{source}}")], width=8),
        panel("Success ratio", "Completed over finished (completed + failed).", "percentunit",
              [(ratio("jobs_completed_total", ["jobs_completed_total", "jobs_failed_total"]), "{{source}}")], width=8),
        panel("Retry ratio", "Retries over jobs created.", "percentunit",
              [(ratio("jobs_retried_total", ["jobs_created_total"]), "{{source}}")], width=8),
    ],
)

OPS = 'operation_type, operation_name'
FAILED = 'success="false"'
OPERATIONS = dashboard(
    "snapbridge-operations",
    "Operation records",
    "Operation records from batch files: throughput by type and name, error ratio, latency percentiles.",
    "operations_total",
    [
        panel("Operations per second", "Operations recorded, by type and name.", "ops",
              [(rate("operations_total", by=f"source, {OPS}"), "{{operation_type}} {{operation_name}}")], width=24),
        panel("Error ratio", "Operations with success=\"false\" over all operations.", "percentunit",
              # `or ... * 0`: the ratio is 0, not "no data", while nothing has failed yet.
              [("(" + rate("operations_total", extra=(FAILED,)) + " or " + rate("operations_total") + " * 0) / clamp_min("
                + rate("operations_total") + ", 1e-9)", "{{source}}")]),
        panel("Latency p50 / p95 / p99", "Operation duration percentiles from the duration histogram.", "s",
              [(f"histogram_quantile({q}, sum by (source, le) (rate(operation_duration_seconds_bucket{sel()}[$__rate_interval])))",
                f"{{{{source}}}} p{int(q * 100)}")
               for q in (0.5, 0.95, 0.99)]),
    ],
)

for name, d in [
    ("snapbridge-overview.json", OVERVIEW),
    ("persistence.json", PERSISTENCE),
    ("job-queue.json", JOB_QUEUE),
    ("operations.json", OPERATIONS),
]:
    (OUT / name).write_text(json.dumps(d, indent=2) + "\n")
    print(f"wrote dashboards/{name}")
