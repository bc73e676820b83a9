"""The export's records as fields of a kind: what the SQL renderers (:mod:`.export_sqlite`,
:mod:`.export_postgres`) build from."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BELIEF_FIELDS",
    "EPISODE_FIELDS",
    "EVENT_FIELDS",
    "GOVERNANCE_FIELDS",
    "HISTORY_FIELDS",
    "JSON_FLAGS",
    "RISK_FIELDS",
    "TASK_FIELDS",
    "Field",
    "Kind",
]

# int, text: as stored; ts: an ISO 8601 timestamp; num: a float (null if not finite);
# json: stored JSON text, embedded when it is JSON, else as a string; bool: true/false.
Kind = Literal["int", "text", "ts", "num", "json", "bool"]
Field = tuple[str, Kind]

EPISODE_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("ts", "ts"),
    ("occurred_at", "ts"),
    ("user_input", "text"),
    ("draft", "text"),
    ("reply", "text"),
    ("action", "text"),
    ("draft_total_score", "num"),
    ("final_score", "num"),
    ("meta", "json"),
    ("trace", "json"),
)
RISK_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("episode_id", "int"),
    ("ts", "ts"),
    ("draft_total_score", "num"),
    ("final_score", "num"),
    ("action", "text"),
    ("scores", "json"),
    ("details", "json"),
)
GOVERNANCE_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("ts", "ts"),
    ("command", "text"),
    ("args", "json"),
    ("success", "bool"),
    ("error", "text"),
    ("latency_ms", "num"),
)

# Beliefs and tasks: their own fields; each record also holds its children ("sources"
# and "history", "events"), which the renderers add.
BELIEF_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("key", "text"),
    ("value", "text"),
    ("statement", "text"),
    ("confidence", "num"),
    ("version", "int"),
    ("created_at", "ts"),
    ("updated_at", "ts"),
)
HISTORY_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("ts", "ts"),
    ("change", "text"),
    ("old_value", "text"),
    ("new_value", "text"),
    ("confidence", "num"),
    ("episode_id", "int"),
)
TASK_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("title", "text"),
    ("status", "text"),
    ("created_at", "ts"),
    ("updated_at", "ts"),
    ("source_episode_id", "int"),
)
EVENT_FIELDS: tuple[Field, ...] = (
    ("id", "int"),
    ("ts", "ts"),
    ("event", "text"),
    ("episode_id", "int"),
    ("detail", "json"),
)

#: PostgreSQL: table -> the generated ``<column>_is_json`` flags (migration 0010) of its
#: ``json`` fields, which the server computes when a row is written.
JSON_FLAGS: dict[str, tuple[str, ...]] = {
    table: tuple(f"{name}_is_json" for name, kind in fields if kind == "json")
    for table, fields in (
        ("episodes", EPISODE_FIELDS),
        ("risk_log", RISK_FIELDS),
        ("governance_log", GOVERNANCE_FIELDS),
    )
}
