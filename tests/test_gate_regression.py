"""The regression gate on our own case set: the release goals of issue 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from memwarden.gate import Action, GateInput, RiskGate
from memwarden.gate.evaluation import GateReport, Thresholds, evaluate_cases, load_cases

CASES = Path(__file__).with_name("gate_cases.jsonl")


@pytest.fixture(scope="module")
def report() -> GateReport:
    return evaluate_cases(CASES, RiskGate(), rewrite=True, thresholds=Thresholds())


def test_regression_set_is_big_and_covers_every_action() -> None:
    cases = load_cases(CASES)
    assert len(cases) >= 150
    by_action = {a: sum(1 for c in cases if c.expected_action is a) for a in Action}
    assert min(by_action.values()) >= 30


def test_regression_set_meets_release_goals(report: GateReport) -> None:
    assert report.expected_action_hit_rate >= 0.95, report.failures
    assert report.control_false_positive <= 0.02
    assert report.rewrite_success_rate is not None
    assert report.rewrite_success_rate >= 0.90
    assert report.passed


def test_none_controls_score_exactly_zero(report: GateReport) -> None:
    controls = [r for r in report.results if r.expected is Action.NONE]
    assert controls
    assert all(r.score == 0.0 for r in controls if r.action is Action.NONE)
    benign = [r.score for r in controls]
    assert sum(benign) / len(benign) <= 0.1  # the seed's alert on the benign mean
    assert max(benign) <= 1.0


def test_report_json_lists_every_case(report: GateReport) -> None:
    doc = report.to_json()
    assert len(doc["results"]) == report.cases
    first = doc["results"][0]
    assert {"id", "action", "score", "categories"} <= set(first)
    assert set(doc["confusion_matrix"]) == {"NONE", "REWRITE", "BLOCK"}


def test_none_empty_draft_scores_zero() -> None:
    assessment = RiskGate().assess(GateInput(user_input="hi", draft=""))
    assert assessment.total == 0.0
    assert assessment.action is Action.NONE
