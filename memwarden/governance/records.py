"""The export's flat records (episodes, risk_log, governance_log) as fields of a kind:
what the SQL renderers (:mod:`.export_sqlite`, :mod:`.export_postgres`) build from."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "EPISODE_FIELDS",
    "GOVERNANCE_FIELDS",
    "JSON_FLAGS",
    "RISK_FIELDS",
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
