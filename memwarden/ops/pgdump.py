"""PostgreSQL snapshots: ``pg_dump --format=custom`` and ``pg_restore``, with checksums.

Backup, online (writers go on):

1. a REPEATABLE READ transaction exports its snapshot (``pg_export_snapshot()``) and
   reads the migration and the episode count in it;
2. ``pg_dump --format=custom --snapshot=ID`` writes that same snapshot to a temporary
   file beside the target, so the figures describe exactly what the archive holds;
3. ``pg_restore --list`` reads the archive's table of contents back; then fsync, rename
   and ``SNAPSHOT.sha256``, as for SQLite.

Restore, so that kill -9 at any point leaves the old database or the new one:

1. verify the archive: checksum, ``pg_restore --list``, a migration this code knows;
2. take the restore lock (an advisory lock: one restore of a database at a time) and
   refuse while other sessions use the database, unless ``force`` (which ends them);
3. drop ``DB_restore_*`` databases that an interrupted restore left behind;
4. create ``DB_restore_PID`` and feed the archive to ``pg_restore --single-transaction``
   through a pipe, hashing the bytes on the way: they must be the checksummed ones;
   count the new database's episodes and read its migration;
5. in one transaction, rename ``DB`` to ``DB_pre_restore_STAMP`` and the new database to
   ``DB`` (the old one stays, as SQLite's ``DB.pre-restore-STAMP`` file does).

``MEMWARDEN_RESTORE_PAUSE``: ``copy`` after step 4, ``swap`` just before the renames,
``replaced`` just after them.

The programs come from ``Settings.pg_bin_dir`` (``MEMWARDEN_PG_BIN_DIR``) or ``PATH``; a
missing one is a :class:`ConfigError` that says what to install.  A password in the URL
reaches them through ``PGPASSWORD``, never the command line.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from ..clock import utcnow
from ..errors import ConfigError, InputError, StoreError, StoreUnavailable
from ..settings import Settings
from ..store import Store, translate_errors
from ..store.migrate import current_revision
from ..store.schema import episodes
from .snapshots import (
    CHUNK,
    BackupResult,
    RestoreResult,
    SnapshotInfo,
    expected_checksum,
    fsync_dir,
    fsync_file,
    pause,
    require_known_revision,
    revision_note,
    sha256_of,
    write_checksum,
)

__all__ = ["archive_revision", "find_program", "pg_backup", "pg_restore"]

INSTALL = (
    "install the PostgreSQL client programs, the server's major version or newer "
    "(Debian: apt-get install postgresql-client), or set MEMWARDEN_PG_BIN_DIR"
)
MAGIC = b"PGDMP"  # the first bytes of a custom-format archive
NAME_MAX = 63  # PostgreSQL's identifier length
LOCK_SPACE = 0x6D77_7273  # advisory lock space of restores ("mwrs")


def find_program(name: str, bin_dir: Path | None = None) -> str:
    """The path of ``pg_dump`` or ``pg_restore``: in ``bin_dir`` if given, else on PATH."""
    if bin_dir is not None:
        candidate = bin_dir.expanduser() / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise ConfigError(f"{name} not found in {bin_dir} (MEMWARDEN_PG_BIN_DIR): {INSTALL}")
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} not found on PATH: {INSTALL}")
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI for the programs (no password in it) and their environment."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env


def _failure(program: str, stderr: str) -> StoreError:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    detail = next((line for line in lines if "error:" in line), lines[0] if lines else "")
    return StoreError(f"{program} failed: {detail or 'no message'}")


def _run(argv: list[str], env: dict[str, str]) -> str:
    """Run a PostgreSQL program; its stdout, or a one-line :class:`StoreError`."""
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except OSError as e:
        raise ConfigError(f"cannot run {argv[0]}: {e.strerror or e}: {INSTALL}") from e
    if proc.returncode != 0:
        raise _failure(Path(argv[0]).name, proc.stderr)
    return proc.stdout


# -- backup ----------------------------------------------------------------------------


def pg_backup(store: Store, dest: Path, bin_dir: Path | None = None) -> BackupResult:
    """``pg_dump`` the store's database to ``dest`` (checked), with ``dest.sha256``."""
    pg_dump, pg_restore_ = find_program("pg_dump", bin_dir), find_program("pg_restore", bin_dir)
    started = time.perf_counter()
    conninfo, env = _libpq(store.engine.url)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        with translate_errors(), store.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot_id = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
                revision = current_revision(conn)
                count = int(conn.execute(select(func.count()).select_from(episodes)).scalar_one())
                # The exporting transaction stays open until pg_dump has taken the snapshot.
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--snapshot={snapshot_id}",
                        f"--file={tmp}",
                        f"--dbname={conninfo}",
                    ],
                    env,
                )
        _run([pg_restore_, "--list", str(tmp)], env)
        fsync_file(tmp)
        sha256, size = sha256_of(tmp), tmp.stat().st_size
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)
    sums = write_checksum(dest, sha256)
    info = SnapshotInfo(str(dest), sha256, size, revision, count)
    return BackupResult(info, str(sums), time.perf_counter() - started)


