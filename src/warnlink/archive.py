"""The run archive: every message a node sent, received or rejected, in order.

One file per node, ``RUN_DIR/archive/<NATION>.msgs``: a stream of MessagePack
:class:`ArchiveEntry` records, each behind its 4-byte big-endian length, each the exact bytes that went over the wire with the
scenario step it belongs to (``own``: a local track as the node's own fusion took it,
before any release rule changed the copies ``sent`` to partners). ``step`` entries mark the moments the node fused its
picture, so that :mod:`warnlink.replay` can rebuild the same system tracks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import msgspec

Direction = Literal["own", "sent", "received", "rejected", "step"]


class ArchiveEntry(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    direction: Direction
    t_s: float  # scenario time of the step
    wall_ns: int  # wall clock when it happened
    subject: str = ""
    data: bytes = b""
    reason: str = ""  # why a message was rejected


class ArchiveError(ValueError):
    """An archive file that cannot be read; the message names the file and the entry."""


class ArchiveWriter:
    """Appends entries to one node's archive file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")
        self._encoder = msgspec.msgpack.Encoder()
        self.entries = 0

    def write(self, entry: ArchiveEntry) -> None:
        data = self._encoder.encode(entry)
        self._file.write(len(data).to_bytes(4, "big") + data)
        self.entries += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_archive(path: Path) -> Iterator[ArchiveEntry]:
    """The entries of an archive file, in order; ArchiveError on a damaged file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read ({exc.strerror})") from exc
    decoder = msgspec.msgpack.Decoder(ArchiveEntry)
    view, offset, index = memoryview(raw), 0, 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise ArchiveError(f"{path}: entry {index} is truncated")
        size = int.from_bytes(view[offset:offset + 4], "big")
        end = offset + 4 + size
        if end > len(raw):
            raise ArchiveError(f"{path}: entry {index} is truncated")
        try:
            yield decoder.decode(view[offset + 4:end])
        except msgspec.DecodeError as exc:
            raise ArchiveError(f"{path}: entry {index}: {exc}") from exc
        offset, index = end, index + 1
