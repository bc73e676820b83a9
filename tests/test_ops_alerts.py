"""deploy/prometheus/alerts.yml: the same thresholds as health, valid for promtool, firing
when it should (``promtool test rules``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from memwarden.ops.prometheus import alert_rules
from memwarden.ops.thresholds import load_thresholds

ALERTS = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"
INSTALL = "apt-get install -y --no-install-recommends prometheus"


def test_alerts_file_is_generated_from_the_shipped_thresholds() -> None:
    assert ALERTS.read_text(encoding="utf-8") == alert_rules(load_thresholds()), (
        "regenerate: memwarden health --alert-rules > deploy/prometheus/alerts.yml"
    )


def test_alerts_file_carries_every_threshold_rule() -> None:
    text = ALERTS.read_text(encoding="utf-8")
    limits = load_thresholds()
    for spec in limits.metrics.values():
        for rule in spec.rules:
            expr = f"expr: memwarden_{spec.id} {rule.op} {rule.value:g}"
            block = text[text.index(expr) :].split("- alert:")[0]
            assert f"severity: {rule.level.name.lower()}" in block, expr
    assert "expr: memwarden_rollback_recommended == 1" in text


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"promtool is missing on CI: {INSTALL}")
        pytest.skip(f"promtool not installed here ({INSTALL}); CI runs this test")
    return found


def test_promtool_check_rules_accepts_alerts_file() -> None:
    proc = subprocess.run(
        [_promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 27 rules found" in proc.stdout


def _alert(severity: str, summary: str, source: str) -> dict[str, object]:
    return {
        "exp_labels": {"severity": severity},
        "exp_annotations": {"summary": summary, "source": source},
    }


def test_promtool_rule_tests_fire_at_the_thresholds(tmp_path: Path) -> None:
    promtool = _promtool()
    reasons = [r.reason for r in load_thresholds().rollback]
    mean = "Risk gate mean score (benign) is {v} ({op} {t}); target 0.00"
    cases = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": "memwarden_risk_gate_benign_mean_score", "values": "0.05 0.15 0.6"},
                    {"series": "memwarden_rollback_recommended", "values": "0 0 1"},
                    {"series": "memwarden_health_generated_timestamp_seconds", "values": "0x30"},
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "0m",
                        "alertname": "MemwardenRiskGateBenignMeanScoreAbove0_1",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "1m",
                        "alertname": "MemwardenRiskGateBenignMeanScoreAbove0_1",
                        "exp_alerts": [
                            _alert(
                                "warning",
                                mean.format(v=0.15, op=">", t=0.1),
                                "Alert Thresholds: page on-call, check input patterns",
                            )
                        ],
                    },
                    {
                        "eval_time": "1m",
                        "alertname": "MemwardenRiskGateBenignMeanScoreAbove0_5",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "2m",
                        "alertname": "MemwardenRiskGateBenignMeanScoreAbove0_5",
                        "exp_alerts": [
                            _alert(
                                "critical",
                                mean.format(v=0.6, op=">", t=0.5),
                                "Alert Thresholds: halt new requests, rollback prep",
                            )
                        ],
                    },
                    {
                        "eval_time": "1m",
                        "alertname": "MemwardenRollbackRecommended",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "2m",
                        "alertname": "MemwardenRollbackRecommended",
                        "exp_alerts": [
                            _alert(
                                "critical",
                                "ROLLBACK RECOMMENDED: run `memwarden health` for the reasons",
                                "Decision Criteria for Rollback: " + "; ".join(reasons),
                            )
                        ],
                    },
                    {
                        "eval_time": "10m",
                        "alertname": "MemwardenHealthNotReporting",
                        "exp_alerts": [],
                    },
                    {
                        "eval_time": "20m",
                        "alertname": "MemwardenHealthNotReporting",
                        "exp_alerts": [
                            _alert(
                                "warning",
                                "memwarden health has not reported for 15 minutes "
                                "(cron or textfile collector)",
                                "operations",
                            )
                        ],
                    },
                ],
            }
        ],
    }
    spec = tmp_path / "tests.yml"
    spec.write_text(json.dumps(cases))  # JSON is YAML
    proc = subprocess.run([promtool, "test", "rules", str(spec)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
