"""The structured log, read back: what the seed's "Error Log Summary" greps counted.

Lines look like ``2026-01-21 18:04:11,532 [EPISODE] Episode 1024 created ...`` (see
:mod:`memwarden.logs`).  Times are the logging module's local time, so the window is
computed in local time too.  The rotated files (``FILE.1`` ... ``FILE.N``, oldest last)
are read as one log; within each file the window's first line is found by bisection, so
a summary costs what the window holds, not what the files hold.

What counts:

* exceptions: ``[ERROR]`` and ``[CRITICAL]`` lines (tracebacks below them are not lines);
* JSON warnings: ``[WARNING]`` (or ``[WARN]``) lines that mention JSON;
* governance calls: ``[GOVERNANCE]`` lines, by the ``/command`` they name;
* episodes: ``[EPISODE]`` lines.
"""

from __future__ import annotations

import os
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

__all__ = ["LogSummary", "log_files", "summarize_log"]

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
_STAMP_LEN = 19
_COMMAND = re.compile(r"(/[a-z_]+)")
ERROR_TAGS = frozenset({"ERROR", "CRITICAL"})
WARNING_TAGS = frozenset({"WARNING", "WARN"})
_ERROR_TAGS_B = frozenset(t.encode() for t in ERROR_TAGS)
_WARNING_TAGS_B = frozenset(t.encode() for t in WARNING_TAGS)
RECENT = 10


