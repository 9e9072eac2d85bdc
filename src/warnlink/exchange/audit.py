"""An append-only, hash-chained audit log per node: what it sent, received and refused, and why.

Each JSON line holds its index ``n``, time, event and fields, the hash of the record
before it (``prev``) and its own ``hash`` (SHA-256 of the canonical JSON of the
record without ``hash``). Altering, deleting, inserting or reordering any record
breaks the chain at that record, which :func:`verify_audit` names.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

GENESIS = "0" * 64


def _digest(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: Path, node: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.node = node
        self._file = open(self.path, "w", encoding="utf-8")
        self._prev = GENESIS
        self.records = 0

    def record(self, event: str, **fields) -> None:
        rec = {"n": self.records, "t_ns": time.time_ns(), "node": self.node, "event": event, **fields,
               "prev": self._prev}
        rec["hash"] = _digest(rec)
        self._file.write(json.dumps(rec, sort_keys=True, separators=(",", ":")) + "\n")
        self._prev = rec["hash"]
        self.records += 1

    def close(self) -> None:
        """Seal the log with a closing record (so that truncation is detected) and close it."""
        if not self._file.closed:
            self.record("closed", records=self.records)
            self._file.close()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    records: int
    first_bad: int | None  # line number (0-based record position) where the chain breaks
    reason: str


def verify_audit(path: Path) -> AuditVerdict:
    prev = GENESIS
    count = 0
    last: dict = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return AuditVerdict(False, 0, 0, f"cannot read: {exc}")
    for i, line in enumerate(lines):
        try:
            rec = json.loads(line)
            claimed = rec.pop("hash")
        except (ValueError, KeyError, AttributeError, TypeError):
            return AuditVerdict(False, count, i, f"record {i} is not a well-formed audit record")
        if rec.get("n") != i:
            return AuditVerdict(False, count, i, f"record {i} carries index {rec.get('n')}: records deleted, "
                                                  "inserted or reordered")
        if rec.get("prev") != prev:
            return AuditVerdict(False, count, i, f"record {i} does not follow the record before it")
        if _digest(rec) != claimed:
            return AuditVerdict(False, count, i, f"record {i} was altered (hash mismatch)")
        prev = claimed
        count += 1
        last = rec
    if count == 0:
        return AuditVerdict(False, 0, 0, "the log is empty")
    if last.get("event") != "closed" or last.get("records") != count - 1:
        return AuditVerdict(False, count, count, "the log ends without its closing record: truncated, "
                                                 "or the node did not stop cleanly")
    return AuditVerdict(True, count, None, "ok")
