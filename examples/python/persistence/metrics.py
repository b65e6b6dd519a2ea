"""A persistence layer's metrics object: counters and gauges behind one lock.

The backend updates it as it works; anyone may call ``snapshot()`` at any time, from any
thread, and gets a plain ``dict`` (a copy: nothing shared, nothing to lock). ``reset()`` sets
the counters back to zero and never touches what the backend stores.
"""

from __future__ import annotations

import threading

# Cumulative counts: they only go up (until reset() or a restart).
COUNTERS = (
    "records_written",
    "records_read",
    "write_errors",
    "read_errors",
    "scan_runs",
    "anomalies_detected",
    "recoveries_attempted",
    "recoveries_failed",
    "compactions_run",
)

# Present values: they go up and down with what the backend holds.
GAUGES = ("records_stored", "storage_bytes")


class PersistenceMetrics:
    """Thread-safe counters and gauges with ``snapshot()`` and ``reset()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters = dict.fromkeys(COUNTERS, 0)
        self._gauges = dict.fromkeys(GAUGES, 0)

    def incr(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] += n

    def set_gauge(self, name: str, value: int | float) -> None:
        with self._lock:
            self._gauges[name] = value

    def snapshot(self) -> dict[str, int | float]:
        """A point-in-time copy of every metric, as a plain dict."""
        with self._lock:
            return {**self._counters, **self._gauges}

    def reset(self) -> None:
        """Zero the counters. Gauges describe the present, so they stay as they are."""
        with self._lock:
            for name in self._counters:
                self._counters[name] = 0
