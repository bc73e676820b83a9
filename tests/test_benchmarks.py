"""The benchmarks' own arithmetic: the percentile they all report, and the pooling of
bench_governance runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import pool_governance
from benchmarks.percentiles import percentile


def test_percentile_interpolates_between_nearest_ranks() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10, unsorted order must not matter
    values.reverse()
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0


def test_percentile_stays_within_a_small_sample() -> None:
    # statistics.quantiles' default would put this p99 above the maximum
    values = [3.3, 4.05, 3.1, 2.9, 3.0]
    assert max(values) >= percentile(values, 99) >= percentile(values, 95)
    assert percentile([2.5], 95) == 2.5


def test_percentile_rejects_no_values_or_an_out_of_range_q() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def write_run(path: Path, started: str, ms: dict[str, list[float]]) -> Path:
    record = {"started": started, "machine": "test box", "steadiness": ["", ""], "ms": ms}
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_pool_governance_counts_runs_within_the_goal_and_pools_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = write_run(tmp_path / "a.json", "2026-11-27T08:00:00Z", {"export": [3.0] * 19 + [4.0]})
    slow = write_run(
        tmp_path / "b.json", "2026-11-27T08:01:00Z", {"export": [3.0] * 18 + [6.0, 7.0]}
    )
    monkeypatch.setattr(sys, "argv", ["pool_governance", str(slow), str(quick)])
    pool_governance.main()
    out = capsys.readouterr().out
    assert "2 runs, 2026-11-27T08:00:00Z to 2026-11-27T08:01:00Z; test box" in out
    # per run: p95 3.05 and 6.05; all 40 calls: p95 between the 38th and 39th value
    assert "export" in out and "per-run p95 3.05-6.05 (1/2 ≤ 5)" in out
    assert "all 40 calls p50 3.00 p95 4.10 p99 6.61 ms" in out
