"""What the routes call: the agent, governance, the browser, keys and ops of one store.

Routes stay thin (parse, one call here or on a library object, format).  This module
adds only what HTTP needs around library calls: streaming an export as it is written,
and choosing where a backup goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from sqlalchemy import Connection

from ..agent import Agent
from ..clock import utcnow
from ..errors import StoreError
from ..governance import ExportSummary, GovernanceResult
from ..memory.browse import MemoryBrowser
from ..ops.backup import BackupResult, backup
from ..ops.health import HealthReport, collect_health
from ..ops.thresholds import Thresholds, load_thresholds, parse_window
from ..ops.timeseries import TimeSeries, collect_series
from ..settings import Settings
from ..store import Store, translate_errors
from .keys import KeyRing, Principal

__all__ = ["ExportStream", "Service", "export_filename"]

THRESHOLDS_ENV = "MEMWARDEN_THRESHOLDS"
CHUNK_SIZE = 256 * 1024  # characters gathered before a flush; bytes a piece sent
QUEUE_CHUNKS = 8


@dataclass(frozen=True)
class _Done:
    result: GovernanceResult[ExportSummary] | None
    error: BaseException | None = None


class _Gone(OSError):
    def __init__(self) -> None:
        super().__init__(errno.EPIPE, "the client closed the connection")


class _Channel:
    """Bounded hand-off of chunks from a writer thread to the event loop.

    The reader awaits an :class:`asyncio.Queue` (no thread of the pool is held while an
    export is slow); the writer blocks on a semaphore of ``QUEUE_CHUNKS`` slots, so at
    most that many chunks wait in memory.  Once the reader is gone, ``put`` raises.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | _Done] = asyncio.Queue()
        self._slots = threading.Semaphore(QUEUE_CHUNKS)
        self.gone = threading.Event()

    def put(self, item: bytes | _Done) -> None:
        while not self._slots.acquire(timeout=0.25):
            if self.gone.is_set():
                raise _Gone()
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: the server stopped
            self.gone.set()
            raise _Gone() from None

    async def get(self) -> bytes | _Done:
        item = await self._queue.get()
        self._slots.release()
        return item


