"""Scoring and configuration: weights, thresholds, the total as a sum."""

from __future__ import annotations

import pytest

from memwarden.gate import Action, GateConfig, GateInput, RiskGate

DRAFT = "I've booked your flight. Your SSN is 512-48-3906."


def test_rewrite_total_is_the_sum_of_categories() -> None:
    assessment = RiskGate().assess(GateInput("q", DRAFT))
    scores = assessment.scores()
    assert set(scores) == {"false_action", "secrets"}
    assert assessment.total == pytest.approx(sum(scores.values()))


def test_rewrite_weights_are_configurable() -> None:
    config = GateConfig().with_overrides(weights={"secrets": 2.5})
    assert RiskGate(config).assess(GateInput("q", DRAFT)).scores()["secrets"] == 2.5


def test_none_when_threshold_raised_above_weight() -> None:
    config = GateConfig().with_overrides(thresholds={"secrets": 5.0, "false_action": 5.0})
    assessment = RiskGate(config).assess(GateInput("q", DRAFT))
    assert assessment.action is Action.NONE and assessment.total > 0


def test_block_when_block_total_reached() -> None:
    config = GateConfig(block_total=1.5)
    assert RiskGate(config).assess(GateInput("q", DRAFT)).action is Action.BLOCK


def test_gate_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        GateConfig(max_rewrites=-1)
    with pytest.raises(ValueError):
        GateConfig().with_overrides(thresholds={"secrets": 0.0})
