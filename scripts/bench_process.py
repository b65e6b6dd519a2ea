#!/usr/bin/env python3
"""What a user pays: the whole snapbridge process (the release binary) bridging N series.

A data process rewrites a JSON document of N series every second (the array form with
labels: 50 metric names, 3 labels each, half counters, half gauges), both as a file
(atomic rename) and over HTTP. snapbridge pulls it every second (`file` source, then
`http` source) and is scraped every second. Over a measured window this prints its CPU
seconds per second (utime + stime from /proc), its RSS (now and peak) and the scrape time.

With --otelcol, the OpenTelemetry Collector does the same job as a comparison: its
`prometheus` receiver scrapes the same N series as Prometheus text every second and its
`prometheus` exporter serves them, scraped every second.

    scripts/bench_process.py --series 100000 --secs 30 [--otelcol PATH]

Run from the repository root after `cargo build --release`. Nothing here runs in CI.
"""
import argparse
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROM3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def series_labels(n):
    """(name, kind, labels) of the i-th series, as in the in-process benchmarks."""
    out = []
    for i in range(n):
        name = f"metric_{i % 50:02d}"
        kind = "counter" if (i % 50) < 25 else "gauge"
        labels = {"region": f"r{i % 7}", "instance": f"i-{i // 50}", "shard": f"s{i % 13}"}
        out.append((name, kind, labels))
    return out


def data_process(args):
    """The source: rewrites the document (file and HTTP) every second."""
    series = series_labels(args.series)
    state = {"json": b"[]", "text": b""}
    port = args.data_port

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = state["text"] if self.path.startswith("/text") else state["json"]
            ctype = "text/plain; version=0.0.4" if self.path.startswith("/text") else "application/json"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Every part of the document but the values is formatted once: the data process then
    # writes 12 MB a second cheaply, so it takes less of the machine the measured process
    # shares (json.dumps of 100k dicts every second made snapbridge's figures vary ±15%).
    # The bytes are what json.dumps wrote (same separators, ints as ints, floats by repr).
    parts = []
    for name, kind, labels in series:
        head = json.dumps({"name": name, "type": kind, "value": 0, "labels": labels})
        before, after = head.split('"value": 0', 1)
        lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
        suffix = "_total" if kind == "counter" else ""
        parts.append((before + '"value": ', after, f"{name}{suffix}{{{lab}}} ", kind == "counter"))
    tick = 0
    while True:
        tick += 1
        entries = []
        lines = []
        for i, (before, after, line, counter) in enumerate(parts):
            value = repr(tick * (i % 5 + 1)) if counter else repr(float((tick + i) % 100))
            entries.append(before + value + after)
            lines.append(line + value)
        doc = ("[" + ", ".join(entries) + "]").encode()
        state["json"] = doc
        state["text"] = ("\n".join(lines) + "\n").encode()
        tmp = args.data_file + ".tmp"
        with open(tmp, "wb") as f:
            f.write(doc)
        os.replace(tmp, args.data_file)
        time.sleep(args.interval)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_http(url, timeout=60, check=lambda body: True):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = r.read()
                if check(body):
                    return body
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {url}")