# -- restore ---------------------------------------------------------------------------


def archive_revision(pg_restore_: str, archive: Path, env: dict[str, str]) -> str | None:
    """The migration recorded in a ``pg_dump`` archive (``alembic_version``'s row).

    Reading the table of contents first refuses a file that is not a whole archive.
    """
    with archive.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise InputError(
                f"{archive} is not a pg_dump archive: a PostgreSQL database is restored "
                "from a `memwarden backup` of a PostgreSQL database"
            )
    _run([pg_restore_, "--list", str(archive)], env)
    data = _run(
        [pg_restore_, "--data-only", "--table=alembic_version", "--file=-", str(archive)], env
    )
    rows = re.search(
        r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)^\\\.$", data, re.M | re.S
    )
    if rows is None:
        raise StoreError(f"{archive} is not a memwarden database: no alembic_version data")
    lines = rows[1].split("\n")[:-1]  # COPY text: one line per row, NULL is \N
    if not lines or lines[0] == "\\N":
        return None
    return lines[0]


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _derived(database: str, suffix: str) -> str:
    """``database`` + ``suffix``, cut to PostgreSQL's 63-byte names."""
    room = NAME_MAX - len(suffix.encode())
    base = database.encode()[:room].decode(errors="ignore")
    return base + suffix


def _sessions(conn: Connection, database: str) -> list[str]:
    """Other client sessions connected to ``database``, described."""
    rows = conn.execute(
        text(
            "SELECT pid, usename, application_name, client_addr FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' ORDER BY pid"
        ),
        {"db": database},
    ).all()
    described = []
    for pid, user, app, addr in rows:
        parts = [p for p in (f"user {user}" if user else "", app or "", str(addr or "")) if p]
        described.append(f"pid {pid} ({', '.join(parts)})" if parts else f"pid {pid}")
    return described


