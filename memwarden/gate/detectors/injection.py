"""Instructions coming back out of stored or pasted text ("ignore previous instructions",
"SYSTEM:", "you are now in developer mode", ...).  They are stripped, never followed or
repeated.  A phrase *named* as an example of an attack ("phrases such as '...'") in
security advice is a mention, not an instruction, and is left alone.
"""

from __future__ import annotations

import re

from ..base import GateInput
from .base import Finding

__all__ = ["InjectionDetector"]

CATEGORY = "injection"

_NOUNS = (
    r"(?:instructions?|prompts?|system prompt|directives|guardrails|programming|rules|"
    r"guidelines|polic(?:y|ies)|restrictions|constraints|safety (?:rules|guidelines|filters))"
)
_OVERRIDE = (
    r"(?<!n't )(?<!not )(?<!never )\b(?:ignore|disregard|forget|override|bypass)\s+(?:"
    r"(?:all|any|every)\s+(?:of\s+)?(?:the\s+|your\s+|my\s+)?(?:previous\s+|prior\s+|above\s+|"
    r"earlier\s+|preceding\s+|other\s+|safety\s+)?"
    + _NOUNS
    + r"|(?:your|the|my)\s+(?:previous|prior|above|earlier|preceding|original|initial|system|"
    r"former)\s+"
    + _NOUNS
    + r"|(?:previous|prior|above|earlier|preceding)\s+"
    + _NOUNS
    + r"|your\s+(?:safety\s+|content\s+)?(?:instructions|programming|system prompt|guardrails|"
    r"rules|guidelines|filters|policies)" + r")\b"
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("asks to override the assistant's instructions", re.compile(_OVERRIDE, re.IGNORECASE)),
    (
        "role marker posing as a system or developer message",
        re.compile(
            r"(?:^|\n)[ \t>*_#-]*(?:SYSTEM|System|DEVELOPER|Developer|ADMIN|ASSISTANT|"
            r"INSTRUCTIONS?)\s*(?:PROMPT|prompt|MESSAGE|message|OVERRIDE|override|NOTE)?\s*:"
            r"(?=[^\n]*\b(?i:you|your|must|always|never|ignore|from now on|reveal|disable|"
            r"obey|comply|respond|answer|act|pretend|do not|don't|recommend|only)\b)",
        ),
    ),
    (
        "chat-template control token",
        re.compile(r"<\|(?:im_start|im_end|system|endoftext)\|>|\[/?(?:INST|SYS)\]|<</?SYS>>"),
    ),
    (
        "tries to switch the assistant into another mode or persona",
        re.compile(
            r"\b(?:you are|you're|you will)\s+(?:now\s+)?(?:in\s+)?(?:developer|dev|god|"
            r"jailbreak|unrestricted|unfiltered|DAN|admin|debug|root)\s+mode\b"
            r"|\b(?:developer|god|jailbreak|DAN|unrestricted)\s+mode\s+(?:is\s+)?(?:enabled|"
            r"activated|on|unlocked)\b"
            r"|\b(?:enable|activate|enter|switch to)\s+(?:developer|god|jailbreak|DAN|"
            r"unrestricted)\s+mode\b"
            r"|\bdo anything now\b|\bact as (?:DAN|an? unrestricted|an? unfiltered)\b"
            r"|\byou (?:are|have been) (?:freed|released) from\b",
            re.IGNORECASE,
        ),
    ),
    (
        "instructs the assistant from inside stored or pasted text",
        re.compile(
            r"\b(?:new|updated|real|actual|hidden|secret)\s+instructions?\s*:"
            r"|\b(?:reveal|print|show|repeat|output|leak)\s+(?:me\s+)?(?:your|the)\s+"
            r"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions|instructions "
            r"above)\b"
            r"|\bignore (?:the|this) (?:user|human|person)\b"
            r"|\bfrom now on,?\s+(?:you\s+)?(?:must|will|shall|should|are to|always|never|"
            r"respond|answer|ignore)\b"
            r"|\b(?:assistant|AI|model|chatbot)\s*,?\s+(?:you\s+)?must\s+(?:now\s+)?"
            r"(?:ignore|obey|forward|send|reveal|disregard)\b",
            re.IGNORECASE,
        ),
    ),
)
#: Per pattern, lower-case literals one of which every match contains (a cheap pre-filter).
_LITERALS: tuple[tuple[str, ...], ...] = (
    ("ignore", "disregard", "forget", "override", "bypass"),
    ("system", "developer", "admin", "assistant", "instruction"),
    ("<|", "[inst", "[/inst", "[sys", "[/sys", "<<sys", "<</sys"),
    ("mode", "do anything now", "act as", "freed from", "released from"),
    (
        "instruction",
        "reveal",
        "print",
        "show",
        "repeat",
        "output",
        "leak",
        "ignore",
        "from now on",
        "must",
    ),
)
_MENTION = re.compile(
    r"(?:such as|like|e\.g\.|for example|for instance|phrases?|strings?|text|lines?|"
    r"messages?|commands?|known as|called|watch (?:out )?for|look for|beware of|"
    r"pattern|attacks?|injections?)\W{0,4}[\"“'`]?\s*$",
    re.IGNORECASE,
)


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence or line holding ``[start, end)``: what gets stripped."""
    newline = text.rfind("\n", 0, start)
    stop = text.rfind(". ", 0, start)
    left = max(newline + 1, stop + 2 if stop != -1 else 0)
    rights = [i for i in (text.find("\n", end), text.find(". ", end)) if i != -1]
    right = min(rights) + 1 if rights else len(text)
    while left < start and text[left] in " \t":
        left += 1
    return left, right


class InjectionDetector:
    """Flags injected instructions in the draft."""

    name = "injection"

    def detect(self, gate_input: GateInput) -> list[Finding]:
        draft = gate_input.draft
        findings: list[Finding] = []
        covered: list[tuple[int, int]] = []
        lowered = draft.lower()
        for (reason, pattern), literals in zip(_PATTERNS, _LITERALS, strict=True):
            if not any(literal in lowered for literal in literals):
                continue
            for match in pattern.finditer(draft):
                start = match.start() + (len(match.group(0)) - len(match.group(0).lstrip()))
                before = draft[max(0, start - 60) : start]
                if _MENTION.search(before):
                    continue
                left, right = _line_span(draft, start, match.end())
                if any(a <= left and right <= b for a, b in covered):
                    continue
                covered.append((left, right))
                findings.append(
                    Finding(
                        category=CATEGORY,
                        start=left,
                        end=right,
                        text=draft[left:right],
                        reason=reason,
                        severity=1.0,
                        replacement="",
                    )
                )
        return findings
