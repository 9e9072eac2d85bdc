"""Rebuild a node's system tracks from its run archive, to check and audit a run.

The archive holds, in order, every message the node sent and received and a ``step``
marker where it fused; feeding the same messages to a fresh fusion stage at the same
scenario times must give the same system tracks as the run recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from warnlink.archive import ArchiveError, read_archive
from warnlink.evaluation.records import NodeRecord
from warnlink.exchange.envelope import Rejected, Verifier
from warnlink.exchange.signing import KeyRing
from warnlink.fusion import Fusion
from warnlink.messages import MessageError, TrackReport, decode_wire


class ReplayError(ValueError):
    """A run directory that cannot be replayed; the message names the file."""


@dataclass
class NodeReplay:
    nation: str
    steps: int
    messages: int
    refused: int
    samples: list[tuple[float, str, np.ndarray]]  # (t_s, system track id, position)
    max_position_diff_m: float | None  # against the run's own record, when there is one
    ids_match: bool | None


def replay_run(run_dir: Path) -> dict[str, NodeReplay]:
    """Replay every node archive under ``run_dir/archive``."""
    run_dir = Path(run_dir)
    archives = sorted((run_dir / "archive").glob("*.msgs"))
    if not archives:
        raise ReplayError(f"{run_dir}: no archive/*.msgs files (is this a warnlink run directory?)")
    keyring_path = run_dir / "keys" / "keyring.json"
    if not keyring_path.exists():
        raise ReplayError(f"{keyring_path}: missing (the run's public keys)")
    keyring = KeyRing.load(keyring_path)
    return {path.stem: _replay_node(path.stem, path, keyring, run_dir) for path in archives}


def _replay_node(nation: str, path: Path, keyring: KeyRing, run_dir: Path) -> NodeReplay:
    fusion = Fusion(nation, epoch_ns=_epoch_ns(run_dir))
    # Partners' messages are verified again: the archive proves what was received.
    verifier_partners = Verifier(keyring, me=nation, max_age_s=None)
    samples, steps, messages, refused = [], 0, 0, 0
    try:
        for entry in read_archive(path):
            if entry.direction == "step":
                steps += 1
                for trk in fusion.fuse(entry.t_s):
                    samples.append((entry.t_s, trk.id, np.asarray(trk.x[:3], float)))
                continue
            if entry.direction == "own":
                try:
                    fusion.ingest(decode_wire(entry.data), entry.t_s)
                except MessageError as exc:
                    raise ReplayError(f"{path}: an own track entry is damaged: {exc}") from exc
                messages += 1
                continue
            if entry.direction != "received":
                continue
            verifier = verifier_partners
            try:
                opened = verifier.open(entry.subject, entry.data, entry.wall_ns)
            except Rejected:
                refused += 1
                continue
            messages += 1
            if isinstance(opened.body, TrackReport):
                fusion.ingest(opened.body, entry.t_s)
    except ArchiveError as exc:
        raise ReplayError(str(exc)) from exc
    diff, ids_match = _compare(samples, run_dir / "records" / f"{nation}.json")
    return NodeReplay(nation, steps, messages, refused, samples, diff, ids_match)


def _compare(samples, record_path: Path) -> tuple[float | None, bool | None]:
    if not record_path.exists():
        return None, None
    try:
        record = msgspec.json.decode(record_path.read_bytes(), type=NodeRecord)
    except msgspec.DecodeError as exc:
        raise ReplayError(f"{record_path}: {exc}") from exc
    recorded = [(s.t_s, s.system_track_id, np.asarray(s.r_ecef_m)) for s in record.tracks]
    if len(recorded) != len(samples):
        return None, False
    ids_match = all(a[0] == b[0] and a[1] == b[1] for a, b in zip(recorded, samples))
    diff = max((float(np.linalg.norm(a[2] - b[2])) for a, b in zip(recorded, samples)), default=0.0)
    return diff, ids_match


def _epoch_ns(run_dir: Path) -> int:
    import json

    try:
        return int(json.loads((run_dir / "run.json").read_text())["epoch_ns"])
    except (OSError, ValueError, KeyError) as exc:
        raise ReplayError(f"{run_dir / 'run.json'}: cannot read the run's epoch ({exc})") from exc
