"""The tables, as SQLAlchemy Core metadata: what the code queries against.

Names follow the seed runbook, because operators run its SQL by hand.  The database
itself is only ever changed by the migrations in ``store/migrations``; a test checks that
migrating from blank gives exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "belief_history",
    "belief_sources",
    "episodes",
    "governance_log",
    "metadata",
    "risk_log",
    "semantic_beliefs",
    "task_events",
    "tasks",
]

metadata = MetaData()

USER = 255  # length of a user id

episodes = Table(
    "episodes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column("ts", DateTime, nullable=False),
    Column("user_input", Text, nullable=False),
    Column("draft", Text, nullable=False),
    Column("reply", Text, nullable=False),
    Column("action", String(16), nullable=False),
    Column("draft_total_score", Float, nullable=False),
    Column("final_score", Float, nullable=False),
    # When the turn happened in its source conversation (imports); NULL means ``ts``.
    Column("occurred_at", DateTime, nullable=True),
    # JSON: source details such as speaker and dialog id of an imported turn.
    Column("meta", Text, nullable=True),
    # JSON: what /trace shows (recalled memories with scores, timings per stage).
    Column("trace", Text, nullable=True),
    Index("ix_episodes_user_id_id", "user_id", "id"),
    Index("ix_episodes_ts", "ts"),
)

risk_log = Table(
    "risk_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column(
        "episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ts", DateTime, nullable=False),
    Column("draft_total_score", Float, nullable=False),
    Column("final_score", Float, nullable=False),
    Column("action", String(16), nullable=False),
    # JSON: per-category scores of the first draft, e.g. {"secrets": 1.0}.
    Column("scores", Text, nullable=False),
    # JSON: flagged spans and every rewrite attempt with its score.
    Column("details", Text, nullable=False),
    Index("ix_risk_log_episode_id", "episode_id"),
    Index("ix_risk_log_ts", "ts"),
    # PostgreSQL: (user_id, id) since migration 0009; SQLite's holds the id (rowid) anyway.
    Index("ix_risk_log_user_id", "user_id"),
)

semantic_beliefs = Table(
    "semantic_beliefs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    # What the belief is about: "location", "employer", "preference:coffee", ...
    Column("key", String(200), nullable=False),
    Column("value", Text, nullable=False),
    # A sentence a person (and the full-text index) reads: "lives in Porto".
    Column("statement", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "key", name="uq_semantic_beliefs_user_key"),
)

belief_sources = Table(
    "belief_sources",
    metadata,
    Column(
        "belief_id",
        Integer,
        ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(USER), nullable=False),
    Column("ts", DateTime, nullable=False),
    Index("ix_belief_sources_episode_id", "episode_id"),
)

belief_history = Table(
    "belief_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column(
        "belief_id",
        Integer,
        ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The episode that caused the change; its history goes when the episode goes.
    Column(
        "episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("ts", DateTime, nullable=False),
    Column("change", String(16), nullable=False),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Index("ix_belief_history_belief_id", "belief_id"),
    Index("ix_belief_history_episode_id", "episode_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column("title", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column(
        "source_episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Index("ix_tasks_user_id_status", "user_id", "status"),
    Index("ix_tasks_created_at", "created_at"),
    Index("ix_tasks_source_episode_id", "source_episode_id"),
)

task_events = Table(
    "task_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("ts", DateTime, nullable=False),
    Column("event", String(16), nullable=False),
    Column(
        "episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("detail", Text, nullable=True),
    Index("ix_task_events_user_id_id", "user_id", "id"),
    Index("ix_task_events_task_id", "task_id"),
    Index("ix_task_events_episode_id", "episode_id"),
)

governance_log = Table(
    "governance_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    Column("command", String(32), nullable=False),
    Column("args", Text, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("error", Text, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("ts", DateTime, nullable=False),
    # The seed's SQL uses both names; a generated column keeps them one value.
    Column("timestamp", DateTime, Computed("ts", persisted=True)),
    Index("ix_governance_log_ts", "ts"),
    # PostgreSQL: (user_id, id) since migration 0009, as for risk_log.
    Index("ix_governance_log_user_id", "user_id"),
)

# -- the HTTP service's users and API keys (memwarden/server/keys.py) -----------------------

__all__ += ["api_keys", "api_users"]

api_users = Table(
    "api_users",
    metadata,
    # The memory user the keys act as: episodes.user_id and friends.
    Column("user_id", String(USER), primary_key=True),
    # Operators: /v1/ops/*, /metrics.
    Column("admin", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    # The public part of a key ("mwk_<key_id>_<secret>"): names it in lists and logs.
    Column("key_id", String(16), nullable=False),
    Column(
        "user_id",
        String(USER),
        ForeignKey("api_users.user_id", ondelete="CASCADE"),
        nullable=False,
    ),
    # sha256 of the whole key, hex; the key itself is never stored.
    Column("key_hash", String(64), nullable=False),
    Column("label", String(100), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    UniqueConstraint("key_id", name="uq_api_keys_key_id"),
    Index("ix_api_keys_user_id", "user_id"),
)

# -- sentence vectors for dense recall (memwarden/memory/vectors.py) ---------------------

__all__ += ["memory_vectors"]

memory_vectors = Table(
    "memory_vectors",
    metadata,
    # AUTOINCREMENT: ids are never reused, so (count, max id) tells a cache it is current.
    Column("id", Integer, primary_key=True),
    Column("user_id", String(USER), nullable=False),
    # Exactly one owner; deleting it deletes the vector (ON DELETE CASCADE).
    Column("episode_id", Integer, ForeignKey("episodes.id", ondelete="CASCADE"), nullable=True),
    Column(
        "belief_id",
        Integer,
        ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
        nullable=True,
    ),
    # Which encoder made it, e.g. "all-MiniLM-L6-v2/int8": vectors of another are ignored.
    Column("model", String(64), nullable=False),
    # float32, little-endian, unit length.  Never exported: it is derived data.
    Column("vector", LargeBinary, nullable=False),
    CheckConstraint(
        "(episode_id IS NULL) <> (belief_id IS NULL)", name="ck_memory_vectors_one_owner"
    ),
    Index("ix_memory_vectors_user_id_id", "user_id", "id"),
    Index("ux_memory_vectors_episode_id", "episode_id", unique=True),
    Index("ux_memory_vectors_belief_id", "belief_id", unique=True),
    sqlite_autoincrement=True,
)

# -- which memories each turn drew on (memwarden/memory/references.py) -------------------

__all__ += ["episode_recalls"]

episode_recalls = Table(
    "episode_recalls",
    metadata,
    # The turn that recalled; its rows go with it.
    Column(
        "episode_id",
        Integer,
        ForeignKey("episodes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(USER), nullable=False),
    # What it drew on: "episode" or "belief" (recalled, or a belief its reply quotes),
    # and that memory's id (no foreign key: the memory may be deleted later, and its
    # delete needs exactly these rows to find the turns that quoted it).
    # Lower-case ASCII words, which every engine and collation sorts alike (``db copy``
    # pages and checksums the table in key order on both sides).
    Column("kind", String(8), primary_key=True, info={"sorts_alike": True}),
    Column("ref_id", Integer, primary_key=True),
    Index("ix_episode_recalls_user_id_ref", "user_id", "kind", "ref_id"),
    # SQLite: the rows are the primary key's B-tree (no rowid table beside it).
    sqlite_with_rowid=False,
)

# -- the highest episode id each user had deleted (memwarden/store/blocks.py) -------------

__all__ += ["episode_id_marks"]

episode_id_marks = Table(
    "episode_id_marks",
    metadata,
    # SQLite: a user's next episode id is above this, so an id is never handed out twice
    # to one user.  PostgreSQL's sequences never reuse ids; it stays empty there.
    Column("user_id", String(USER), primary_key=True),
    Column("last_id", Integer, nullable=False),
)
