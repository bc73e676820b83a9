"""Prometheus metrics of one app, in a registry of its own (nothing global).

Series (``GET /metrics``, admin only):

* ``memwarden_turns_total{action}``: turns answered, by the gate's final action;
* ``memwarden_commands_total{command,ok}``: slash commands sent as turns;
* ``memwarden_gate_draft_score``: histogram of the first draft's risk score;
* ``memwarden_governance_calls_total{command,outcome}``: outcome is ``ok`` or the
  error kind (``not_found``, ``usage``, ``disabled``, ``store``, ``internal``);
* ``memwarden_governance_latency_seconds{command}``: as measured by governance;
* ``memwarden_http_request_duration_seconds{method,route}``: per endpoint, by the
  route's template (``/v1/episodes/{episode_id}/trace``), until the last byte is sent;
* ``memwarden_http_requests_total{method,route,status}``;
* ``memwarden_rate_limited_total``.

With ``memwarden serve --workers N`` every worker writes its values to
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them over all workers.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from ..governance import COMMANDS, GovernanceResult
from ..turn import TurnResult

__all__ = ["CONTENT_TYPE", "Metrics"]

GATE_BUCKETS = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, float("inf"))
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    10.0,
    float("inf"),
)


class Metrics:
    """The app's counters and histograms."""

    def __init__(self) -> None:
        # The agent's slash command names (set when the app starts).  Any other word
        # after a "/" is counted as "unknown": a label holds no text a user typed.
        self.known_commands: frozenset[str] = frozenset()
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "memwarden_turns", "Turns answered, by the gate's final action.", ["action"], registry=r
        )
        self.commands = Counter(
            "memwarden_commands",
            "Slash commands sent as turns, by command and success.",
            ["command", "ok"],
            registry=r,
        )
        self.gate_score = Histogram(
            "memwarden_gate_draft_score",
            "Risk gate score of each turn's first draft.",
            buckets=GATE_BUCKETS,
            registry=r,
        )
        self.governance = Counter(
            "memwarden_governance_calls",
            "Governance calls, by command and outcome (ok or the error kind).",
            ["command", "outcome"],
            registry=r,
        )
        self.governance_latency = Histogram(
            "memwarden_governance_latency_seconds",
            "Governance call latency, as recorded in governance_log.",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_latency = Histogram(
            "memwarden_http_request_duration_seconds",
            "HTTP request latency per endpoint, until the last byte of the answer.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_requests = Counter(
            "memwarden_http_requests",
            "HTTP requests per endpoint and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            "memwarden_rate_limited", "Requests refused by the per-key rate limit.", registry=r
        )

    def observe_turn(self, result: TurnResult) -> None:
        if result.command is not None:
            name = result.command if result.command in self.known_commands else "unknown"
            self.commands.labels(name, "true" if result.ok else "false").inc()
            if result.command in COMMANDS:
                self.governance.labels(result.command, _slash_outcome(result)).inc()
            return
        self.turns.labels(result.action).inc()
        self.gate_score.observe(result.draft_total_score)

    def observe_governance(self, result: GovernanceResult[Any]) -> None:
        outcome = "ok" if result.ok else (result.error_kind or "internal")
        self.governance.labels(result.command, outcome).inc()
        self.governance_latency.labels(result.command).observe(result.latency_ms / 1000)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_latency.labels(method, route).observe(seconds)
        self.http_requests.labels(method, route, str(status)).inc()

    def exposition(self) -> bytes:
        """The text format: this process's registry, or every worker's values."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged)
        return generate_latest(self.registry)


def _slash_outcome(result: TurnResult) -> str:
    if result.ok:
        return "ok"
    data = result.result
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("kind") or "internal")
    return "internal"
