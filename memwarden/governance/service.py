"""The one code path behind the library, the slash commands and the CLI.

Every call goes through :meth:`Governance.execute`: check the user id and the feature
flag, parse the words, run the command on one database connection, and write the
``governance_log`` row and the log line, whether it succeeded or not.  On success the
audit row is written in the command's own write transaction where it has one (deletes,
task events; trace on SQLite), so a delete is never committed without its audit row.
On PostgreSQL a trace's read inserts its audit row itself, one autocommitted statement
(:data:`.audit.AUDITED_READ`), and the audit row of a call that changed nothing commits
without waiting for the WAL flush (:func:`.audit.record`), as every SQLite commit does
at ``synchronous = NORMAL``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import platformdirs
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..agent import validate_user_id
from ..clock import utcnow
from ..errors import GovernanceDisabled, InputError, MemwardenError, NotFound, StoreError
from ..logs import logger
from ..memory.recall import forget_cached
from ..settings import Settings
from ..store import Store, transaction, translate_errors
from . import args as a
from .audit import log_call, record
from .audit import row as audit_row
from .delete import checkpoint_wal, delete_belief, delete_episode
from .events import DEFAULT_LIMIT, list_task_events
from .export import EXPORT_VERSION, write_export
from .render import belief_reply, episode_reply, export_reply, task_events_reply, trace_text
from .results import (
    DeleteBeliefReport,
    DeleteEpisodeReport,
    ErrorKind,
    ExportSummary,
    GovernanceResult,
    TaskEventsReport,
)
from .trace import DecisionTrace, build_trace

__all__ = ["DISABLED_MESSAGE", "Governance"]

DISABLED_MESSAGE = (
    "Governance commands are disabled on this deployment (GOVERNANCE_SURFACES_ENABLED is off)."
)

ExportTarget = IO[str] | Path | None


class _Session:
    """One connection for one call: read and write transactions on it, opened lazily."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Connection | None = None
        self.audited = False  # the success row was written in a committed transaction

    def connection(self) -> Connection:
        if self._conn is None:
            with translate_errors():
                self._conn = self.store.engine.connect()
        return self._conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one snapshot for all its statements."""
        with translate_errors(), transaction(self.connection(), write=False) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with translate_errors(), transaction(self.connection(), write=True) as conn:
            yield conn

    @contextmanager
    def statements(self) -> Iterator[Connection]:
        """Each statement committed on its own: a trace's read, which on PostgreSQL
        inserts its audit row itself, or an audit row alone.  On PostgreSQL that saves
        BEGIN and COMMIT round trips (/trace p50 0.82 -> 0.59 ms with pre-ping off,
        measured, when the read and its audit row were two statements); on SQLite,
        in-process, it is one write transaction as :meth:`write`."""
        conn = self.connection()
        if conn.dialect.name != "postgresql":
            with self.write() as c:
                yield c
            return
        try:
            with translate_errors():
                conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        finally:
            # End SQLAlchemy's transaction marker (the driver committed each statement),
            # then go back to transactions for what follows on this connection (a
            # failure's audit row).  A broken connection is left to close().
            with contextlib.suppress(SQLAlchemyError):
                conn.rollback()
            with contextlib.suppress(SQLAlchemyError, conn.dialect.loaded_dbapi.Error):
                conn.execution_options(isolation_level=conn.default_isolation_level)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
            self._conn = None


class _Audit:
    """A call's success row: ``audit(conn)`` inserts it in ``conn``'s transaction, or a
    statement that inserts it itself takes :meth:`row` and then calls :meth:`written`."""

    def __init__(
        self, session: _Session, user_id: str, command: str, args: list[str], start: float
    ) -> None:
        self.session = session
        self.user_id = user_id
        self.command = command
        self.args = args
        self.start = start

    def row(self) -> dict[str, Any]:
        return audit_row(
            user_id=self.user_id,
            command=self.command,
            args=self.args,
            success=True,
            error=None,
            latency_ms=_ms(self.start),
            ts=utcnow(),
        )

    def __call__(self, conn: Connection) -> None:
        record(conn, self.row(), durable=a.COMMANDS[self.command].changes)
        self.written()

    def written(self) -> None:
        """The row is written, in the call's transaction."""
        self.session.audited = True


