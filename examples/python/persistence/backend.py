"""A small in-memory storage backend that keeps a metrics object up to date.

Records are kept with a checksum; a journal keeps the last good copy of each record until
compaction. Errors are counted, not swallowed: a failed write still raises to its caller, and
the metrics object only counts it.
"""

from __future__ import annotations

import threading
import zlib

from metrics import PersistenceMetrics


class StorageError(Exception):
    """An I/O failure of the (simulated) storage."""


class MemoryBackend:
    def __init__(self) -> None:
        self.metrics = PersistenceMetrics()
        self._lock = threading.Lock()
        self._records: dict[str, tuple[bytes, int]] = {}  # key -> (value, checksum)
        self._journal: dict[str, bytes] = {}  # key -> last good value, until compaction
        self._faults = 0  # the next N operations fail (a full disk, a bad sector...)

    # --- operations -------------------------------------------------------------------

    def write(self, key: str, value: bytes) -> None:
        try:
            with self._lock:
                self._fault()
                self._records[key] = (value, zlib.crc32(value))
                self._journal[key] = value
        except StorageError:
            self.metrics.incr("write_errors")
            raise
        self.metrics.incr("records_written")
        self._update_gauges()

    def read(self, key: str) -> bytes | None:
        try:
            with self._lock:
                self._fault()
                record = self._records.get(key)
        except StorageError:
            self.metrics.incr("read_errors")
            raise
        if record is None:
            return None
        self.metrics.incr("records_read")
        return record[0]

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)
        self._update_gauges()

    def scan(self) -> list[str]:
        """Verify every checksum; returns the keys of damaged records."""
        with self._lock:
            bad = [k for k, (v, crc) in self._records.items() if zlib.crc32(v) != crc]
        self.metrics.incr("scan_runs")
        self.metrics.incr("anomalies_detected", len(bad))
        return bad

    def recover(self, keys: list[str]) -> int:
        """Restore damaged records from the journal; returns how many could not be."""
        failed = 0
        for key in keys:
            self.metrics.incr("recoveries_attempted")
            with self._lock:
                good = self._journal.get(key)
                if good is not None and zlib.crc32(good) == self._records[key][1]:
                    self._records[key] = (good, zlib.crc32(good))
                    continue
            failed += 1
            self.metrics.incr("recoveries_failed")
        return failed

    def compact(self) -> None:
        """Drop journal entries of records that no longer exist."""
        with self._lock:
            self._journal = {k: v for k, v in self._journal.items() if k in self._records}
        self.metrics.incr("compactions_run")

    # --- what the demo uses to make things go wrong --------------------------------------

    def inject_faults(self, n: int) -> None:
        """The next ``n`` reads or writes fail with StorageError."""
        with self._lock:
            self._faults += n

    def damage(self, key: str, journal_too: bool = False) -> None:
        """Zero the stored bytes of ``key`` (a bad page); with ``journal_too`` it cannot be recovered."""
        with self._lock:
            value, crc = self._records[key]
            self._records[key] = (bytes(len(value)) or b"\x00", crc)
            if journal_too:
                self._journal.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._records)

    # --- internals -------------------------------------------------------------------------

    def _fault(self) -> None:
        if self._faults > 0:
            self._faults -= 1
            raise StorageError("simulated I/O error")

    def _update_gauges(self) -> None:
        with self._lock:
            stored = len(self._records)
            size = sum(len(v) for v, _ in self._records.values())
        self.metrics.set_gauge("records_stored", stored)
        self.metrics.set_gauge("storage_bytes", size)
