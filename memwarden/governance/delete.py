"""Hard deletes: ``/delete_episode`` and ``/delete_belief``, each in one transaction.

Deleting an episode removes, in one write transaction (all or nothing):

- its ``risk_log`` rows;
- its ``belief_history`` rows and ``belief_sources`` links.  A belief whose only source
  was the episode is deleted with its history; a belief with other sources keeps them,
  and if its current value came from the episode it is reverted to what its remaining
  history says (the ``old_value`` chain of that history is mended to match);
- the episode's link from tasks (``tasks.source_episode_id``, ``task_events.episode_id``
  become NULL).  The tasks themselves stay: their titles are the user's explicit
  requests, managed with ``/task``;
- verbatim copies of its text in later episodes that recalled it, and of the belief
  values it removed in later episodes that hold them (see :mod:`.redact`), and the
  ``episode_recalls`` rows that point at it or at the beliefs deleted with it;
- the episode row, and by trigger its full-text entry (FTS5 ``secure-delete`` is on, so
  the tokens leave the index at once).

``PRAGMA secure_delete`` overwrites the freed bytes with zeros; after the commit the WAL
is checkpointed and truncated (:func:`checkpoint_wal`), so that a copy of the database
file and its WAL taken right after the delete holds no trace of the text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import NotFound
from ..memory.facts import statement_for
from ..memory.references import BELIEF, EPISODE, belief_words, forget_references
from ..store import driver, lock_user
from ..store.blocks import remember_deleted
from .redact import redact_later_episodes
from .results import BeliefRef, CheckpointStatus, TaskRef

__all__ = ["EpisodeDeletion", "checkpoint_wal", "delete_belief", "delete_episode"]

# Every statement, built once, run on the driver's cursor (memwarden/store/driver.py).
_EPISODE_TEXT = text("SELECT user_input FROM episodes WHERE id = :e AND user_id = :u")
_DELETE_RISK = text("DELETE FROM risk_log WHERE episode_id = :e")
_TOUCHED_BELIEFS = text(
    "SELECT belief_id FROM belief_sources WHERE episode_id = :e "
    "UNION SELECT belief_id FROM belief_history WHERE episode_id = :e ORDER BY 1"
)
_SOURCED_TASKS = text("SELECT id, title FROM tasks WHERE source_episode_id = :e ORDER BY id")
_UNLINK_TASKS = text("UPDATE tasks SET source_episode_id = NULL WHERE source_episode_id = :e")
_UNLINK_TASK_EVENTS = text("UPDATE task_events SET episode_id = NULL WHERE episode_id = :e")
_DELETE_EPISODE = text("DELETE FROM episodes WHERE id = :e AND user_id = :u")
_BELIEF = text("SELECT key, value, version FROM semantic_beliefs WHERE id = :b")
_REMOVED_VALUES = text(
    "SELECT new_value FROM belief_history WHERE belief_id = :b AND episode_id = :e"
)
_DELETE_EPISODE_HISTORY = text(
    "DELETE FROM belief_history WHERE belief_id = :b AND episode_id = :e"
)
_DELETE_EPISODE_SOURCE = text("DELETE FROM belief_sources WHERE belief_id = :b AND episode_id = :e")
_COUNT_SOURCES = text("SELECT COUNT(*) FROM belief_sources WHERE belief_id = :b")
_HISTORY = text(
    "SELECT id, change, old_value, new_value, confidence, ts FROM belief_history "
    "WHERE belief_id = :b ORDER BY id"
)
_DELETE_BELIEF = text("DELETE FROM semantic_beliefs WHERE id = :b")
_MEND_HISTORY = text("UPDATE belief_history SET old_value = :o, change = :c WHERE id = :id")
_REVERT_BELIEF = text(
    "UPDATE semantic_beliefs SET value = :v, statement = :s, confidence = :c, "
    "version = :ver, updated_at = :ts WHERE id = :b"
)
# A reverted belief's sentence vector is of the value the delete removed (SQLite's
# trigger from migration 0002 does this too; PostgreSQL has no such trigger).
_DELETE_BELIEF_VECTOR = text("DELETE FROM memory_vectors WHERE belief_id = :b")
_OWNED_BELIEF = text("SELECT key, value FROM semantic_beliefs WHERE id = :b AND user_id = :u")
_HISTORY_VALUES = text("SELECT new_value, episode_id FROM belief_history WHERE belief_id = :b")
_SOURCES = text("SELECT episode_id FROM belief_sources WHERE belief_id = :b ORDER BY episode_id")
_DELETE_HISTORY = text("DELETE FROM belief_history WHERE belief_id = :b")
_DELETE_SOURCES = text("DELETE FROM belief_sources WHERE belief_id = :b")


@dataclass
class EpisodeDeletion:
    """What :func:`delete_episode` did (the checkpoint comes after the commit)."""

    episode_id: int
    risk_log_rows: int = 0
    belief_history_rows: int = 0
    beliefs_deleted: list[BeliefRef] = field(default_factory=list)
    beliefs_detached: list[BeliefRef] = field(default_factory=list)
    tasks_kept: list[TaskRef] = field(default_factory=list)
    task_events_unlinked: int = 0
    episodes_redacted: list[int] = field(default_factory=list)


def delete_episode(conn: Connection, user_id: str, episode_id: int) -> EpisodeDeletion:
    """Delete the user's episode and everything derived from it (inside ``conn``'s
    transaction, which this starts by taking the user's write lock); :class:`NotFound`
    for an id the user does not own."""
    lock_user(conn, user_id)
    row = driver.first(conn, _EPISODE_TEXT, {"e": episode_id, "u": user_id})
    if row is None:
        raise NotFound(f"No episode {episode_id}.")
    deleted_text = str(row[0])
    done = EpisodeDeletion(episode_id)
    params = {"e": episode_id, "u": user_id}

    done.risk_log_rows = driver.execute(conn, _DELETE_RISK, params)
    removed_values: set[str] = set()
    lost_values: set[int] = set()  # beliefs that stay but lost a value
    touched = [r[0] for r in driver.rows(conn, _TOUCHED_BELIEFS, params)]
    for belief_id in touched:
        _unlink_belief(conn, int(belief_id), episode_id, done, removed_values, lost_values)

    done.tasks_kept = [
        TaskRef(int(r[0]), str(r[1])) for r in driver.rows(conn, _SOURCED_TASKS, params)
    ]
    if done.tasks_kept:
        driver.execute(conn, _UNLINK_TASKS, params)
    done.task_events_unlinked = driver.execute(conn, _UNLINK_TASK_EVENTS, params)
    done.episodes_redacted = redact_later_episodes(
        conn,
        user_id,
        after=episode_id,
        deleted_episode=episode_id,
        deleted_text=deleted_text,
        deleted_beliefs=[b.id for b in done.beliefs_deleted],
        reverted_beliefs=[b.id for b in done.beliefs_detached if b.reverted],
        removed_values=removed_values,
        touched_beliefs=lost_values,
    )
    forget_references(conn, user_id, EPISODE, [episode_id])
    forget_references(conn, user_id, BELIEF, [b.id for b in done.beliefs_deleted])
    driver.execute(conn, _DELETE_EPISODE, params)  # its own episode_recalls rows: cascade
    remember_deleted(conn, user_id, episode_id)  # the user never gets this id again
    return done


def _unlink_belief(
    conn: Connection,
    belief_id: int,
    episode_id: int,
    done: EpisodeDeletion,
    removed_values: set[str],
    lost_values: set[int],
) -> None:
    belief = driver.first(conn, _BELIEF, {"b": belief_id})
    if belief is None:  # a dangling link; the cascade below removes it
        return
    key = str(belief[0])
    params = {"b": belief_id, "e": episode_id}
    removed = [r[0] for r in driver.rows(conn, _REMOVED_VALUES, params)]
    done.belief_history_rows += driver.execute(conn, _DELETE_EPISODE_HISTORY, params)
    driver.execute(conn, _DELETE_EPISODE_SOURCE, params)
    counted = driver.first(conn, _COUNT_SOURCES, params)
    other_sources = counted[0] if counted is not None else 0
    remaining = driver.rows(conn, _HISTORY, params)
    if not other_sources and not remaining:
        driver.execute(conn, _DELETE_BELIEF, params)
        done.beliefs_deleted.append(BeliefRef(belief_id, key))
        _removed(key, [*map(str, removed), str(belief[1])], removed_values)
        return
    kept_values = {str(r[3]).casefold() for r in remaining}
    lost = [str(v) for v in removed if str(v).casefold() not in kept_values]
    if lost:
        _removed(key, lost, removed_values)
        lost_values.add(belief_id)
    reverted = _rechain(conn, belief_id, key, str(belief[1]), int(belief[2]), remaining)
    done.beliefs_detached.append(BeliefRef(belief_id, key, reverted))


def _removed(key: str, values: Sequence[str], into: set[str]) -> None:
    """Record what a delete took from a belief: the words by which its values are quoted."""
    for value in values:
        into.update(belief_words(key, value))


def _rechain(
    conn: Connection, belief_id: int, key: str, value: str, version: int, remaining: Sequence[Any]
) -> bool:
    """Mend the history's old_value/change chain; revert the belief's value to its last
    remaining entry when it differs.  True if the value was reverted."""
    previous: str | None = None
    for entry_id, change, old_value, new_value, _confidence, _ts in remaining:
        if previous is None:
            want = "created"
        elif previous.casefold() == str(new_value).casefold():
            want = "confirmed"
        else:
            want = "updated"
        if old_value != previous or change != want:
            driver.execute(conn, _MEND_HISTORY, {"o": previous, "c": want, "id": entry_id})
        previous = str(new_value)
    if not remaining:
        return False
    last = remaining[-1]
    if str(last[3]) == value:
        return False
    driver.execute(
        conn,
        _REVERT_BELIEF,
        {
            "v": last[3],
            "s": statement_for(key, str(last[3])),
            "c": last[4],
            "ver": version + 1,
            "ts": last[5],
            "b": belief_id,
        },
    )
    driver.execute(conn, _DELETE_BELIEF_VECTOR, {"b": belief_id})
    return True


@dataclass
class BeliefDeletion:
    """What :func:`delete_belief` did."""

    belief_id: int
    key: str
    history_rows: int
    source_episodes: list[int]
    episodes_redacted: list[int] = field(default_factory=list)


def delete_belief(conn: Connection, user_id: str, belief_id: int) -> BeliefDeletion:
    """Delete the user's belief with its history and source links, and its values from
    the replies and traces of the episodes after its first source (inside ``conn``'s
    transaction, which this starts by taking the user's write lock).  The episodes
    themselves stay, the words their users typed unchanged."""
    lock_user(conn, user_id)
    row = driver.first(conn, _OWNED_BELIEF, {"b": belief_id, "u": user_id})
    if row is None:
        raise NotFound(f"No belief {belief_id}.")
    key = str(row[0])
    params = {"b": belief_id}
    sources = [int(r[0]) for r in driver.rows(conn, _SOURCES, params)]
    values: set[str] = set()
    history = driver.rows(conn, _HISTORY_VALUES, params)
    _removed(key, [str(row[1]), *(str(h[0]) for h in history)], values)
    first = min([*sources, *(int(h[1]) for h in history if h[1] is not None)], default=0)
    redacted = redact_later_episodes(
        conn,
        user_id,
        after=first,
        deleted_episode=None,
        deleted_text="",
        deleted_beliefs=[belief_id],
        reverted_beliefs=[],
        removed_values=values,
    )
    history_rows = driver.execute(conn, _DELETE_HISTORY, params)
    driver.execute(conn, _DELETE_SOURCES, params)
    driver.execute(conn, _DELETE_BELIEF, params)
    forget_references(conn, user_id, BELIEF, [belief_id])
    return BeliefDeletion(belief_id, key, history_rows, sources, redacted)


def checkpoint_wal(conn: Connection) -> CheckpointStatus:
    """Copy the WAL into the database file and truncate it (SQLite in WAL mode).

    Run after the delete's commit, outside any transaction, on the raw driver
    connection.  A reader still holding an older snapshot makes it incomplete: then the
    old pages stay in the WAL until the next checkpoint, and the status says so.
    """
    if conn.dialect.name != "sqlite":
        return CheckpointStatus(True, 0.0, "not SQLite: nothing to checkpoint")
    start = time.perf_counter()
    try:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            busy, log_frames, done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cursor.close()
    except (SQLAlchemyError, conn.dialect.loaded_dbapi.Error) as e:
        # The delete is committed: report, never undo or raise.
        ms = round((time.perf_counter() - start) * 1000, 3)
        return CheckpointStatus(False, ms, f"checkpoint failed: {e}")
    ms = round((time.perf_counter() - start) * 1000, 3)
    if busy:
        return CheckpointStatus(
            False, ms, f"a reader held the WAL: {done} of {log_frames} frames checkpointed"
        )
    return CheckpointStatus(True, ms, "WAL checkpointed and truncated")
