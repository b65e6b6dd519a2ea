#!/usr/bin/env python3
"""Churn soak: metric names and label values that are new every cycle, for minutes.

Serves a JSON document over HTTP whose series are all new at every pull (half of them new
metric names, half new label values of one name), runs the snapbridge binary against it,
and samples every few seconds: the process' RSS, the series exposed now
(`snapbridge_source_series`), the series dropped for the limit, the state kept
(`snapbridge_source_tracked_series`) and the families in the body. Passes when every
sample after the first cycle exposes all the current series, none is dropped for the limit,
and the RSS after the first `max_staleness` stays within --rss-slack of its value then.

Not run in CI (it takes minutes). Example (docs/RELIABILITY.md has the recorded figures):

    cargo build --release
    scripts/churn_soak.py --duration 600 --max-staleness 60 --interval 1 --series 10000
"""

import argparse
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Churn:
    """Documents whose series are all new at every pull."""

    def __init__(self, series):
        self.series = series
        self.generation = 0
        self.lock = threading.Lock()

    def document(self):
        with self.lock:
            g = self.generation
            self.generation += 1
        half = self.series // 2
        entries = [
            {"name": f"churn_name_{g}_{i}", "type": "gauge", "value": i}
            for i in range(half)
        ]
        entries += [
            {"name": "churn_label", "type": "counter", "value": i,
             "labels": {"request_id": f"{g}-{i}"}}
            for i in range(self.series - half)
        ]
        return json.dumps(entries).encode()


def serve(churn):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = churn.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def metric(body, name, labels):
    for line in body.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="target/release/snapbridge")
    ap.add_argument("--duration", type=float, default=600, help="seconds")
    ap.add_argument("--max-staleness", type=float, default=60, help="seconds")
    ap.add_argument("--interval", type=float, default=1, help="seconds")
    ap.add_argument("--timeout", type=float, default=1, help="pull timeout, seconds (at most the interval)")
    ap.add_argument("--series", type=int, default=10000, help="new series per cycle")
    ap.add_argument("--sample-every", type=float, default=10, help="seconds")
    ap.add_argument("--rss-slack", type=float, default=0.10,
                    help="allowed RSS growth after the first max_staleness (fraction)")
    args = ap.parse_args()

    churn = Churn(args.series)
    server = serve(churn)
    port = free_port()
    work = tempfile.mkdtemp(prefix="churn-soak-")
    config = os.path.join(work, "snapbridge.toml")
    with open(config, "w") as f:
        f.write(
            f'interval = "{int(args.interval * 1000)}ms"\n'
            f'max_staleness = "{int(args.max_staleness)}s"\n'
            f'timeout = "{int(args.timeout * 1000)}ms"\n'
            "[[source]]\n"
            'name = "churn"\n'
            'kind = "http"\n'
            f'url = "http://127.0.0.1:{server.server_address[1]}/metrics.json"\n'
        )
    log = open(os.path.join(work, "snapbridge.log"), "w")
    proc = subprocess.Popen(
        [args.binary, "--listen", f"127.0.0.1:{port}", "--config", config],
        stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"},
    )
    samples, failures, down = [], [], []
    start = time.monotonic()
    try:
        time.sleep(max(2 * args.interval, 2))
        while time.monotonic() - start < args.duration:
            if proc.poll() is not None:
                failures.append(f"snapbridge exited with {proc.returncode}")
                break
            t = time.monotonic() - start
            body = urllib.request.urlopen(
                f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
            s = {
                "t": t,
                "rss": rss_mib(proc.pid),
                "series": metric(body, "snapbridge_source_series", {"source": "churn"}),
                "dropped": metric(body, "snapbridge_dropped_series",
                                  {"source": "churn", "reason": "series_limit"}),
                "tracked": metric(body, "snapbridge_source_tracked_series", {"source": "churn"}),
                "families": len(re.findall(r"^# TYPE ", body, re.M)),
                "cycle": metric(body, "snapbridge_cycle", {}) or 0,
                "up": metric(body, "snapbridge_source_up", {"source": "churn"}),
            }
            samples.append(s)
            print(f"{s['t']:6.0f} s  cycle {s['cycle']:6.0f}  RSS {s['rss']:7.1f} MiB  "
                  f"series {s['series']}  dropped {s['dropped']}  tracked {s['tracked']}  "
                  f"families in body {s['families']}  up {s['up']}", flush=True)
            if s["up"] != 1:
                # A pull that failed (a timeout on a loaded machine) exposes nothing, as a
                # down target would: not a drop, but reported.
                down.append(t)
            elif s["series"] != args.series:
                failures.append(f"at {t:.0f} s: {s['series']} series exposed, not {args.series}")
            if s["dropped"] not in (0, None):
                failures.append(f"at {t:.0f} s: {s['dropped']} dropped for max_series")
            time.sleep(args.sample_every)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        server.shutdown()

    settled = [s for s in samples if s["t"] >= args.max_staleness + args.sample_every]
    if settled:
        base = settled[0]["rss"]
        peak = max(s["rss"] for s in settled)
        last = settled[-1]["rss"]
        print(f"\nRSS after the first max_staleness: {base:.1f} MiB; peak after it {peak:.1f} MiB "
              f"(+{100 * (peak - base) / base:.1f}%); at the end {last:.1f} MiB; "
              f"cycles {samples[-1]['cycle']:.0f}; series seen {churn.generation * args.series}")
        if peak > base * (1 + args.rss_slack):
            failures.append(f"RSS grew {100 * (peak - base) / base:.1f}% after max_staleness")
    else:
        failures.append("the run was shorter than max_staleness: nothing to compare")
    if down:
        print(f"source down (a failed pull, not a drop) in {len(down)} of {len(samples)} samples")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures[:20]), file=sys.stderr)
        print(f"log: {log.name}", file=sys.stderr)
        sys.exit(1)
    print("OK: every sample exposed all current series, none dropped, RSS flat")


if __name__ == "__main__":
    main()
