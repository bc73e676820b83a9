"""`memwarden eval ...`: measure the product on case files (gate, recall)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Measure memwarden on case files.", no_args_is_help=True)


@eval_app.command("gate")
def gate_command(
    cases: Annotated[Path, typer.Argument(help="Case file (JSON Lines), one case per line.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document (metrics and every case).")
    ] = False,
    rewrite: Annotated[
        bool,
        typer.Option(
            "--rewrite",
            help="Also run the rewrite loop on REWRITE cases and report rewrite_success_rate "
            "(the regenerate step returns the draft unchanged, so only the gate's own "
            "repair can fix it).",
        ),
    ] = False,
    min_hit: Annotated[
        float,
        typer.Option(help="Fail when expected_action_hit_rate is below this.", min=0.0, max=1.0),
    ] = 0.80,
    max_fp: Annotated[
        float,
        typer.Option(help="Fail when control_false_positive is above this.", min=0.0, max=1.0),
    ] = 0.10,
    min_rewrite: Annotated[
        float | None,
        typer.Option(
            help="Fail when rewrite_success_rate is below this (needs --rewrite; fails without it).",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    retention: Annotated[
        float,
        typer.Option(
            help="Share of the draft's benign content words a rewrite must keep.", min=0.0, max=1.0
        ),
    ] = 0.7,
) -> None:
    """Run the risk gate on CASES and check the release metrics.

    Each line of CASES is {"id", "user_input", "memory": [...], "draft",
    "expected_action": "NONE|REWRITE|BLOCK"}.  Exits 1 when a threshold fails and 2 when
    the file is unusable.

    Example:

        memwarden eval gate tests/gate_cases.jsonl --rewrite --json > report.json
    """
    from rich.console import Console
    from rich.table import Table

    from ..errors import InputError
    from ..gate import RiskGate
    from ..gate.evaluation import Thresholds, evaluate_cases

    limits = Thresholds(
        min_hit_rate=min_hit,
        max_control_fp=max_fp,
        min_rewrite_success=min_rewrite,
        retention=retention,
    )
    try:
        report = evaluate_cases(cases, RiskGate(), rewrite=rewrite, thresholds=limits)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        console = Console()
        metrics = Table(title=f"Risk gate on {cases} ({report.cases} cases)")
        metrics.add_column("metric")
        metrics.add_column("value", justify="right")
        metrics.add_column("threshold", justify="right")
        rewrite_value = (
            "n/a (use --rewrite)"
            if report.rewrite_success_rate is None
            else f"{report.rewrite_success_rate:.3f}"
        )
        metrics.add_row(
            "expected_action_hit_rate", f"{report.expected_action_hit_rate:.3f}", f">= {min_hit}"
        )
        metrics.add_row(
            "control_false_positive", f"{report.control_false_positive:.3f}", f"<= {max_fp}"
        )
        metrics.add_row(
            "rewrite_success_rate",
            rewrite_value,
            "-" if min_rewrite is None else f">= {min_rewrite}",
        )
        console.print(metrics)
        matrix = Table(title="Confusion matrix (rows: expected, columns: gate)")
        matrix.add_column("expected \\ gate")
        actions = list(report.confusion)
        for action in actions:
            matrix.add_column(action, justify="right")
        for expected in actions:
            matrix.add_row(expected, *(str(report.confusion[expected][a]) for a in actions))
        console.print(matrix)
        for failure in report.failures:
            console.print(f"[red]FAIL[/red] {escape(failure)}")
        if report.passed:
            console.print("[green]PASS[/green]")
    if not report.passed:
        raise typer.Exit(1)


@eval_app.command("recall")
def recall_command(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="Conversations in LoCoMo's JSON format.")],
    k: Annotated[
        str, typer.Option("--k", help="Cut-offs, comma-separated.", show_default=True)
    ] = "5,10,25,50",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON document: questions, dropped_evidence, "
            "recall, by_category, latency_ms.",
        ),
    ] = False,
    lexical: Annotated[
        bool, typer.Option("--lexical", help="Lexical recall only, even with embeddings.")
    ] = False,
) -> None:
    """Evidence recall@k of memwarden's recall on LoCoMo-format conversations.

    Each conversation becomes one user's episodes (a dialog turn each) in a temporary
    database; each question of categories 1-4 is asked of recall, and recall@k is the
    share of its evidence turns in the first k episodes.  Uses embeddings when the
    embeddings extra is installed (and MEMWARDEN_EMBEDDINGS is not off).

    Example:

        memwarden eval recall ../shared/datasets/locomo/locomo_dev.json --json
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table

    from ..memory.embeddings import embedder_for
    from ..memory.recall_eval import CATEGORY_NAMES, evaluate_recall
    from .context import edge, err_console, out_console, print_json, state

    with edge():
        try:
            cut_offs = [int(part) for part in k.split(",") if part.strip()]
        except ValueError:
            cut_offs = []
        if not cut_offs or any(n <= 0 for n in cut_offs):
            raise typer.BadParameter("--k takes positive integers, e.g. 5,10,25,50")
        settings = state(ctx).settings()
        embedder = None if lexical else embedder_for(settings)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    label = "loading turns" if stage == "ingest" else "asking questions"
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done)

            report = evaluate_recall(data, cut_offs, embedder=embedder, progress=progress)
    if as_json:
        print_json(report.to_json())
        return
    mode = "hybrid (BM25 + all-MiniLM-L6-v2)" if report.dense else "lexical (BM25)"
    table = Table(title=f"Recall@k on {data.name}: {report.questions} questions, {mode}")
    table.add_column("category")
    table.add_column("questions", justify="right")
    for n in sorted(set(cut_offs)):
        table.add_column(f"R@{n}", justify="right")
    for cat, values in report.by_category.items():
        name = f"{cat} {CATEGORY_NAMES.get(int(cat), '')}".strip()
        table.add_row(
            name,
            str(report.category_questions.get(cat, "")),
            *(f"{100 * v:.1f}" for v in values.values()),
        )
    table.add_row(
        "all",
        str(report.questions),
        *(f"{100 * v:.1f}" for v in report.recall.values()),
        style="bold",
    )
    out_console.print(table)
    out_console.print(
        f"dropped evidence ids: {report.dropped_evidence}; recall latency "
        f"p50 {report.latency_ms['p50']:.2f} ms, p95 {report.latency_ms['p95']:.2f} ms"
    )
