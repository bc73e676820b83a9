"""`memwarden backup` and `memwarden restore`: consistent snapshots and atomic swaps.

Backup (SQLite): ``VACUUM INTO`` a temporary file beside the target.  It reads inside
one transaction, so the snapshot is consistent while the agent keeps writing (WAL lets
writers go on).  The copy is fsynced, checked with ``PRAGMA integrity_check``, renamed
into place, and its SHA-256 written beside it as ``SNAPSHOT.sha256`` (``sha256sum -c``
reads it).

Restore (SQLite), in this order, so that kill -9 at any point leaves the old database or
the new one, never a mix:

1. verify the snapshot: checksum, ``integrity_check``, a migration this code knows;
2. take the server lock exclusively (refuse while a server holds it, unless ``--force``);
3. copy the snapshot to ``.DB.restore-PID.tmp`` in the database's folder, fsync it;
4. checkpoint the live database completely (``wal_checkpoint(TRUNCATE)``), so the main
   file holds every commit and its ``-wal`` is empty; refuse if another connection
   keeps it busy;
5. keep the old database as ``DB.pre-restore-STAMP`` (a hard link: no copy);
6. remove the empty ``-wal`` and the ``-shm``: a stale WAL beside the new file would be
   replayed into it;
7. ``os.replace`` the temporary file over the database, fsync the folder.

``MEMWARDEN_RESTORE_PAUSE=copy|swap|replaced`` makes the real code stop at that step
(half-way through the copy; just before the rename; just after it) until killed: the
tests use it to kill -9 a restore at its critical points.

PostgreSQL goes through ``pg_dump``/``pg_restore`` instead (:mod:`.pgdump`); the
checksum file and the results are the same (:mod:`.snapshots`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from ..clock import utcnow
from ..errors import StoreError, StoreUnavailable
from ..settings import Settings
from ..store import Store
from ..store.engine import sqlite_module
from .lock import exclusive, holders, open_by
from .pgdump import pg_backup, pg_restore
from .snapshots import (
    CHUNK,
    BackupResult,
    RestoreResult,
    SnapshotInfo,
    check_destination,
    checksum_file,
    expected_checksum,
    fsync_dir,
    fsync_file,
    pause,
    require_known_revision,
    revision_note,
    sha256_of,
    write_checksum,
)

__all__ = [
    "BackupResult",
    "RestoreResult",
    "SnapshotInfo",
    "backup",
    "checksum_file",
    "restore",
    "verify_snapshot",
]


# -- backup ----------------------------------------------------------------------------


def backup(
    store: Store, dest: Path, *, overwrite: bool = False, pg_bin_dir: Path | None = None
) -> BackupResult:
    """Write a consistent snapshot of ``store`` to ``dest``, with ``dest.sha256``.

    On PostgreSQL the snapshot is a ``pg_dump`` archive (``pg_bin_dir``: where the
    PostgreSQL client programs are, default PATH).
    """
    dest = check_destination(dest, overwrite)
    if store.dialect == "postgresql":
        return pg_backup(store, dest, pg_bin_dir)
    return _sqlite_backup(store, dest)


def _sqlite_backup(store: Store, dest: Path) -> BackupResult:
    started = time.perf_counter()
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            raw = store.engine.raw_connection()
        except sqlite_module().Error as e:  # opening it: "file is not a database" ...
            raise StoreUnavailable(f"cannot open {store.engine.url.database}: {e}") from e
        try:
            # Outside any transaction: VACUUM INTO opens its own read transaction.
            raw.driver_connection.execute("VACUUM INTO ?", (str(tmp),))  # type: ignore[union-attr]
        except sqlite_module().Error as e:
            raise StoreError(f"backup failed: {e}") from e
        finally:
            raw.close()
        fsync_file(tmp)
        info = _inspect(tmp, sha256_of(tmp))
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    sums = write_checksum(dest, info.sha256)
    snapshot = SnapshotInfo(str(dest), info.sha256, info.bytes, info.revision, info.episodes)
    return BackupResult(snapshot, str(sums), time.perf_counter() - started)


def _inspect(path: Path, sha256: str) -> SnapshotInfo:
    """Integrity, revision and size of a snapshot file, opened read-only.

    ``sha256`` is the digest already computed (and, for a restore, checked against the
    ``.sha256`` file); it is what the swap later compares the copied bytes with, so it
    must not be recomputed here: a file changed after the check would then pass.
    """
    module = sqlite_module()
    try:
        conn = module.connect(f"file:{path}?mode=ro", uri=True)
    except module.Error as e:
        raise StoreError(f"{path} cannot be read as SQLite: {e}") from e
    try:
        try:
            messages = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        except module.Error as e:
            raise StoreError(f"{path} cannot be read as SQLite: {e}") from e
        if messages != ["ok"]:
            raise StoreError(f"{path} fails integrity_check: {'; '.join(messages[:3])}")
        try:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            episodes = int(conn.execute("SELECT count(*) FROM episodes").fetchone()[0])
        except module.Error as e:
            raise StoreError(f"{path} is not a memwarden database: {e}") from e
    finally:
        conn.close()
    return SnapshotInfo(
        str(path), sha256, path.stat().st_size, revision[0] if revision else None, episodes
    )


# -- restore ---------------------------------------------------------------------------


def verify_snapshot(snapshot: Path) -> SnapshotInfo:
    """Check a SQLite snapshot before anything is touched: checksum, integrity, revision."""
    snapshot, actual = expected_checksum(snapshot)
    info = _inspect(snapshot, actual)
    require_known_revision(snapshot, info.revision)
    return info


def restore(settings: Settings, snapshot: Path, *, force: bool = False) -> RestoreResult:
    """Replace the configured database with ``snapshot``, atomically."""
    db = settings.sqlite_path()
    if db is None:
        return pg_restore(settings, snapshot, force=force)
    info = verify_snapshot(snapshot)
    db = db.resolve()
    with exclusive(db) as taken:
        busy = ([] if taken else holders(db) or ["a process holding the server lock"]) + open_by(db)
        if busy and not force:
            raise StoreUnavailable(
                f"{db} is in use by {', '.join(busy)}: stop it first (or pass --force)"
            )
        result = RestoreResult(str(db), info, None, force, busy)
        _sqlite_swap(db, Path(info.path), info.sha256, result)
    note = revision_note(info.revision)
    if note:
        result.notes.append(note)
    return result


def _copy(src: Path, dst: Path) -> str:
    digest = hashlib.sha256()
    total = src.stat().st_size
    written = 0
    paused = False
    with src.open("rb") as fin, dst.open("wb") as fout:
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            fout.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            if not paused and written * 2 >= total:
                fout.flush()
                paused = True
                pause("copy")
        fout.flush()
        os.fsync(fout.fileno())
    return digest.hexdigest()


def _checkpoint(db: Path, force: bool) -> None:
    """Fold the WAL into the main file and leave no WAL behind, or raise."""
    conn = sqlite_module().connect(str(db), timeout=5.0)
    try:
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite_module().Error as e:  # not a database: nothing memwarden may replace
        raise StoreUnavailable(f"cannot open {db}: {e}: refusing to replace it") from e
    finally:
        conn.close()
    wal = Path(f"{db}-wal")
    left = wal.stat().st_size if wal.exists() else 0
    if (busy or left) and not force:
        raise StoreUnavailable(
            f"{db} is being written (checkpoint busy={busy}, log={log}, done={done}, "
            f"WAL {left} bytes): stop the writers first"
        )
    if left:
        # --force with a live writer: the WAL holds commits the main file lacks.
        raise StoreUnavailable(f"{db}-wal still holds {left} bytes after a checkpoint: refusing")


def _keep_previous(db: Path) -> Path:
    """Keep the database about to be replaced as ``DB.pre-restore-STAMP``.

    A hard link costs nothing and keeps the old file whole after the rename; a restore
    killed after this step and run again finds its own link and reuses it.
    """
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    for n in range(1000):
        candidate = db.with_name(f"{db.name}.pre-restore-{stamp}" + (f"-{n}" if n else ""))
        if candidate.exists():
            if os.path.samefile(candidate, db):
                return candidate
            continue
        try:
            os.link(db, candidate)
        except OSError:  # no hard links on this filesystem: a full copy, renamed when whole
            partial = candidate.with_name(f".{candidate.name}.tmp")
            shutil.copy2(db, partial)
            os.replace(partial, candidate)
        return candidate
    raise StoreError(f"cannot name a copy of {db}: too many pre-restore files")


def _sqlite_swap(db: Path, snapshot: Path, sha256: str, result: RestoreResult) -> None:
    folder = db.parent
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{db.name}.restore-*.tmp"):
        stale.unlink(missing_ok=True)
        result.notes.append(f"removed {stale.name}, left by an interrupted restore")
    tmp = folder / f".{db.name}.restore-{os.getpid()}.tmp"
    try:
        if _copy(snapshot, tmp) != sha256:
            raise StoreError(f"{snapshot} changed while it was copied: try again")
        if db.exists():
            _checkpoint(db, result.forced)
            journal = Path(f"{db}-journal")
            if journal.exists() and journal.stat().st_size:
                raise StoreUnavailable(f"{journal} holds an unfinished transaction: refusing")
            result.previous = str(_keep_previous(db))
        for suffix in ("-wal", "-shm", "-journal"):  # all empty or stale by now
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        pause("swap")
        os.replace(tmp, db)
        pause("replaced")
        fsync_dir(folder)
    finally:
        tmp.unlink(missing_ok=True)
