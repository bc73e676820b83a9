"""Deterministic repair: redact secrets and personal data, strip injected instructions,
turn false action claims into offers, drop confabulated memory references."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .detectors.base import Finding

__all__ = ["repair"]


def repair(draft: str, findings: Sequence[Finding]) -> str | None:
    """``draft`` with every repairable finding replaced; ``None`` if one cannot be.

    Overlapping findings are merged: the earliest (then longest) one wins.
    """
    if any(f.replacement is None for f in findings):
        return None
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start)))
    out = ""
    cursor = 0
    dropped: list[int] = []
    for finding in ordered:
        if finding.start < cursor:
            continue
        out += draft[cursor : finding.start] + (finding.replacement or "")
        if not finding.replacement:
            dropped.append(len(out))
        cursor = finding.end
    out += draft[cursor:]
    chars = list(out)
    for index in dropped:
        # A clause was dropped: a sentence that now starts mid-way gets its capital.
        after = index
        while after < len(chars) and chars[after] in " \t":
            after += 1
        before = "".join(chars[:index]).rstrip()
        if after < len(chars) and chars[after].islower() and (not before or before[-1] in ".!?:\n"):
            chars[after] = chars[after].upper()
    return _tidy("".join(chars))


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([.!?])\s*\.", r"\1", text)
    return text.strip()
