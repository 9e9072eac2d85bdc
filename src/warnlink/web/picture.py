"""The board between the nodes and the web server: the latest picture of every nation's node.

The runner writes each node's snapshot after every step (:mod:`warnlink.picture` makes
them); the server reads them. Both run in one asyncio loop, so a version counter and an
event that is replaced on every update are all the synchronisation needed.
"""

from __future__ import annotations

import asyncio


class PictureBoard:
    def __init__(self) -> None:
        self._static: dict = {}
        self._snapshots: dict[str, dict] = {}
        self._cap: dict[str, list] = {}  # nation -> its CAP messages in force
        self.version = 0
        self._changed: asyncio.Event | None = None

    def set_static(self, static: dict) -> None:
        self._static = static
        self._bump()

    def update(self, nation: str, snapshot: dict) -> None:
        self._snapshots[nation] = snapshot
        self._bump()

    def set_cap(self, nation: str, messages: list) -> None:
        """The CAP messages of the warnings ``nation`` has in force (node.CapMessage items)."""
        self._cap[nation] = list(messages)

    def cap_messages(self) -> list:
        return [m for messages in self._cap.values() for m in messages]

    def static(self) -> dict:
        return self._static

    def nations(self) -> list[str]:
        return list(self._static.get("nations", [])) or sorted(self._snapshots)

    def snapshot(self, nation: str) -> dict | None:
        return self._snapshots.get(nation)

    def _bump(self) -> None:
        self.version += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_for_change(self, last_version: int, timeout: float) -> int:
        """Wait until the board is newer than ``last_version`` (or the timeout); the version now."""
        if self.version == last_version:
            if self._changed is None:
                self._changed = asyncio.Event()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.version
