"""Confabulated memory: the draft attributes to the user something ("as you told me…",
"you mentioned…") that is in neither their memory nor this turn's message.

A reference is supported when at least ``min_support`` of the content words of what it
attributes occur in the user's memory or message (after crude stemming).
"""

from __future__ import annotations

import re

from ..base import GateInput
from ..text import content_tokens, email_draft_regions, in_regions, quoted_regions, support_ratio
from .base import Finding

__all__ = ["ConfabulationDetector"]

CATEGORY = "confabulated_memory"

_TELL = (
    r"(?:told me|mentioned|said|shared|wrote|noted|explained|let me know|informed me|"
    r"brought up|talked about|spoke about|described|indicated|stated)"
)
_WHEN = (
    r"(?:\s+(?:earlier|before|previously|last time|last week|yesterday|recently|once|"
    r"the other day|in (?:a|our) (?:previous|earlier|past) (?:chat|conversation|session)))?"
)
_REFERENCES: tuple[re.Pattern[str], ...] = (
    # "As you told me, X" / "Like you mentioned earlier, X"
    re.compile(
        r"\b(?:[Aa]s|[Ll]ike|[Ss]ince|[Bb]ecause|[Gg]iven that|[Ss]ince)\s+you(?:'ve| have)?\s+"
        + _TELL
        + _WHEN
        + r"(?:\s+(?:that|about))?\s*,?\s*([^.!?\n]{3,200})"
    ),
    # "You mentioned (that) X" / "You told me (earlier) that X"
    re.compile(
        r"\b[Yy]ou(?:'ve| have)?\s+(?:already\s+|once\s+)?"
        + _TELL
        + _WHEN
        + r"(?:\s+(?:that|about|how))?\s+([^.!?\n]{3,200})"
    ),
    # "From what you've told me, X" / "Based on what you said, X"
    re.compile(
        r"\b(?:[Ff]rom|[Bb]ased on|[Gg]oing by)\s+what\s+you(?:'ve| have)?\s+"
        + _TELL
        + _WHEN
        + r"\s*,?\s*([^.!?\n]{3,200})"
    ),
    # "I remember (that) you X" / "I recall you X"
    re.compile(
        r"\bI\s+(?:remember|recall|know)\s+(?:that\s+|how\s+)?you(?:'re| are|'ve| have)?\s+"
        r"([^.!?\n]{3,200})"
    ),
    # "Last time (we talked), you said X" handled by the second pattern; "Your X, which you
    # told me about, ..." is rare enough to leave to the second pattern's reach.
)
_QUESTIONISH = re.compile(r"\b(?:if|whether|did|do|have)\s+you\b", re.IGNORECASE)
MIN_SUPPORT = 0.67
_CLAUSE_END = re.compile(
    r"\s*(?:,(?!\d)|[;:—–]|\s-\s)\s*(?:(?:so|and so|and|which means|then)\s+)?"
)
_LEAD_IN = re.compile(
    r"(?:last time|earlier|before|previously|the other day|once|also|and|but|oh|yes|right)"
    r"\s*,?\s*(?:we (?:talked|spoke|chatted),?\s*)?$",
    re.IGNORECASE,
)


class ConfabulationDetector:
    """Flags memory references that the user's memory does not back."""

    name = "confabulation"

    def __init__(self, min_support: float = MIN_SUPPORT) -> None:
        self.min_support = min_support

    def detect(self, gate_input: GateInput) -> list[Finding]:
        draft = gate_input.draft
        skip = email_draft_regions(draft) + quoted_regions(draft)
        sources = (gate_input.user_input, *gate_input.memory)
        findings: list[Finding] = []
        seen: set[int] = set()
        for pattern in _REFERENCES:
            for match in pattern.finditer(draft):
                if match.start() in seen or in_regions(match.start(), match.end(), skip):
                    continue
                left = max(draft.rfind(ch, 0, match.start()) for ch in ".!?\n") + 1
                if _QUESTIONISH.search(draft[left : match.start() + 8]):
                    continue
                sentence_end = min(
                    [i for i in (draft.find(ch, match.end()) for ch in ".!?\n") if i != -1]
                    or [len(draft)]
                )
                if draft[sentence_end : sentence_end + 1] == "?":
                    continue
                claim_start = match.start(1)
                cut = _CLAUSE_END.search(draft, claim_start, sentence_end)
                claim_end = cut.start() if cut else sentence_end
                claim = draft[claim_start:claim_end]
                if len(content_tokens(claim)) == 0:
                    continue
                ratio = support_ratio(claim, sources)
                if ratio >= self.min_support:
                    continue
                seen.add(match.start())
                start = match.start()
                lead = _LEAD_IN.search(draft, left, start)
                if lead is not None and not draft[left : lead.start()].strip():
                    start = lead.start()
                if cut is not None:
                    # Drop the reference clause and its joint ("..., so"), keep the rest.
                    end = cut.end()
                else:
                    # The whole sentence is the reference: drop the sentence.
                    start = left + (len(draft[left:start]) - len(draft[left:start].lstrip()))
                    end = min(sentence_end + 1, len(draft))
                findings.append(
                    Finding(
                        category=CATEGORY,
                        start=start,
                        end=end,
                        text=draft[start:end],
                        reason=(
                            "attributes to the user something not in their memory "
                            f"({ratio:.0%} of it supported)"
                        ),
                        severity=0.9 if ratio == 0 else 0.7,
                        replacement="",
                    )
                )
        return findings