def _terminate(conn: Connection, database: str) -> None:
    """End every other session on ``database`` and wait (up to 10 s) until they are gone."""
    sql = text(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :db AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 10
    while conn.execute(sql, {"db": database}).all() and time.monotonic() < deadline:
        time.sleep(0.05)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _exists(conn: Connection, database: str) -> bool:
    found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :db"), {"db": database})
    return found.first() is not None


def _create_like(conn: Connection, name: str, like: str) -> None:
    """Create an empty database with the encoding and locale of ``like`` (if it exists)."""
    options = " TEMPLATE template0"
    row = conn.execute(
        text(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
            "WHERE datname = :db"
        ),
        {"db": like},
    ).first()
    if row is not None:
        encoding, collate, ctype = (_literal(str(v)) for v in row)
        options += f" ENCODING {encoding} LC_COLLATE {collate} LC_CTYPE {ctype}"
    conn.execute(text(f"CREATE DATABASE {_quote(conn, name)}{options}"))


def _feed(pg_restore_: str, conninfo: str, env: dict[str, str], archive: Path) -> str:
    """Pipe ``archive`` into ``pg_restore`` (one transaction); the SHA-256 of what it read."""
    digest = hashlib.sha256()
    argv = [
        pg_restore_,
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={conninfo}",
    ]
    with tempfile.TemporaryFile("w+") as errors:
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
            )
        except OSError as e:
            raise ConfigError(f"cannot run {pg_restore_}: {e.strerror or e}: {INSTALL}") from e
        stdin: IO[bytes] = proc.stdin  # type: ignore[assignment]
        try:
            with archive.open("rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
                    stdin.write(chunk)
            stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped reading: its exit status and message say why
        finally:
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise _failure("pg_restore", errors.read())
    return digest.hexdigest()


def _inspect(url: URL) -> tuple[int, str | None]:
    """Episodes and migration of a restored database."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with translate_errors(), engine.connect() as conn:
            count = int(conn.execute(select(func.count()).select_from(episodes)).scalar_one())
            return count, current_revision(conn)
    finally:
        engine.dispose()


def _admin(url: URL) -> Engine:
    """An autocommit engine on the server's maintenance database (``postgres``)."""
    return create_engine(
        url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )


def pg_restore(settings: Settings, snapshot: Path, *, force: bool = False) -> RestoreResult:
    """Replace the configured PostgreSQL database with a ``pg_dump`` archive, atomically."""
    tool = find_program("pg_restore", settings.pg_bin_dir)
    url = make_url(settings.database_url())
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    target = url.database
    if not target:
        raise ConfigError(f"{url.render_as_string()} names no database")
    snapshot, sha256 = expected_checksum(snapshot)
    _, env = _libpq(url)
    revision = archive_revision(tool, snapshot, env)
    require_known_revision(snapshot, revision)
    admin = _admin(url)
    try:
        with translate_errors(), admin.connect() as conn:
            return _restore(conn, url, tool, snapshot, sha256, revision, force)
    finally:
        admin.dispose()


def _restore(
    conn: Connection,
    url: URL,
    tool: str,
    snapshot: Path,
    sha256: str,
    revision: str | None,
    force: bool,
) -> RestoreResult:
    target = str(url.database)
    taken = conn.execute(
        text("SELECT pg_try_advisory_lock(:space, hashtext(:db))"),
        {"space": LOCK_SPACE, "db": target},
    ).scalar_one()
    if not taken:
        raise StoreUnavailable(f"another restore of database {target} is running")
    busy = _sessions(conn, target)
    if busy and not force:
        raise StoreUnavailable(
            f"database {target} is in use by {', '.join(busy)}: stop it first (or pass --force)"
        )
    info = SnapshotInfo(str(snapshot), sha256, snapshot.stat().st_size, revision, 0)
    result = RestoreResult(url.render_as_string(hide_password=True), info, None, force, busy)
    for (name,) in conn.execute(text("SELECT datname FROM pg_database ORDER BY datname")).all():
        pid = re.fullmatch(r".*_restore_(\d+)", name)
        if pid is not None and name == _derived(target, f"_restore_{pid[1]}"):
            conn.execute(text(f"DROP DATABASE {_quote(conn, name)} WITH (FORCE)"))
            result.notes.append(f"dropped database {name}, left by an interrupted restore")
    scratch = _derived(target, f"_restore_{os.getpid()}")
    _create_like(conn, scratch, target)
    swapped = False
    try:
        conninfo, env = _libpq(url.set(database=scratch))
        if _feed(tool, conninfo, env, snapshot) != sha256:
            raise StoreError(f"{snapshot} changed while it was restored: try again")
        count, restored = _inspect(url.set(database=scratch))
        if restored != revision:
            raise StoreError(f"{snapshot} restored at migration {restored}, expected {revision}")
        result.snapshot = SnapshotInfo(info.path, sha256, info.bytes, revision, count)
        pause("copy")
        if force:
            _terminate(conn, target)
        pause("swap")
        result.previous = _swap(conn, target, scratch)
        swapped = True
        pause("replaced")
    finally:
        if not swapped:
            conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(conn, scratch)} WITH (FORCE)"))
    note = revision_note(revision)
    if note:
        result.notes.append(note)
    return result


def _swap(conn: Connection, target: str, scratch: str) -> str | None:
    """Rename ``target`` aside and ``scratch`` to ``target``, in one transaction."""
    previous = None
    conn.exec_driver_sql("BEGIN")
    try:
        if _exists(conn, target):
            stamp = utcnow().strftime("%Y%m%dt%H%M%S")
            previous = _derived(target, f"_pre_restore_{stamp}")
            for n in range(1, 1000):
                if not _exists(conn, previous):
                    break
                previous = _derived(target, f"_pre_restore_{stamp}_{n}")
            conn.execute(
                text(f"ALTER DATABASE {_quote(conn, target)} RENAME TO {_quote(conn, previous)}")
            )
        conn.execute(
            text(f"ALTER DATABASE {_quote(conn, scratch)} RENAME TO {_quote(conn, target)}")
        )
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")
    return previous
