"""What backup and restore share on both engines: results, checksums, durable files.

A snapshot is one file (a SQLite database, or a ``pg_dump`` custom-format archive) with
its SHA-256 beside it as ``SNAPSHOT.sha256``, in the format ``sha256sum -c`` reads.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from ..errors import InputError, StoreError
from ..store.migrate import alembic_config, head_revision

__all__ = [
    "CHUNK",
    "PAUSE_ENV",
    "BackupResult",
    "RestoreResult",
    "SnapshotInfo",
    "check_destination",
    "checksum_file",
    "expected_checksum",
    "fsync_dir",
    "fsync_file",
    "pause",
    "require_known_revision",
    "revision_note",
    "sha256_of",
    "write_checksum",
]

CHUNK = 1 << 20
PAUSE_ENV = "MEMWARDEN_RESTORE_PAUSE"


@dataclass(frozen=True)
class SnapshotInfo:
    """A verified snapshot."""

    path: str
    sha256: str
    bytes: int
    revision: str | None
    episodes: int


@dataclass(frozen=True)
class BackupResult:
    snapshot: SnapshotInfo
    checksum_file: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.snapshot),
            "checksum_file": self.checksum_file,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class RestoreResult:
    database: str
    snapshot: SnapshotInfo
    previous: str | None
    forced: bool
    holders: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "snapshot": asdict(self.snapshot),
            "previous": self.previous,
            "forced": self.forced,
            "holders": self.holders,
            "notes": self.notes,
        }


def checksum_file(snapshot: Path) -> Path:
    """``snap.db`` -> ``snap.db.sha256``."""
    return snapshot.with_name(snapshot.name + ".sha256")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def check_destination(dest: Path, overwrite: bool) -> Path:
    """The resolved target of a backup; refuses an existing file or a missing folder."""
    dest = dest.expanduser().resolve()
    if dest.exists() and not dest.is_file():  # --overwrite replaces a file, nothing else
        raise InputError(f"{dest} exists and is not a file: choose a new name")
    if dest.exists() and not overwrite:
        raise InputError(f"{dest} exists: choose a new name (or pass --overwrite)")
    if not dest.parent.is_dir():
        raise InputError(f"no folder {dest.parent}")
    return dest


def write_checksum(dest: Path, sha256: str) -> Path:
    """Write ``dest.sha256`` durably (a temporary file renamed into place)."""
    sums = checksum_file(dest)
    sums_tmp = sums.with_name(f".{sums.name}.tmp-{os.getpid()}")
    sums_tmp.write_text(f"{sha256}  {dest.name}\n", encoding="utf-8")
    fsync_file(sums_tmp)
    os.replace(sums_tmp, sums)
    fsync_dir(dest.parent)
    return sums


def expected_checksum(snapshot: Path) -> tuple[Path, str]:
    """The resolved snapshot and its SHA-256, checked against ``snapshot.sha256``."""
    snapshot = snapshot.expanduser().resolve()
    if not snapshot.is_file():
        raise InputError(f"no snapshot at {snapshot}")
    sums = checksum_file(snapshot)
    try:
        expected = sums.read_text(encoding="utf-8").split()[0].lower()
    except (OSError, IndexError) as e:
        raise InputError(f"no checksum for {snapshot}: expected {sums}") from e
    actual = sha256_of(snapshot)
    if actual != expected:
        raise StoreError(
            f"{snapshot} does not match its checksum ({actual[:12]}… != {expected[:12]}…)"
        )
    return snapshot, actual


def require_known_revision(snapshot: Path, revision: str | None) -> None:
    """Refuse a snapshot at a migration this code does not ship (exact ids only)."""
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {s.revision for s in script.walk_revisions()}
    if revision not in known:  # no "heads" or prefix matching
        raise StoreError(f"{snapshot} is at migration {revision}, which this code does not know")


def revision_note(revision: str | None) -> str | None:
    """The note a restore adds when the snapshot is behind the code."""
    if revision == head_revision():
        return None
    return (
        f"snapshot is at migration {revision}, code head is {head_revision()}: "
        "run `memwarden db upgrade` (the agent also upgrades when it opens it)"
    )


def pause(stage: str) -> None:
    """With ``MEMWARDEN_RESTORE_PAUSE=stage``, stop here until killed (for tests)."""
    if os.environ.get(PAUSE_ENV) == stage:
        sys.stderr.write(f"restore paused at {stage}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get(PAUSE_ENV + "_SECONDS", "60")))
