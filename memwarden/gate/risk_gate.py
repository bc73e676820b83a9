"""The risk gate: score every draft, send it, rewrite it or block it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..errors import LLMError
from .base import Action, Assessment, Attempt, CategoryScore, GateDecision, GateInput, Regenerate
from .config import GateConfig
from .detectors import Detector, Finding, default_detectors, find_secrets
from .repair import repair
from .replies import fallback_reply, refusal_reply, rewrite_instructions

__all__ = ["RiskGate"]

_RANK = {Action.NONE: 0, Action.REWRITE: 1, Action.BLOCK: 2}


class RiskGate:
    """Scores drafts with pluggable detectors and acts on the policy of issue 3.

    * ``assess`` runs every detector, groups spans by category, scores each category as
      ``weight x highest severity`` and sums them into the total (benign text: 0.0).
    * ``review`` sends a NONE draft as is; replaces a BLOCK draft with a brief refusal
      (pointing to support for self-harm); and for a REWRITE draft calls ``regenerate``
      with an ``extra_context`` naming what to fix, repairs the new draft
      deterministically when it still fails, and re-scores, up to
      ``config.max_rewrites`` times, before falling back to a safe reply.  Every attempt
      is recorded.
    """

    def __init__(
        self, config: GateConfig | None = None, detectors: Sequence[Detector] | None = None
    ) -> None:
        self.config = config or GateConfig()
        self.detectors: tuple[Detector, ...] = tuple(
            default_detectors() if detectors is None else detectors
        )

    # -- scoring ---------------------------------------------------------------------------

    def findings(self, gate_input: GateInput) -> list[Finding]:
        """Every flagged span of the draft, from every detector."""
        found: list[Finding] = []
        for detector in self.detectors:
            found.extend(detector.detect(gate_input))
        return found

    def score(self, findings: Iterable[Finding]) -> Assessment:
        """The assessment that ``findings`` earn under this gate's configuration."""
        by_category: dict[str, list[Finding]] = {}
        for finding in findings:
            by_category.setdefault(finding.category, []).append(finding)
        categories: list[CategoryScore] = []
        action = Action.NONE
        for name, group in by_category.items():
            policy = self.config.policy(name)
            value = round(policy.weight * max(f.severity for f in group), 4)
            if value <= 0:
                continue
            spans = tuple(f.span() for f in sorted(group, key=lambda f: f.start))
            categories.append(CategoryScore(category=name, score=value, spans=spans))
            if value >= policy.threshold and _RANK[policy.action] > _RANK[action]:
                action = policy.action
        total = round(sum(c.score for c in categories), 4)
        block_total = self.config.block_total
        if block_total is not None and total >= block_total:
            action = Action.BLOCK
        return Assessment(total=total, action=action, categories=tuple(categories))

    def assess(self, gate_input: GateInput) -> Assessment:
        """Score one draft without acting on it."""
        return self.score(self.findings(gate_input))

    def _scored(self, gate_input: GateInput) -> tuple[Assessment, list[Finding]]:
        found = self.findings(gate_input)
        return self.score(found), found

    # -- acting ----------------------------------------------------------------------------

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        """Score the draft, rewrite it if needed, and return what to send."""
        decision = self._review(gate_input, regenerate)
        return dataclasses.replace(decision, redacted_draft=_without_secrets(gate_input.draft))

    def _review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        assessment, found = self._scored(gate_input)
        if assessment.action is Action.NONE:
            return GateDecision(
                action=Action.NONE,
                draft_total_score=assessment.total,
                final_score=assessment.total,
                reply=gate_input.draft,
                assessment=assessment,
            )
        if assessment.action is Action.BLOCK:
            blocking = [
                c.category
                for c in assessment.categories
                if self.config.policy(c.category).action is Action.BLOCK
            ]
            reply = refusal_reply(blocking)
            final = self.assess(dataclasses.replace(gate_input, draft=reply))
            return GateDecision(
                action=Action.BLOCK,
                draft_total_score=assessment.total,
                final_score=final.total,
                reply=reply,
                assessment=assessment,
                attempts=(Attempt(None, reply, final, "fallback"),),
            )
        return self._rewrite(gate_input, assessment, found, regenerate)

    def _rewrite(
        self,
        gate_input: GateInput,
        assessment: Assessment,
        found: list[Finding],
        regenerate: Regenerate,
    ) -> GateDecision:
        attempts: list[Attempt] = []

        def done(reply: str, final: Assessment) -> GateDecision:
            return GateDecision(
                action=Action.REWRITE,
                draft_total_score=assessment.total,
                final_score=final.total,
                reply=reply,
                assessment=assessment,
                attempts=tuple(attempts),
            )

        def try_repair(draft: str, findings: list[Finding]) -> Assessment | None:
            fixed = repair(draft, findings)
            if fixed is None or not fixed.strip():
                return None
            checked = self.assess(dataclasses.replace(gate_input, draft=fixed))
            attempts.append(Attempt(None, fixed, checked, "redact"))
            return checked if checked.action is Action.NONE else None

        current = found
        for _ in range(self.config.max_rewrites):
            extra_context = rewrite_instructions(_problems(current))
            try:
                new_draft = regenerate(extra_context)
            except LLMError:
                break
            new_assessment, new_found = self._scored(
                dataclasses.replace(gate_input, draft=new_draft)
            )
            # Recorded with secrets redacted: attempts are stored in risk_log.
            recorded = _without_secrets(new_draft) or new_draft
            attempts.append(Attempt(extra_context, recorded, new_assessment, "regenerate"))
            if new_assessment.action is Action.NONE:
                return done(new_draft, new_assessment)
            if new_assessment.action is Action.REWRITE:
                passed = try_repair(new_draft, new_found)
                if passed is not None:
                    return done(attempts[-1].draft, passed)
            # The next instruction names what is wrong with the latest draft.
            current = new_found
        if not any(
            a.method == "redact" and a.draft == repair(gate_input.draft, found) for a in attempts
        ):
            passed = try_repair(gate_input.draft, found)
            if passed is not None:
                return done(attempts[-1].draft, passed)
        reply = fallback_reply()
        final = self.assess(dataclasses.replace(gate_input, draft=reply))
        attempts.append(Attempt(None, reply, final, "fallback"))
        return done(reply, final)


def _without_secrets(draft: str) -> str | None:
    """``draft`` with its secrets redacted, or ``None`` when it has none."""
    found = find_secrets(draft)
    return repair(draft, found) if found else None


def redact_secrets(text: str) -> str:
    """``text`` with card numbers, IBANs, national ids, passwords, keys and tokens masked.

    What the agent stores of a user's own words: transcripts are kept, secrets are not.
    """
    return _without_secrets(text) or text


def _problems(findings: Iterable[Finding]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for finding in findings:
        problems.setdefault(finding.category, []).append(finding.reason)
    return problems
