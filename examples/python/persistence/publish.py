"""Publish a metrics snapshot for snapbridge, two ways (use either, or both).

- ``FilePublisher``: rewrites a JSON file every few seconds, atomically (a temporary file in
  the same directory, then ``os.replace``), so a reader sees the old document or the new one,
  never half of one. snapbridge reads it with ``kind = "file"``.
- ``serve_snapshot``: answers ``GET /metrics`` (and ``GET /``) with the snapshot as JSON, from
  a daemon thread. snapbridge reads it with ``kind = "http"``.

Both take ``snapshot``, a function returning a plain dict of numbers, e.g.
``backend.metrics.snapshot``. Only the standard library is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Snapshot = Callable[[], dict]


def write_snapshot(snapshot: dict, path: str) -> None:
    """Atomically replace ``path`` with ``snapshot`` as JSON."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".metrics-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(snapshot, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class FilePublisher:
    """Writes ``snapshot()`` to ``path`` now, then every ``interval`` seconds until ``stop()``."""

    def __init__(self, snapshot: Snapshot, path: str, interval: float = 5.0) -> None:
        self._snapshot = snapshot
        self.path = path
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-file", daemon=True)

    def start(self) -> "FilePublisher":
        self.publish()
        self._thread.start()
        return self

    def publish(self) -> None:
        """Write the current snapshot right away."""
        write_snapshot(self._snapshot(), self.path)

    def stop(self) -> None:
        """Stop the thread and write one last snapshot."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        self.publish()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            self.publish()


def serve_snapshot(
    snapshot: Snapshot, host: str = "127.0.0.1", port: int = 9101
) -> ThreadingHTTPServer:
    """Serve ``snapshot()`` as JSON on ``GET /metrics``; ``.shutdown()`` stops it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the puller reuses its connection

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/", "/metrics"):
                self.send_error(404)
                return
            body = json.dumps(snapshot()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # quiet: one request per pull
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