Op = Callable[[_Session, str, int | None, _Audit], tuple[str, Any]]


class Governance:
    """Export, delete, task events and trace for the users of one store.

    gov = Governance(store, settings)
    gov.trace("ana", "episode_45").reply
    gov.export_memory("ana", out=open("ana.json", "w")).result.counts
    """

    def __init__(self, store: Store, settings: Settings, *, export_dir: Path | None = None) -> None:
        self.store = store
        self.settings = settings
        self.export_dir = export_dir if export_dir is not None else _default_export_dir(store)
        self._owns_store = False

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True, **kwargs: Any) -> Governance:
        """Open the configured store (migrated to head; ``create=False``: it must
        exist, see :meth:`Store.open`); :meth:`close` releases it."""
        gov = cls(Store.open(settings, create=create), settings, **kwargs)
        gov._owns_store = True
        return gov

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Governance:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.governance_surfaces_enabled)

    # -- the five commands -------------------------------------------------------------

    def export_memory(
        self, user_id: str, out: ExportTarget = None
    ) -> GovernanceResult[ExportSummary]:
        """Export everything about the user: to ``out`` (a text stream, or a file path
        written atomically), or to a new file in :attr:`export_dir` when None."""
        return cast(
            GovernanceResult[ExportSummary], self.execute(user_id, a.EXPORT_MEMORY, [], out=out)
        )

    def delete_episode(
        self, user_id: str, raw_id: str | int
    ) -> GovernanceResult[DeleteEpisodeReport]:
        """Hard-delete one episode (``45`` or ``episode_45``) and what came from it."""
        return cast(
            GovernanceResult[DeleteEpisodeReport],
            self.execute(user_id, a.DELETE_EPISODE, [str(raw_id)]),
        )

    def delete_belief(
        self, user_id: str, raw_id: str | int
    ) -> GovernanceResult[DeleteBeliefReport]:
        """Delete one belief (``7`` or ``belief_7``) with its history and sources."""
        return cast(
            GovernanceResult[DeleteBeliefReport],
            self.execute(user_id, a.DELETE_BELIEF, [str(raw_id)]),
        )

    def task_events(
        self,
        user_id: str,
        raw_task_id: str | int | None = None,
        *,
        limit: int | None = DEFAULT_LIMIT,
    ) -> GovernanceResult[TaskEventsReport]:
        """The user's task events (or one task's), newest first, at most ``limit``."""
        words = [] if raw_task_id is None else [str(raw_task_id)]
        return cast(
            GovernanceResult[TaskEventsReport],
            self.execute(user_id, a.TASK_EVENTS, words, limit=limit),
        )

    def trace(self, user_id: str, raw_episode_id: str | int) -> GovernanceResult[DecisionTrace]:
        """Why the agent replied what it replied in one episode."""
        return cast(
            GovernanceResult[DecisionTrace], self.execute(user_id, a.TRACE, [str(raw_episode_id)])
        )

    # -- the one code path -------------------------------------------------------------

    def execute(
        self,
        user_id: str,
        command: str,
        words: Sequence[str],
        *,
        out: ExportTarget = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> GovernanceResult[Any]:
        """Run ``command`` with the words typed after it, audited (slash commands)."""
        ops: dict[str, Op] = {
            a.EXPORT_MEMORY: lambda s, u, _i, _audit: self._export(s, u, out),
            a.DELETE_EPISODE: self._delete_episode,
            a.DELETE_BELIEF: self._delete_belief,
            a.TASK_EVENTS: lambda s, u, i, audit: self._task_events(s, u, i, audit, limit),
            a.TRACE: self._trace,
        }
        if command not in ops:
            raise ValueError(f"not a governance command: {command}")
        return self._run(user_id, command, [str(w) for w in words], ops[command])

    def _run(self, raw_user: str, command: str, words: list[str], op: Op) -> GovernanceResult[Any]:
        start = time.perf_counter()
        args = a.audit_args(words)
        label = " ".join(args)
        user_id = _audit_user(raw_user)
        session = _Session(self.store)

        try:
            try:
                user_id = validate_user_id(raw_user)
                if not self.enabled:
                    raise GovernanceDisabled(DISABLED_MESSAGE)
                ident = a.parse_words(command, words)
                if ident is not None:
                    label = f"{a.COMMANDS[command].prefix}_{ident}"
                audit = _Audit(session, user_id, command, args, start)
                reply, result = op(session, user_id, ident, audit)
                if not session.audited:  # an export: its audit row alone, one statement
                    with session.statements() as conn:
                        audit(conn)
            except MemwardenError as e:
                session.audited = False
                return self._failed(session, user_id, command, args, label, e, start)
            except Exception as e:
                session.audited = False
                self._failed(session, user_id, command, args, label, e, start)
                raise
        finally:
            session.close()
        log_call(command, label, user_id, ok=True, error=None, fault=False)
        return GovernanceResult(command, True, reply, result, latency_ms=_ms(start))

    def _failed(
        self,
        session: _Session,
        user_id: str,
        command: str,
        args: list[str],
        label: str,
        error: Exception,
        start: float,
    ) -> GovernanceResult[Any]:
        kind = _kind(error)
        message = (
            _one_line(error)
            if isinstance(error, MemwardenError)
            else (f"internal error ({type(error).__name__})")
        )
        if kind == "store":
            message = f"The command failed and nothing was changed: {message}"
        latency = _ms(start)
        # The call's own connection first; if it is unusable (the failure may have left
        # it so), a fresh one.  An audit row that cannot be written is logged as an error.
        for attempt in (session, _Session(self.store)):
            try:
                with attempt.write() as conn:
                    failure = audit_row(
                        user_id=user_id,
                        command=command,
                        args=args,
                        success=False,
                        error=message,
                        latency_ms=latency,
                        ts=utcnow(),
                    )
                    record(conn, failure, durable=False)  # a failed call changed nothing
                break
            except (MemwardenError, SQLAlchemyError) as e:
                attempt.close()
                if attempt is not session:
                    logger.error("governance %s: could not write the audit row: %s", command, e)
        log_call(
            command, label, user_id, ok=False, error=message, fault=kind in ("store", "internal")
        )
        exception = error if isinstance(error, MemwardenError) else None
        return GovernanceResult(command, False, message, None, message, kind, latency, exception)

    # -- commands ----------------------------------------------------------------------

    def _export(
        self, session: _Session, user_id: str, out: ExportTarget
    ) -> tuple[str, ExportSummary]:
        exported_at = utcnow()
        path: Path | None = None
        if out is None:
            path = self.export_dir / _export_name(user_id, exported_at.strftime("%Y%m%dT%H%M%S%fZ"))
        elif isinstance(out, Path | str):
            path = Path(out)
        if path is None:
            stream = cast(IO[str], out)
            try:
                with session.read() as conn:
                    counts, size = write_export(
                        conn, user_id, stream, exported_at=exported_at, unread=True
                    )
                stream.flush()
            except OSError as e:
                raise InputError(f"cannot write the export: {e.strerror or e}") from e
        else:
            try:
                with _atomic_file(path) as stream, session.read() as conn:
                    counts, size = write_export(
                        conn, user_id, stream, exported_at=exported_at, unread=True
                    )
            except OSError as e:
                raise InputError(f"cannot write the export to {path}: {e.strerror or e}") from e
        summary = ExportSummary(
            EXPORT_VERSION,
            user_id,
            exported_at.isoformat(timespec="microseconds"),
            counts,
            size,
            str(path) if path is not None else None,
        )
        return export_reply(summary), summary

    def _delete_episode(
        self,
        session: _Session,
        user_id: str,
        ident: int | None,
        audit: Callable[[Connection], None],
    ) -> tuple[str, DeleteEpisodeReport]:
        assert ident is not None
        with session.write() as conn:
            done = delete_episode(conn, user_id, ident)
            audit(conn)
        forget_cached(session.connection(), user_id)
        status = checkpoint_wal(session.connection())
        _warn_checkpoint(a.DELETE_EPISODE, status.complete, status.detail)
        report = DeleteEpisodeReport(
            episode_id=done.episode_id,
            risk_log_rows=done.risk_log_rows,
            belief_history_rows=done.belief_history_rows,
            beliefs_deleted=done.beliefs_deleted,
            beliefs_detached=done.beliefs_detached,
            tasks_kept=done.tasks_kept,
            task_events_unlinked=done.task_events_unlinked,
            episodes_redacted=done.episodes_redacted,
            checkpoint=status,
        )
        return episode_reply(done, status), report

    def _delete_belief(
        self,
        session: _Session,
        user_id: str,
        ident: int | None,
        audit: Callable[[Connection], None],
    ) -> tuple[str, DeleteBeliefReport]:
        assert ident is not None
        with session.write() as conn:
            done = delete_belief(conn, user_id, ident)
            audit(conn)
        forget_cached(session.connection(), user_id)
        status = checkpoint_wal(session.connection())
        _warn_checkpoint(a.DELETE_BELIEF, status.complete, status.detail)
        report = DeleteBeliefReport(
            done.belief_id,
            done.key,
            done.history_rows,
            done.source_episodes,
            status,
            episodes_redacted=done.episodes_redacted,
        )
        return belief_reply(done, status), report

    def _task_events(
        self,
        session: _Session,
        user_id: str,
        ident: int | None,
        audit: Callable[[Connection], None],
        limit: int | None,
    ) -> tuple[str, TaskEventsReport]:
        if limit is not None and limit < 0:
            raise InputError("the limit is a number >= 0 (0 means all)")
        with session.write() as conn:
            report = list_task_events(conn, user_id, ident, limit or None)
            audit(conn)
        return task_events_reply(report), report

    def _trace(
        self, session: _Session, user_id: str, ident: int | None, audit: _Audit
    ) -> tuple[str, DecisionTrace]:
        assert ident is not None
        with session.statements() as conn:
            if conn.dialect.name == "postgresql":
                # One round trip: the read's statement inserts the audit row (autocommit).
                trace = build_trace(conn, user_id, ident, audit_row=audit.row())
                audit.written()
            else:
                trace = build_trace(conn, user_id, ident)
                audit(conn)
        return trace_text(trace), trace


# -- helpers ------------------------------------------------------------------------------


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _kind(error: Exception) -> ErrorKind:
    if isinstance(error, GovernanceDisabled):
        return "disabled"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, InputError):
        return "usage"
    if isinstance(error, StoreError):
        return "store"
    return "internal"


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _audit_user(raw: object) -> str:
    """The user id as recorded even when it is invalid (clipped, printable)."""
    value = raw if isinstance(raw, str) else repr(raw)
    return "".join(c if c.isprintable() else "?" for c in value.strip())[:255]


def _warn_checkpoint(command: str, complete: bool, detail: str) -> None:
    if not complete:
        logger.warning("governance %s: WAL checkpoint incomplete: %s", command, detail)


def _default_export_dir(store: Store) -> Path:
    database = store.engine.url.database if store.dialect == "sqlite" else None
    if database:
        return Path(database).expanduser().resolve().parent / "exports"
    return Path(platformdirs.user_data_dir("memwarden")) / "exports"


def _export_name(user_id: str, stamp: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", user_id).strip("-.")[:40] or "user"
    digest = hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:8]
    return f"memwarden-export-{slug}-{digest}-{stamp}.json"


@contextmanager
def _atomic_file(path: Path) -> Iterator[IO[str]]:
    """A new file readable by its owner only, renamed into place only when complete.

    What already stands at ``path`` must be a file: the rename would replace a device,
    a pipe or a folder's entry (as root, ``-o /dev/full`` replaced the device node)."""
    path = path.expanduser()
    if path.exists() and not path.is_file():
        raise OSError(errno.EEXIST, "it exists and is not a regular file")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
