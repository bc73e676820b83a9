"""One settings object, read from the environment (and flags), and passed in.

Nothing here opens a database or a connection: building :class:`Settings` is cheap and
free of side effects, so it is safe at import time of an embedding application.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "check_database_url", "default_db_path"]


def default_db_path() -> Path:
    """Where the SQLite database lives when neither ``--db`` nor ``MEMWARDEN_DB`` says."""
    return Path(platformdirs.user_data_dir("memwarden")) / "memwarden.db"


def check_database_url(raw: str) -> None:
    """Raise ValueError unless ``raw`` is a SQLite path or a URL that parses and, for
    PostgreSQL, names a database (else libpq's defaults would choose one)."""
    raw = raw.strip()
    if "://" not in raw:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw)
        url.port  # noqa: B018 - parsed lazily: a bad port raises here
    except (ArgumentError, ValueError) as e:
        raise ValueError(f"not a database URL: {e}") from None
    # libpq also takes the database from ?dbname= or a pg_service.conf ?service= entry.
    named = url.database or url.query.get("dbname") or url.query.get("service")
    if url.get_backend_name() == "postgresql" and not named:
        raise ValueError("the PostgreSQL URL names no database (…/DBNAME)")


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Configuration of a memwarden deployment.

    Every field reads ``MEMWARDEN_<NAME>`` from the environment (or ``.env``); a few
    well-known names (``GOVERNANCE_SURFACES_ENABLED``, ``OPENAI_API_KEY``, ...) are
    accepted as well, because the seed runbook and the OpenAI SDK use them.
    """

    model_config = SettingsConfigDict(
        env_prefix="MEMWARDEN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    db: str = Field(
        default="",
        description="SQLite file path or SQLAlchemy URL; empty means the default path.",
    )
    # Connection pooling (per process; see docs/scaling.md for sizing many workers).
    pool_size: int = Field(
        default=5, ge=1, description="Connections each process keeps open in its pool."
    )
    max_overflow: int = Field(
        default=10, ge=0, description="Extra connections opened beyond pool_size under load."
    )
    pool_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a free pooled connection."
    )
    pool_recycle_s: int = Field(
        default=1800,
        ge=-1,
        description="Reopen a PostgreSQL connection older than this many seconds "
        "(-1: never); keeps connections younger than proxy and firewall idle limits.",
    )
    pool_pre_ping: bool = Field(
        default=False,
        description=(
            "Test a PostgreSQL connection with a round trip before handing it out (off: "
            "a free check of its socket discards connections the server closed)."
        ),
    )
    sqlite_mmap_mb: int = Field(
        default=256,
        ge=0,
        description="SQLite: read up to this many MB of the database through memory "
        "mapping instead of read() calls (0: off).  Recall reads scattered pages; "
        "mapped, they cost a fifth less (docs/benchmarks.md, ## Turns).",
    )
    sqlite_memory_stats: bool = Field(
        default=False,
        description="SQLite: keep the library's memory statistics, which memwarden does "
        "not read.  Off (the default), every allocation is cheaper and two connections "
        "can work at once (store/sqlite_library.py).",
    )
    busy_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="How long a writer waits for a lock before the write is retried: "
        "SQLite's busy timeout, PostgreSQL's lock_timeout (0: wait forever).",
    )

    llm: Literal["builtin", "openai"] = Field(default="builtin")
    llm_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("MEMWARDEN_LLM_MODEL", "OPENAI_MODEL")
    )
    llm_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MEMWARDEN_LLM_BASE_URL", "OPENAI_BASE_URL"),
    )
    llm_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MEMWARDEN_LLM_API_KEY", "OPENAI_API_KEY"),
        repr=False,
    )
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_retries: int = Field(default=2, ge=0)
    llm_extract_beliefs: bool = Field(
        default=True, description="Use the LLM extractor for beliefs when an LLM is configured."
    )

    recall_episodes: int = Field(default=5, ge=0, le=100)
    recall_beliefs: int = Field(default=8, ge=0, le=100)
    embeddings: bool = Field(
        default=True,
        description="Dense recall with sentence embeddings when the [embeddings] extra is "
        "installed; off (or without the extra) recall is lexical only.",
    )

    gate_max_rewrites: int = Field(default=2, ge=0, le=10)

    governance_surfaces_enabled: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "GOVERNANCE_SURFACES_ENABLED", "MEMWARDEN_GOVERNANCE_SURFACES_ENABLED"
        ),
    )

    log_file: Path | None = Field(default=None, description="Structured log file (rotated).")
    log_level: str = Field(default="INFO")
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    log_backups: int = Field(default=5, ge=0)

    # The HTTP service (memwarden serve).
    rate_limit_per_s: float = Field(
        default=10.0, ge=0, description="Requests per second per API key, sustained; 0: no limit."
    )
    rate_limit_burst: int = Field(default=30, ge=1, description="Requests per API key in a burst.")
    max_body_bytes: int = Field(default=128 * 1024, ge=1024, description="Largest request body.")
    backup_dir: Path | None = Field(
        default=None, description="Where POST /v1/ops/backup writes; default: DB folder/backups."
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder holding pg_dump and pg_restore (PostgreSQL backup and restore); "
        "default: found on PATH.",
    )

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        level = value.strip().upper()
        level = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)  # Python's aliases
        if level not in _LOG_LEVELS:
            raise ValueError(f"not a log level: {value!r} (one of {', '.join(_LOG_LEVELS)})")
        return level

    @field_validator("db")
    @classmethod
    def _url(cls, value: str) -> str:
        check_database_url(value)
        return value

    def sqlite_path(self) -> Path | None:
        """The SQLite file the settings name, or None for another database."""
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url())
        if url.get_backend_name() != "sqlite":
            return None
        return Path(url.database or "").expanduser()

    def database_url(self) -> str:
        """The SQLAlchemy URL of the configured database."""
        raw = self.db.strip()
        if not raw:
            raw = str(default_db_path())
        if "://" in raw:
            return raw
        return f"sqlite:///{Path(raw).expanduser()}"
