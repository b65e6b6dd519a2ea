#!/usr/bin/env python3
"""A storage backend at work, publishing its metrics snapshot for snapbridge.

    python3 demo.py --file /tmp/persistence-metrics.json --port 9101

writes, reads, scans, repairs and compacts at random, calls ``metrics.reset()`` now and then
(``--reset-every``), and publishes ``backend.metrics.snapshot()`` both as a JSON file
(rewritten atomically every ``--interval`` seconds) and on http://127.0.0.1:9101/metrics.
Then run snapbridge with the ``snapbridge.toml`` next to this file.

``--commands`` drives the backend from stdin instead, one command per line, and answers each
with ``ok {snapshot}`` once the file holds it (or ``error <why>``):

    write N | read N | delete N | fail N (the next N reads or writes fail)
    damage N [unrecoverable] | scan | recover | compact | reset | snapshot | quit
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
import time

from backend import MemoryBackend, StorageError
from publish import FilePublisher, serve_snapshot


class Workload:
    """The operations, shared by the random loop and the command mode."""

    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend
        self.seq = 0
        self.reads = 0
        self.suspects: list[str] = []

    def write(self, n: int) -> None:
        for _ in range(n):
            self.seq += 1
            key = f"record-{self.seq:06d}"
            try:
                self.backend.write(key, f"{key}:".encode().ljust(64, b"."))
            except StorageError:
                pass  # counted in write_errors; a real caller would retry or give up

    def read(self, n: int) -> None:
        keys = self.backend.keys()
        if not keys:
            raise ValueError("nothing stored yet: write first")
        for _ in range(n):
            key = keys[self.reads % len(keys)]
            self.reads += 1
            try:
                self.backend.read(key)
            except StorageError:
                pass  # counted in read_errors

    def delete(self, n: int) -> None:
        for key in self.backend.keys()[:n]:
            self.backend.delete(key)

    def damage(self, n: int, unrecoverable: bool = False) -> None:
        for key in self.backend.keys()[-n:]:
            self.backend.damage(key, journal_too=unrecoverable)

    def scan(self) -> None:
        self.suspects = self.backend.scan()

    def recover(self) -> None:
        self.backend.recover(self.suspects)
        self.suspects = []

    def random_step(self, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.45:
            self.write(rng.randint(1, 5))
        elif roll < 0.85:
            if self.backend.keys():
                self.read(rng.randint(1, 8))
        elif roll < 0.90:
            self.backend.inject_faults(1)
        elif roll < 0.93 and self.backend.keys():
            self.damage(1, unrecoverable=rng.random() < 0.3)
        elif roll < 0.96:
            self.scan()
            self.recover()
        elif roll < 0.98:
            self.delete(rng.randint(1, 10))
        else:
            self.backend.compact()


def run_commands(work: Workload, publisher: FilePublisher | None) -> None:
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            n = int(args[0]) if args and args[0].isdigit() else 1
            if cmd == "quit":
                return
            elif cmd == "write":
                work.write(n)
            elif cmd == "read":
                work.read(n)
            elif cmd == "delete":
                work.delete(n)
            elif cmd == "fail":
                work.backend.inject_faults(n)
            elif cmd == "damage":
                work.damage(n, unrecoverable="unrecoverable" in args)
            elif cmd == "scan":
                work.scan()
            elif cmd == "recover":
                work.recover()
            elif cmd == "compact":
                work.backend.compact()
            elif cmd == "reset":
                work.backend.metrics.reset()
            elif cmd != "snapshot":
                raise ValueError(f"unknown command {cmd!r}")
        except (ValueError, KeyError) as e:
            print(f"error {e}", flush=True)
            continue
        if publisher is not None:
            publisher.publish()
        print("ok " + json.dumps(work.backend.metrics.snapshot()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", help="publish the snapshot to this JSON file")
    parser.add_argument("--port", type=int, help="serve the snapshot on this port (GET /metrics)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between file rewrites")
    parser.add_argument("--reset-every", type=float, default=60.0, help="seconds between metrics.reset() calls")
    parser.add_argument("--commands", action="store_true", help="take commands on stdin instead of working at random")
    opts = parser.parse_args()
    if opts.file is None and opts.port is None:
        parser.error("give --file, --port, or both")

    backend = MemoryBackend()

    # --- the lines an application adds to publish its snapshot --------------------------
    publisher = server = None
    if opts.file:
        publisher = FilePublisher(backend.metrics.snapshot, opts.file, opts.interval).start()
    if opts.port is not None:
        server = serve_snapshot(backend.metrics.snapshot, opts.host, opts.port)
    # ----------------------------------------------------------------------------------

    # SIGTERM stops like Ctrl-C: the file gets its last snapshot.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    where = []
    if publisher:
        where.append(f"file {publisher.path}")
    if server:
        where.append(f"http://{opts.host}:{server.server_address[1]}/metrics")
    print("publishing metrics: " + ", ".join(where), file=sys.stderr, flush=True)

    work = Workload(backend)
    try:
        if opts.commands:
            run_commands(work, publisher)
        else:
            rng = random.Random()
            next_reset = time.monotonic() + opts.reset_every
            while True:
                work.random_step(rng)
                if time.monotonic() >= next_reset:
                    backend.metrics.reset()
                    print("metrics.reset()", file=sys.stderr, flush=True)
                    next_reset += opts.reset_every
                time.sleep(0.02)
    except KeyboardInterrupt:
        pass
    finally:
        if server:
            server.shutdown()
        if publisher:
            publisher.stop()


if __name__ == "__main__":
    main()