def measure(name, pid, scrape_url, secs, accept=None, period=1.0):
    """Scrapes every `period` s for `secs` after a warm-up; returns one result row."""
    scrape_times = []
    stop = threading.Event()

    def scraper():
        while not stop.is_set():
            t = time.perf_counter()
            req = urllib.request.Request(scrape_url, headers={"Accept": accept} if accept else {})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
                scrape_times.append(time.perf_counter() - t)
            except OSError as e:
                print(f"{name}: scrape failed: {e}", file=sys.stderr)
            stop.wait(max(0.0, period - (time.perf_counter() - t)))

    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    time.sleep(max(5.0, 3 * period))  # warm-up: first cycles, first renders
    scrape_times.clear()
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(secs)
    c1, t1 = cpu_seconds(pid), time.time()
    stop.set()
    th.join()
    times = sorted(scrape_times) or [float("nan")]
    return {
        "case": name,
        "cpu_per_s": (c1 - c0) / (t1 - t0),
        "rss_mb": rss_mb(pid),
        "peak_mb": rss_mb(pid, "VmHWM"),
        "scrape_ms_p50": times[len(times) // 2] * 1000,
        "scrapes": len(scrape_times),
    }


def run_snapbridge(args, kind, tmp):
    port = free_port()
    if kind == "file":
        source = f'kind = "file"\npath = "{args.data_file}"\n'
    else:
        source = f'kind = "http"\nurl = "http://127.0.0.1:{args.data_port}/json"\n'
    config = os.path.join(tmp, f"{kind}.toml")
    with open(config, "w") as f:
        f.write(
            f'interval = "{round(args.interval * 1000)}ms"\nmax_staleness = "10m"\n[prometheus]\nlisten = "127.0.0.1:{port}"\n'
            f'[[source]]\nname = "bench"\n{source}max_series = {args.series * 2}\nmax_bytes = "256MiB"\n'
        )
    proc = subprocess.Popen(
        [args.binary, "--config", config],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, f"{kind}.log"), "w"),
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_http(url, timeout=startup_secs(args), check=lambda b: b.count(b"\nmetric_") >= args.series // 2)
        return measure(
            f"snapbridge, `{kind}` source", proc.pid, url, args.secs, PROM3_ACCEPT, args.interval
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def startup_secs(args):
    """How long the first document and the first complete view may take."""
    return 60 + args.series / 10_000 * max(1.0, args.interval)


def run_otelcol(args, tmp):
    exporter = free_port()
    config = os.path.join(tmp, "otelcol.yaml")
    with open(config, "w") as f:
        f.write(
            "receivers:\n  prometheus:\n    config:\n      scrape_configs:\n"
            "        - job_name: bench\n          scrape_interval: 1s\n          scrape_timeout: 1s\n"
            f"          metrics_path: /text\n          static_configs:\n            - targets: ['127.0.0.1:{args.data_port}']\n"
            f"exporters:\n  prometheus:\n    endpoint: 127.0.0.1:{exporter}\n"
            "service:\n  telemetry:\n    logs:\n      level: warn\n    metrics:\n      level: none\n"
            "  pipelines:\n    metrics:\n      receivers: [prometheus]\n      exporters: [prometheus]\n"
        )
    proc = subprocess.Popen(
        [args.otelcol, "--config", config],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, "otelcol.log"), "w"),
    )
    try:
        url = f"http://127.0.0.1:{exporter}/metrics"
        wait_http(url, timeout=120, check=lambda b: b.count(b"\nmetric_") >= args.series // 2)
        return measure("OpenTelemetry Collector (prometheus receiver -> prometheus exporter)", proc.pid, url, args.secs)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--secs", type=int, default=30, help="measured window per case")
    ap.add_argument("--binary", default="target/release/snapbridge")
    ap.add_argument("--otelcol", help="also measure this OpenTelemetry Collector binary")
    ap.add_argument("--cases", default="file,http", help="snapbridge cases to run (file,http)")
    ap.add_argument(
        "--interval", type=float, default=1.0,
        help="seconds between rewrites of the document, pulls and scrapes (1M series: 10)",
    )
    ap.add_argument("--data-process", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data-file", help=argparse.SUPPRESS)
    ap.add_argument("--data-port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.data_process:
        data_process(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        args.data_file = os.path.join(tmp, "metrics.json")
        args.data_port = free_port()
        data = subprocess.Popen(
            [sys.executable, __file__, "--data-process", "--series", str(args.series),
             "--data-file", args.data_file, "--data-port", str(args.data_port),
             "--interval", str(args.interval)]
        )
        try:
            wait_http(
                f"http://127.0.0.1:{args.data_port}/json",
                timeout=startup_secs(args),
                check=lambda b: len(b) > 2,
            )
            rows = [run_snapbridge(args, kind, tmp) for kind in args.cases.split(",") if kind]
            if args.otelcol:
                rows.append(run_otelcol(args, tmp))
        finally:
            data.kill()
            data.wait()
    print(
        f"\n{args.series} series, pulled and scraped every {args.interval} s,"
        f" {args.secs} s measured\n"
    )
    print("| process | CPU s per s | RSS | peak RSS | scrape p50 | scrapes |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['cpu_per_s']:.3f} | {r['rss_mb']:.0f} MB | {r['peak_mb']:.0f} MB"
            f" | {r['scrape_ms_p50']:.1f} ms | {r['scrapes']} |"
        )


if __name__ == "__main__":
    main()
