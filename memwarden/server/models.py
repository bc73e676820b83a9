"""Request and response shapes of the HTTP API, as published in ``/openapi.json``.

Request bodies reject unknown fields (``extra="forbid"``).  Responses reuse the
library's own dataclasses where they exist (the trace, the delete reports, a turn), so
the API answers exactly what ``memwarden ... --json`` prints; the few wrappers here
describe dicts that the library builds by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..agent import MAX_INPUT_CHARS

__all__ = [
    "BackupIn",
    "BackupOut",
    "BeliefOut",
    "BeliefsOut",
    "EpisodeOut",
    "EpisodesOut",
    "ErrorOut",
    "HealthOut",
    "Me",
    "Probe",
    "SeriesOut",
    "TasksOut",
    "TurnIn",
    "TurnOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """A response that may grow fields (the library owns its shape)."""

    model_config = ConfigDict(extra="allow")


class TurnIn(_In):
    text: str = Field(
        min_length=1,
        max_length=MAX_INPUT_CHARS,
        description="What the user says; a text starting with / is a slash command.",
        examples=["I moved to Berlin last month."],
    )

    @field_validator("text")
    @classmethod
    def _unicode(cls, value: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        return value


class TurnOut(BaseModel):
    """The same object as ``memwarden turn --json``."""

    episode_id: int | None
    reply: str
    action: str
    draft_total_score: float
    final_score: float
    recalled: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    beliefs: list[dict[str, Any]]
    timings_ms: dict[str, float]
    command: str | None
    ok: bool
    result: Any = None


class ErrorDetail(BaseModel):
    kind: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


class Me(BaseModel):
    user_id: str
    key_id: str
    admin: bool


class Probe(BaseModel):
    status: str
    revision: str | None = None


UTC_TIME = Field(description="UTC, ISO 8601 without an offset (as the store keeps it).")


class EpisodeOut(BaseModel):
    id: int
    ts: str = UTC_TIME
    user_input: str
    reply: str
    action: str
    draft_total_score: float
    final_score: float


class EpisodesOut(BaseModel):
    items: list[EpisodeOut]
    next_before: int | None = Field(description="Pass as ?before= for the next page.")


class HistoryOut(BaseModel):
    id: int
    ts: str = UTC_TIME
    change: str
    old_value: str | None
    new_value: str
    confidence: float
    episode_id: int | None


class BeliefOut(BaseModel):
    id: int
    key: str
    value: str
    statement: str
    confidence: float
    version: int
    created_at: str = UTC_TIME
    updated_at: str = UTC_TIME
    history: list[HistoryOut]
    sources: list[int]


class BeliefsOut(BaseModel):
    items: list[BeliefOut]
    truncated: bool


class TaskOut(BaseModel):
    id: int
    user_id: str
    title: str
    status: str
    created_at: str = UTC_TIME
    updated_at: str = UTC_TIME
    source_episode_id: int | None


class TasksOut(BaseModel):
    items: list[TaskOut]


class MetricOut(_Open):
    id: str
    title: str
    value: float | None
    status: str


class HealthOut(_Open):
    """The same object as ``memwarden health --json``."""

    status: str
    window_seconds: float
    start: str
    end: str
    rollback_recommended: bool
    metrics: list[MetricOut]


class BackupIn(_In):
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="File name in the backup folder; default memwarden-<UTC time>.db.",
    )
    overwrite: bool = False


class BackupOut(_Open):
    path: str
    sha256: str
    bytes: int
    checksum_file: str


class SeriesPointOut(_Open):
    start: str
    gate_mean: float | None
    gate_max: float | None
    episodes: int
    episodes_per_hour: float | None
    governance_calls: int
    governance_p95_ms: float | None


class SeriesOut(_Open):
    start: str
    end: str
    bucket_seconds: float
    points: list[SeriesPointOut]
    alerts: dict[str, list[dict[str, Any]]]
