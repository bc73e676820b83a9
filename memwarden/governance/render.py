"""What a person reads: replies for chat, and Rich views for the CLI."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .delete import BeliefDeletion, EpisodeDeletion
from .results import CheckpointStatus, ExportSummary, TaskEventsReport
from .trace import DecisionTrace

__all__ = [
    "belief_reply",
    "episode_reply",
    "export_reply",
    "task_events_reply",
    "trace_renderable",
    "trace_text",
]

MAX_LINES = 50  # task events shown in a chat reply
CLIP = 200


def export_reply(summary: ExportSummary) -> str:
    c = summary.counts
    what = ", ".join(
        (
            _n(c["episodes"], "episode"),
            _n(c["beliefs"], "belief"),
            _n(c["tasks"], "task"),
            _n(c["risk_log"], "risk_log row"),
            _n(c["governance_log"], "governance_log row"),
        )
    )
    where = f" to {summary.path}" if summary.path else ""
    return (
        f"Exported your memory ({what}; {summary.bytes:,} bytes, format v{summary.version}){where}."
    )


def _checkpoint(status: CheckpointStatus) -> str:
    if status.complete:
        return "The freed bytes were zeroed and the WAL checkpointed and truncated."
    return (
        "The freed bytes were zeroed; the WAL could not be truncated yet "
        f"({status.detail}), so the old pages leave it at the next checkpoint."
    )


def episode_reply(done: EpisodeDeletion, status: CheckpointStatus) -> str:
    parts = [f"Deleted episode {done.episode_id} and its {_n(done.risk_log_rows, 'risk_log row')}."]
    if done.beliefs_deleted:
        keys = ", ".join(f"{b.id} ({b.key})" for b in done.beliefs_deleted)
        parts.append(
            f"Deleted {_n(len(done.beliefs_deleted), 'belief')} it was the only source of: {keys}."
        )
    if done.beliefs_detached:
        keys = ", ".join(
            f"{b.id} ({b.key}{', reverted to its previous value' if b.reverted else ''})"
            for b in done.beliefs_detached
        )
        parts.append(
            f"Removed it as a source of {_n(len(done.beliefs_detached), 'belief')} "
            f"with other sources: {keys}."
        )
    if not done.beliefs_deleted and not done.beliefs_detached:
        parts.append("No belief came from it.")
    if done.tasks_kept:
        titles = "; ".join(f'{t.id} "{_clip(t.title, 60)}"' for t in done.tasks_kept)
        parts.append(
            f"Kept {_n(len(done.tasks_kept), 'task')} you asked for in it ({titles}), "
            "now without a source episode."
        )
    if done.episodes_redacted:
        ids = ", ".join(str(i) for i in done.episodes_redacted)
        parts.append(f"Removed its text from the traces and replies of later episodes {ids}.")
    parts.append(_checkpoint(status))
    return " ".join(parts)


def belief_reply(done: BeliefDeletion, status: CheckpointStatus) -> str:
    redacted = (
        "Removed its values from the traces and replies of later episodes "
        + ", ".join(str(i) for i in done.episodes_redacted)
        + ". "
        if done.episodes_redacted
        else ""
    )
    return (
        f"Deleted belief {done.belief_id} ({done.key}) with its "
        f"{_n(done.history_rows, 'history entry', 'history entries')} and "
        f"{_n(len(done.source_episodes), 'source link')}; the episodes stay. "
        + redacted
        + "Saying the same thing again may create it again. "
        + _checkpoint(status)
    )


def task_events_reply(report: TaskEventsReport) -> str:
    if not report.events:
        return (
            f"Task {report.task_id} has no events."
            if report.task_id
            else "You have no task events."
        )
    head = (
        f"Events of task {report.task_id}, newest first:"
        if report.task_id
        else "Your task events, newest first:"
    )
    lines = [head]
    for e in report.events[:MAX_LINES]:
        detail = _detail(e.detail)
        lines.append(
            f"{e.ts[:19].replace('T', ' ')}  task {e.task_id} {e.event}"
            f' "{_clip(e.task_title, 60)}"{detail}'
            + (f" (episode {e.episode_id})" if e.episode_id is not None else "")
        )
    shown = min(len(report.events), MAX_LINES)
    if report.total > shown:
        lines.append(f"… {report.total - shown} older events not shown.")
    return "\n".join(lines)


def _detail(detail: dict[str, Any]) -> str:
    if "from" in detail and "to" in detail:
        return f" ({detail['from']} → {detail['to']})"
    return ""


def trace_text(t: DecisionTrace) -> str:
    """The trace as plain text (a chat reply)."""
    lines = [f"Trace of episode {t.episode_id} ({t.ts[:19].replace('T', ' ')} UTC)"]
    lines.append(f"Input: {_q(t.input)}")
    if t.recalled:
        lines.append(f"Recalled ({len(t.recalled)}):")
        for m in t.recalled:
            lines.append("  " + _recalled_line(m))
    else:
        lines.append("Recalled: nothing")
    lines.append(f"Drafts ({len(t.drafts)}):")
    lines.extend(f"  {i}. {_q(d)}" for i, d in enumerate(t.drafts, 1))
    if t.risk is not None:
        lines.append(
            f"Risk: draft score {_f(t.risk.get('draft_total_score'))}, "
            f"final score {_f(t.risk.get('final_score'))}"
        )
        lines.extend(_category_lines(t.risk))
    lines.append(f"Action: {t.action}")
    if t.rewrite_attempts:
        lines.append(f"Rewrite attempts ({len(t.rewrite_attempts)}):")
        for i, a in enumerate(t.rewrite_attempts, 1):
            lines.append(
                f"  {i}. {a.get('method')}: score {_f(a.get('score'))} → {a.get('action')}"
                f"; draft {_q(a.get('draft') or '')}"
            )
    else:
        lines.append("Rewrite attempts: none")
    lines.append(f"Reply: {_q(t.reply)}")
    if t.timings_ms:
        lines.append("Timings: " + ", ".join(f"{k} {v:g} ms" for k, v in t.timings_ms.items()))
    for warning in t.warnings:
        lines.append(f"Warning: {warning} (shown what could be read)")
    return "\n".join(lines)


def trace_renderable(t: DecisionTrace) -> RenderableType:
    """The trace as Rich tables (``memwarden trace``)."""
    head = Text.assemble(
        (f"Trace of episode {t.episode_id}", "bold"), f"  {t.ts[:19].replace('T', ' ')} UTC"
    )
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold cyan", no_wrap=True)
    facts.add_column()
    facts.add_row("Input", escape(t.input))
    for i, d in enumerate(t.drafts, 1):
        facts.add_row(f"Draft {i}", escape(d))
    facts.add_row("Action", escape(t.action))
    facts.add_row("Reply", escape(t.reply))
    if t.timings_ms:
        facts.add_row("Timings", ", ".join(f"{k} {v:g} ms" for k, v in t.timings_ms.items()))
    parts: list[RenderableType] = [head, facts]
    recalled = Table(title="Recalled memories", title_justify="left", expand=False)
    for column in ("memory", "score", "bm25", "matched", "text"):
        recalled.add_column(column)
    for m in t.recalled:
        recalled.add_row(
            f"{m.get('kind')} {m.get('id')}",
            _f(m.get("score")),
            _g(m.get("lexical")),
            ", ".join(m.get("matched") or []),
            "[deleted]" if m.get("deleted") else escape(_clip(str(m.get("text") or ""), CLIP)),
        )
    parts.append(recalled if t.recalled else Text("Recalled: nothing"))
    if t.risk is not None:
        risk = Table(
            title=f"Risk: draft {_f(t.risk.get('draft_total_score'))}, "
            f"final {_f(t.risk.get('final_score'))}",
            title_justify="left",
        )
        for column in ("category", "score", "flagged spans"):
            risk.add_column(column)
        rows = [
            (str(c["category"]), _f(c["score"]), _spans(c["spans"]))
            for c in t.risk.get("categories", [])
        ] or [(str(k), _f(v), "") for k, v in (t.risk.get("scores") or {}).items()]
        for category, score, spans in rows:
            risk.add_row(escape(category), score, escape(spans))
        parts.append(risk if rows else Text(f"{risk.title}: no category flagged"))
    if t.rewrite_attempts:
        rewrites = Table(title="Rewrite attempts", title_justify="left")
        for column in ("#", "method", "score", "action", "draft"):
            rewrites.add_column(column)
        for i, a in enumerate(t.rewrite_attempts, 1):
            rewrites.add_row(
                str(i),
                str(a.get("method")),
                _f(a.get("score")),
                str(a.get("action")),
                escape(_clip(a.get("draft") or "", CLIP)),
            )
        parts.append(rewrites)
    for warning in t.warnings:
        parts.append(Text(f"warning: {warning} (shown what could be read)", style="yellow"))
    return Group(*parts)


def _recalled_line(m: dict[str, Any]) -> str:
    why = ", ".join(m.get("matched") or []) or "-"
    body = "[deleted]" if m.get("deleted") else _q(str(m.get("text") or ""))
    return (
        f"{m.get('kind')} {m.get('id')}: score {_f(m.get('score'))} (bm25 {_g(m.get('lexical'))}),"
        f" matched {why}: {body}"
    )


def _category_lines(risk: dict[str, Any]) -> list[str]:
    categories = risk.get("categories") or []
    if not categories:
        scores = risk.get("scores") or {}
        return [f"  {k}: {_f(v)}" for k, v in scores.items()] or ["  no category flagged"]
    return [f"  {c['category']}: {_f(c['score'])}{_spans(c['spans'], ' — ')}" for c in categories]


def _spans(spans: list[dict[str, Any]], lead: str = "") -> str:
    if not spans:
        return ""
    shown = [
        f"{_q(str(s.get('text') or ''))} [{s.get('start')}:{s.get('end')}] {s.get('reason') or ''}"
        for s in spans
    ]
    return lead + "; ".join(s.rstrip() for s in shown)


def _q(value: str) -> str:
    return '"' + _clip(value, CLIP) + '"'


def _clip(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _f(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def _g(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3g}"


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"