class _ChunkWriter(io.TextIOBase):
    """A text stream that sends UTF-8 chunks of up to 256 KiB down a :class:`_Channel`.

    When the reader has gone away, the next write raises :class:`OSError`, which the
    export turns into an audited failure ("cannot write the export").
    """

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self._channel = channel
        self._parts: list[str] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if self._channel.gone.is_set():
            raise _Gone()
        self._parts.append(s)
        self._size += len(s)
        if self._size >= CHUNK_SIZE:
            self.flush()
        return len(s)

    def flush(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8")
            self._parts, self._size = [], 0
            # One write can be a whole page of records (~1 MB from SQLite's renderer):
            # sent in pieces of up to 256 KiB, so that the channel's slots bound the
            # memory held (2 MiB), and a client that stops reading stops the export
            # within a few pieces.  (64 KiB pieces made a 38 MiB export 1.8x slower.)
            for start in range(0, len(data), CHUNK_SIZE):
                self._channel.put(data[start : start + CHUNK_SIZE])


class ExportStream:
    """One user's export, written by governance in a thread and read as it comes."""

    def __init__(self, run: Callable[[IO[str]], GovernanceResult[ExportSummary]]) -> None:
        self._run = run
        self._channel: _Channel | None = None
        self._first: bytes | _Done | None = None
        self.result: GovernanceResult[ExportSummary] | None = None

    def _work(self, channel: _Channel) -> None:
        writer = _ChunkWriter(channel)
        done: _Done
        try:
            result = self._run(cast(IO[str], writer))
            if result.ok:
                with contextlib.suppress(OSError):
                    writer.flush()
            done = _Done(result)
        except BaseException as e:  # handed to the reader, raised there
            done = _Done(None, e)
        with contextlib.suppress(OSError):
            channel.put(done)

    async def start(self) -> GovernanceResult[ExportSummary] | None:
        """Run until the first chunk or the end; the result if it ended already."""
        self._channel = _Channel(asyncio.get_running_loop())
        threading.Thread(
            target=self._work, args=(self._channel,), name="memwarden-export", daemon=True
        ).start()
        try:
            self._first = await self._channel.get()
        except BaseException:  # cancelled (the client left): let the writer stop
            self._channel.gone.set()
            raise
        if isinstance(self._first, _Done):
            return self._finish(self._first)
        return None

    def _finish(self, done: _Done) -> GovernanceResult[ExportSummary]:
        if done.error is not None:
            raise done.error
        assert done.result is not None
        self.result = done.result
        return done.result

    async def body(
        self,
        on_done: Callable[[GovernanceResult[ExportSummary]], None],
        client_gone: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[bytes]:
        """The document's bytes; ``on_done`` gets the audited result at the end.

        ``client_gone`` is asked before each chunk: once the client has hung up, the
        server drops what it sends without an error, so without asking, the rest of the
        export could be read and audited as delivered before the disconnect is noticed.
        """
        assert self._channel is not None, "start() first"
        item = self._first
        try:
            while True:
                if isinstance(item, _Done):
                    on_done(self._finish(item))
                    return
                if await client_gone():
                    return  # the writer's next chunk fails: audited as not delivered
                if item:
                    yield item
                item = await self._channel.get()
        finally:
            self._channel.gone.set()


class Service:
    """Everything the routes reach, over one open agent (and so one store)."""

    def __init__(self, settings: Settings, agent: Agent) -> None:
        self.settings = settings
        self.agent = agent
        self.store: Store = agent.store
        self.governance = agent.governance
        self.keys = KeyRing(agent.store)
        self.browser = MemoryBrowser(agent.store)
        self._auth_conn: Connection | None = None

    def authenticate(self, key: str) -> Principal | None:
        """Check a key on a connection of its own, outside the pool.

        Called on the event loop only (never from two threads at once): it must not
        wait for a pooled connection that request threads hold.
        """
        if self._auth_conn is None:
            with translate_errors():
                self._auth_conn = self.store.engine.connect()
        try:
            return self.keys.authenticate(key, conn=self._auth_conn)
        except StoreError:
            self.close()
            raise

    def close(self) -> None:
        if self._auth_conn is not None:
            with contextlib.suppress(Exception):
                self._auth_conn.close()
            self._auth_conn = None

    def export(self, user_id: str) -> ExportStream:
        return ExportStream(lambda out: self.governance.export_memory(user_id, out=out))

    def thresholds(self) -> Thresholds:
        """The shipped thresholds with MEMWARDEN_THRESHOLDS merged over them (as the CLI)."""
        return load_thresholds(os.environ.get(THRESHOLDS_ENV) or None)

    def health(self, window: str) -> HealthReport:
        """The report of ``memwarden health --json`` over ``window`` (e.g. ``6h``)."""
        return collect_health(
            self.store, self.thresholds(), parse_window(window), self.settings.log_file
        )

    def series(self, window: str, buckets: int) -> TimeSeries:
        return collect_series(self.store, self.thresholds(), parse_window(window), buckets=buckets)

    def backup_dir(self) -> Path:
        if self.settings.backup_dir is not None:
            return self.settings.backup_dir.expanduser()
        db = self.settings.sqlite_path()
        return (db.parent if db is not None else Path.cwd()) / "backups"

    def backup(self, name: str | None, *, overwrite: bool = False) -> BackupResult:
        """A snapshot into the backup folder (never elsewhere: ``name`` is a file name)."""
        folder = self.backup_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = name or f"memwarden-{utcnow().strftime('%Y%m%dT%H%M%S%fZ')}.db"
        return backup(
            self.store, folder / name, overwrite=overwrite, pg_bin_dir=self.settings.pg_bin_dir
        )

    def ready(self) -> str | None:
        """The migration the database is at; raises unless reachable and at head."""
        self.store.ping()
        self.store.require_head()
        return self.store.revision()


def export_filename(user_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", user_id).strip("-.")[:40] or "user"
    return f"memwarden-export-{slug}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.json"
