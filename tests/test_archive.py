"""The run archive: entries come back exactly as written; damage is named, not misread."""

from __future__ import annotations

import pytest

from warnlink.archive import ArchiveEntry, ArchiveError, ArchiveWriter, read_archive


def _entries():
    return [
        ArchiveEntry("sent", 1.0, 10, "wl.v1.ROK.tracks", b"\x00\x01payload"),
        ArchiveEntry("received", 1.0, 11, "wl.v1.JPN.tracks", bytes(range(256)) * 40),
        ArchiveEntry("rejected", 2.0, 12, "wl.v1.USA.alert", b"junk", "bad_signature"),
        ArchiveEntry("step", 2.0, 13),
    ]


def test_round_trip(tmp_path):
    path = tmp_path / "archive" / "ROK.msgs"
    with ArchiveWriter(path) as writer:
        for entry in _entries():
            writer.write(entry)
    assert writer.entries == 4
    assert list(read_archive(path)) == _entries()


def test_truncated_file_names_the_entry(tmp_path):
    path = tmp_path / "ROK.msgs"
    with ArchiveWriter(path) as writer:
        for entry in _entries():
            writer.write(entry)
    raw = path.read_bytes()
    path.write_bytes(raw[:-3])
    with pytest.raises(ArchiveError, match=r"entry 3 is truncated"):
        list(read_archive(path))


def test_garbage_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "ROK.msgs"
    path.write_bytes(b"\x00\x00\x00\x03abc")
    with pytest.raises(ArchiveError, match="entry 0"):
        list(read_archive(path))
    with pytest.raises(ArchiveError, match="cannot read"):
        list(read_archive(tmp_path / "missing.msgs"))
