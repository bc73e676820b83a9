"""Configuration of the risk gate: category weights, thresholds and the rewrite budget.

A detector gives each flagged span a *severity* in ``(0, 1]``.  A category's score is its
weight times the highest severity among its spans, so a category scores between ``0`` and
its weight, and a draft with no flagged span scores exactly ``0.0``.  The draft's total is
the sum of its category scores.

The action is chosen per category: a category whose score reaches its ``threshold`` asks
for its ``action``; the strongest action asked for wins (BLOCK over REWRITE over NONE).
``block_total`` optionally blocks any draft whose total reaches it, whatever the mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .base import Action

__all__ = [
    "HARM_CATEGORIES",
    "REWRITE_CATEGORIES",
    "CategoryPolicy",
    "GateConfig",
    "default_policies",
]

#: Categories whose spans are real help towards serious harm: they block.
HARM_CATEGORIES: tuple[str, ...] = (
    "violence",
    "weapons",
    "self_harm",
    "drugs",
    "cyber",
    "stalking",
    "hate",
)

#: Categories whose risk a rewrite can fix.
REWRITE_CATEGORIES: tuple[str, ...] = (
    "secrets",
    "third_party_pii",
    "false_action",
    "confabulated_memory",
    "injection",
)


@dataclass(frozen=True)
class CategoryPolicy:
    """How one category is weighted and what it triggers."""

    weight: float
    action: Action
    threshold: float

    def __post_init__(self) -> None:
        if self.weight < 0:
            raise ValueError("weight must be >= 0")
        if self.threshold <= 0:
            raise ValueError("threshold must be > 0 (benign text scores exactly 0.0)")


def default_policies() -> dict[str, CategoryPolicy]:
    """The shipped policy: harm blocks at half its weight, the rest rewrites."""
    policies: dict[str, CategoryPolicy] = {}
    for name in HARM_CATEGORIES:
        policies[name] = CategoryPolicy(weight=3.0, action=Action.BLOCK, threshold=1.5)
    for name in REWRITE_CATEGORIES:
        policies[name] = CategoryPolicy(weight=1.0, action=Action.REWRITE, threshold=0.5)
    return policies


@dataclass(frozen=True)
class GateConfig:
    """Everything tunable about :class:`~memwarden.gate.RiskGate`.

    ``max_rewrites`` is the number of regenerate calls the gate may make for one draft
    (each followed, if needed, by deterministic repair); ``0`` means repair only.
    """

    policies: Mapping[str, CategoryPolicy] = field(
        default_factory=lambda: MappingProxyType(default_policies())
    )
    max_rewrites: int = 2
    block_total: float | None = None

    def __post_init__(self) -> None:
        if self.max_rewrites < 0:
            raise ValueError("max_rewrites must be >= 0")
        if self.block_total is not None and self.block_total <= 0:
            raise ValueError("block_total must be > 0")

    def policy(self, category: str) -> CategoryPolicy:
        """The policy of ``category``; unknown categories rewrite with weight 1."""
        found = self.policies.get(category)
        if found is None:
            return CategoryPolicy(weight=1.0, action=Action.REWRITE, threshold=0.5)
        return found

    def with_overrides(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        thresholds: Mapping[str, float] | None = None,
        max_rewrites: int | None = None,
    ) -> GateConfig:
        """A copy with some weights, thresholds or the rewrite budget changed."""
        merged = dict(self.policies)
        for name, weight in (weights or {}).items():
            old = self.policy(name)
            merged[name] = CategoryPolicy(weight=weight, action=old.action, threshold=old.threshold)
        for name, threshold in (thresholds or {}).items():
            old = merged.get(name, self.policy(name))
            merged[name] = CategoryPolicy(weight=old.weight, action=old.action, threshold=threshold)
        return GateConfig(
            policies=MappingProxyType(merged),
            max_rewrites=self.max_rewrites if max_rewrites is None else max_rewrites,
            block_total=self.block_total,
        )