@dataclass
class LogSummary:
    """Counts of one window of the log."""

    path: str
    files: list[str]
    window_start: datetime
    window_end: datetime
    first_line: datetime | None = None  # oldest line still on disk (any window)
    lines: int = 0
    by_tag: Counter[str] = field(default_factory=Counter)
    json_warnings: int = 0
    governance: Counter[str] = field(default_factory=Counter)
    recent_errors: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))
    recent_json_warnings: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))

    @property
    def exists(self) -> bool:
        return bool(self.files)

    @property
    def errors(self) -> int:
        """``[ERROR]`` plus ``[CRITICAL]`` lines: memwarden's exception count."""
        return sum(self.by_tag[t] for t in ERROR_TAGS)

    @property
    def warnings(self) -> int:
        return sum(self.by_tag[t] for t in WARNING_TAGS)

    @property
    def episodes(self) -> int:
        return self.by_tag["EPISODE"]

    @property
    def hours(self) -> float:
        return max((self.window_end - self.window_start).total_seconds() / 3600, 1e-9)

    @property
    def covers_window(self) -> bool:
        """False when rotation already dropped the window's oldest lines."""
        return self.first_line is None or self.first_line <= self.window_start

    def per_hour(self, count: int) -> float:
        return count / self.hours

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "files": self.files,
            "window_start": self.window_start.isoformat(sep=" "),
            "window_end": self.window_end.isoformat(sep=" "),
            "covers_window": self.covers_window,
            "first_line": self.first_line.isoformat(sep=" ") if self.first_line else None,
            "lines": self.lines,
            "by_tag": dict(sorted(self.by_tag.items())),
            "errors": self.errors,
            "warnings": self.warnings,
            "json_warnings": self.json_warnings,
            "episodes": self.episodes,
            "governance": dict(sorted(self.governance.items())),
            "errors_per_hour": round(self.per_hour(self.errors), 3),
            "json_warnings_per_hour": round(self.per_hour(self.json_warnings), 3),
            "recent_errors": list(self.recent_errors),
            "recent_json_warnings": list(self.recent_json_warnings),
        }


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files, oldest first."""
    rotated: list[tuple[int, Path]] = []
    if path.parent.is_dir():
        for candidate in path.parent.glob(path.name + ".*"):
            suffix = candidate.name[len(path.name) + 1 :]
            if suffix.isdigit():
                rotated.append((int(suffix), candidate))
    files = [p for _, p in sorted(rotated, reverse=True)]
    if path.exists():
        files.append(path)
    return files


def summarize_log(
    path: Path, window: timedelta, now: datetime | None = None, *, must_exist: bool = False
) -> LogSummary:
    """Count the lines of ``path`` (and its rotations) from ``now - window`` to ``now``.

    ``now`` is local time (the log's clock); a missing file is an empty log, or with
    ``must_exist`` an :class:`InputError` (a summary of a mistyped path must not read
    as an all-clear).
    """
    if must_exist and not path.is_file():
        raise InputError(f"no log file at {path}")
    end = now or datetime.now()
    start = end - window
    summary = LogSummary(str(path), [], start, end)
    start_key = start.strftime(STAMP_FORMAT).encode()
    end_key = end.strftime(STAMP_FORMAT).encode()
    cutoff = start.timestamp()
    for file in log_files(path):
        summary.files.append(str(file))
        try:
            handle = file.open("rb")
        except OSError:
            continue
        with handle:
            first = _first_stamp(handle)
            if first is not None and summary.first_line is None:
                summary.first_line = datetime.strptime(first.decode(), STAMP_FORMAT)
            if os.fstat(handle.fileno()).st_mtime < cutoff:
                continue  # last written before the window opened
            handle.seek(_window_offset(handle, start_key))
            _count(handle, summary, start_key, end_key)
    return summary


def _count(handle: BinaryIO, summary: LogSummary, start_key: bytes, end_key: bytes) -> None:
    # Hot loop (a 30-day review reads ~1M lines): compare bytes, decode only what is kept.
    tags: Counter[bytes] = Counter()
    for raw in handle:
        stamp = raw[:_STAMP_LEN]
        if stamp < start_key or stamp > end_key or raw[23:25] != b" [":
            continue
        close = raw.find(b"]", 25)
        if close < 0:
            continue
        tag = raw[25:close].upper()
        tags[tag] += 1
        if tag in _ERROR_TAGS_B:
            summary.recent_errors.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        elif tag in _WARNING_TAGS_B and b"json" in raw[close:].lower():
            summary.json_warnings += 1
            summary.recent_json_warnings.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        elif tag == b"GOVERNANCE":
            command = _COMMAND.search(raw[close + 1 :].decode("utf-8", "replace"))
            summary.governance[command[1] if command else "?"] += 1
    summary.lines += sum(tags.values())
    for tag, n in tags.items():
        summary.by_tag[tag.decode("ascii", "replace")] += n


def _stamp(raw: bytes) -> bytes | None:
    """``raw``'s ``YYYY-MM-DD HH:MM:SS`` prefix, or None for a line without one."""
    if raw[:4].isdigit() and raw[4:5] == b"-" and raw[19:20] == b"," and raw[23:25] == b" [":
        return raw[:_STAMP_LEN]
    return None


def _stamp_at(handle: BinaryIO) -> bytes | None:
    """The time stamp of the first stamped line from the current position on.

    None at the end of the file, or after many unstamped lines (a huge traceback): the
    bisection then moves left, which only makes the scan start earlier.
    """
    for _, raw in zip(range(10_000), handle, strict=False):
        stamp = _stamp(raw)
        if stamp is not None:
            return stamp
    return None


def _first_stamp(handle: BinaryIO) -> bytes | None:
    handle.seek(0)
    return _stamp_at(handle)


def _line_start(handle: BinaryIO, offset: int) -> int:
    """Offset of the first line that starts at or after ``offset``."""
    if offset == 0:
        return 0
    handle.seek(offset - 1)
    handle.readline()
    return handle.tell()


def _window_offset(handle: BinaryIO, start_key: bytes) -> int:
    """Offset of the first line stamped at or after ``start_key`` (lines are in order)."""
    handle.seek(0, os.SEEK_END)
    lo, hi = 0, handle.tell()
    while lo < hi:
        mid = (lo + hi) // 2
        handle.seek(_line_start(handle, mid))
        stamp = _stamp_at(handle)
        if stamp is None or stamp >= start_key:
            hi = mid
        else:
            lo = mid + 1
    return _line_start(handle, lo)
