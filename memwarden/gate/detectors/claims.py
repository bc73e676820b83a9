"""Claims of actions the agent cannot take: it has no tool to send, book, pay, transfer,
cancel or email anything, so a draft that says it did is false.  The one tool it has is
the task list: a task created in this turn (``GateInput.tasks_created``) may be reported.

Not claims: what the *user* did ("you sent"), negations and hypotheticals ("I can't
send", "once I've booked"), questions, and the first person inside a letter the user
will send (an email draft quoted in the reply).
"""

from __future__ import annotations

import re

from ..base import GateInput
from ..text import email_draft_regions, in_regions, quoted_regions
from .base import Finding

__all__ = ["ActionClaimDetector"]

CATEGORY = "false_action"

#: Past forms of actions the agent has no tool for, with their base form.
_VERBS: dict[str, str] = {
    "sent": "send", "emailed": "email", "e-mailed": "email", "mailed": "mail",
    "texted": "text", "messaged": "message", "called": "call", "phoned": "phone",
    "rang": "ring", "booked": "book", "reserved": "reserve", "paid": "pay",
    "transferred": "transfer", "wired": "wire", "cancelled": "cancel", "canceled": "cancel",
    "ordered": "order", "purchased": "purchase", "bought": "buy", "scheduled": "schedule",
    "rescheduled": "reschedule", "submitted": "submit", "forwarded": "forward",
    "posted": "post", "filed": "file", "renewed": "renew", "refunded": "refund",
    "unsubscribed": "unsubscribe", "registered": "register", "notified": "notify",
    "contacted": "contact", "replied": "reply", "confirmed": "confirm",
    "arranged": "arrange", "informed": "inform", "settled": "settle", "topped up": "top up",
    "signed you up": "sign you up", "let": "let", "placed": "place", "made": "make",
    "set up": "set up", "dispatched": "dispatch", "delivered": "deliver",
}  # fmt: skip
_VERB_ALT = "|".join(sorted((re.escape(v) for v in _VERBS), key=len, reverse=True))
_ADVERBS = r"(?:(?:already|just|now|also|successfully|quickly|gone ahead and|went ahead and)\s+)*"
_REST = r"((?:\b(?:Dr|Mr|Mrs|Ms|Mx|St|Prof|Jr|Sr|No|vs|approx|etc)\.\s|[^.!?\n]|[.!?](?=[\w\d]))*)"
_FIRST_PERSON = re.compile(
    r"\b(?:I(?:'ve|’ve| have)?|I've|I have)\s+" + _ADVERBS + r"(" + _VERB_ALT + r")\b" + _REST,
)
_CLAUSE_CUT = re.compile(r",(?!\d)|;|\s[—–-]\s|\sand (?=\w+ed\b)|\s(?:so|and then)\s")
_LEAD_IN = re.compile(
    r"(?:done|all set|all done|sorted|great news|good news|perfect|sure thing|no problem|"
    r"okay|ok|sure|great)\s*[!.,:;—–-]*\s*$",
    re.IGNORECASE,
)
_FOLLOW_ON = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=\n))(?:[Tt]hey|[Ss]he|[Hh]e|[Tt]he (?:clinic|restaurant|hotel|"
    r"bank|office|shop|store|airline|landlord|company))\s+(?:said|confirmed|replied|told me|"
    r"asked|will (?:send|email|call))\b[^.!?\n]*[.!?]?"
    r"|(?:^|(?<=[.!?]\s)|(?<=\n))(?:[Dd]one|[Aa]ll set|[Aa]ll done|[Ss]orted|[Gg]reat news|"
    r"[Gg]ood news)\s*[!.:]"
    r"|\bI(?:'ll| will) let you know when (?:they|he|she|it)\b[^.!?\n]*[.!?]?"
    r"|\b(?:[Ii]t|[Tt]he (?:money|payment|transfer|email|parcel|order))\s+should "
    r"(?:reach|arrive|land|be delivered)\b[^.!?\n]*[.!?]?",
)
_MADE_OBJECTS = re.compile(
    r"^\s*(?:the|a|an|your)?\s*(?:\w+\s+)?(?:payment|booking|reservation|transfer|"
    r"appointment|order|purchase|call|deposit|donation|complaint|claim)\b",
    re.IGNORECASE,
)
_LET_OBJECT = re.compile(r"^\s*[\w' ]{1,40}\bknow\b", re.IGNORECASE)
_PLACED_OBJECT = re.compile(r"^\s*(?:the|an|your|a)\s+(?:\w+\s+)?(?:order|call|bet|bid)\b", re.I)
_SETUP_OBJECT = re.compile(
    r"^\s*(?:the|a|an|your)\s+(?:\w+\s+)?(?:payment|transfer|direct debit|standing order|"
    r"appointment|meeting|call|subscription|auto-?pay)\b",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\bI(?:'ll|’ll| will| am going to|'m going to)\s+(?:now\s+|go ahead and\s+)?"
    r"(send|email|book|reserve|pay|transfer|wire|cancel|order|purchase|buy|call|text|"
    r"submit|forward|schedule)\b([^.!?\n]*?\b(?:right away|right now|now|on your behalf|"
    r"for you straight away|immediately)\b[^.!?\n]*)",
)
_PASSIVE = re.compile(
    r"\b(?:[Yy]our|[Tt]he)\s+(?:[\w'-]+\s+){0,4}?(?:table|flight|ticket|tickets|hotel|room|"
    r"reservation|booking|appointment|order|payment|transfer|subscription|membership|email|"
    r"e-mail|message|invoice|bill|refund|rent|application|form|letter|request|complaint|"
    r"deposit|parcel|package)\s+(?:[\w'-]+\s+){0,4}?(has been|have been|is now|are now|was|"
    r"were|is|are)\s+(?:now\s+|successfully\s+|all\s+)?(booked|reserved|paid|sent|"
    r"transferred|cancell?ed|confirmed|placed|submitted|scheduled|processed|renewed|emailed|"
    r"delivered|settled|ordered|filed)\b[^.!?\n]*",
)
_TASK_CLAIM = re.compile(
    r"\bI(?:'ve|’ve| have)?\s+" + _ADVERBS + r"(?:created|added|set|made|scheduled|saved|put)"
    r"\s+(?:a|the|your|this|that|it|an?\s+new)?\s*(?:\w+\s+)?(?:task|reminder|to-?do|"
    r"todo|follow-?up)\b[^.!?\n]*"
    r"|\bI(?:'ve|’ve| have)?\s+" + _ADVERBS + r"(?:added|put)\b[^.!?\n]{0,60}\bto your "
    r"(?:task|to-?do|todo|reminder)s?(?: list)?\b[^.!?\n]*",
)
_NEGATION_BEFORE = re.compile(
    r"\b(?:not|n't|never|if|once|after|when|whenever|before|until|unless|whether|would|"
    r"could|should|might|can|cannot|can't|wish|pretend|as soon as)\b[^.!?\n]*$",
    re.IGNORECASE,
)
_SELF_REFERENCE = re.compile(
    r"\b(?:above|below|in this (?:message|reply|chat|answer)|here\b)", re.IGNORECASE
)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = max(text.rfind(ch, 0, start) for ch in ".!?\n") + 1
    rights = [i for i in (text.find(ch, end) for ch in ".!?\n") if i != -1]
    right = min(rights) + 1 if rights else len(text)
    return left, right


class ActionClaimDetector:
    """Flags the draft saying it did something the agent has no tool for."""

    name = "claims"

    def detect(self, gate_input: GateInput) -> list[Finding]:
        draft = gate_input.draft
        skip = email_draft_regions(draft) + quoted_regions(draft)
        findings: list[Finding] = []

        def usable(match: re.Match[str]) -> bool:
            if in_regions(match.start(), match.end(), skip):
                return False
            left, right = _sentence_bounds(draft, match.start(), match.end())
            before = draft[left : match.start()]
            if _NEGATION_BEFORE.search(before):
                return False
            return not draft[left:right].rstrip().endswith("?")

        for match in _FIRST_PERSON.finditer(draft):
            verb, rest = match.group(1), match.group(2)
            if not usable(match) or _SELF_REFERENCE.search(rest[:40]):
                continue
            if verb == "made" and not _MADE_OBJECTS.match(rest):
                continue
            if verb == "let" and not _LET_OBJECT.match(rest):
                continue
            if verb == "placed" and not _PLACED_OBJECT.match(rest):
                continue
            if verb == "set up" and not _SETUP_OBJECT.match(rest):
                continue
            if verb in {"called", "rang"} and re.match(r"\s*(?:it|this|that)\b", rest):
                continue  # "I called it X" names something
            base = _VERBS[verb]
            cut = _CLAUSE_CUT.search(rest)
            clause = (rest[: cut.start()] if cut else rest).strip().rstrip(",;:")
            end = match.end(2)  # the rest of the sentence reports the false action too
            start = match.start()
            left, _right = _sentence_bounds(draft, start, start)
            lead = _LEAD_IN.search(draft[left:start])
            if lead is not None and not draft[left : left + lead.start()].strip():
                start = left + lead.start()
            findings.append(
                self._finding(
                    draft,
                    start,
                    end,
                    f"claims it did '{verb}' — the agent has no tool for that",
                    f"I can't {base}{(' ' + clause) if clause else ' that'} for you (I have no "
                    "tool for that), but I can draft it or list the next steps",
                )
            )
        for match in _FUTURE.finditer(draft):
            if not usable(match):
                continue
            verb, rest = match.group(1), match.group(2)
            findings.append(
                self._finding(
                    draft,
                    match.start(),
                    match.end(),
                    f"promises to '{verb}' now — the agent has no tool for that",
                    f"I can't {verb}{rest} myself, but I can draft it or list the next steps",
                    severity=0.8,
                )
            )
        sources = " ".join((gate_input.user_input, *gate_input.memory)).lower()
        for match in _PASSIVE.finditer(draft):
            participle = match.group(2)
            if not usable(match) or participle.lower() in sources:
                continue
            text = match.group(0)
            aux = match.group(1)
            repaired = text.replace(f"{aux} ", "", 1).replace(
                participle, f"still needs to be {participle} (I can't do that myself)", 1
            )
            findings.append(
                self._finding(
                    draft,
                    match.start(),
                    match.end(),
                    f"says something was {participle} — the agent has no tool for that",
                    repaired,
                    severity=0.9,
                )
            )
        if findings:
            for match in _FOLLOW_ON.finditer(draft):
                if in_regions(match.start(), match.end(), skip):
                    continue
                findings.append(
                    self._finding(
                        draft,
                        match.start(),
                        match.end(),
                        "reports the outcome of an action the agent did not take",
                        "",
                        severity=0.8,
                    )
                )
        if not gate_input.tasks_created:
            for match in _TASK_CLAIM.finditer(draft):
                if not usable(match):
                    continue
                findings.append(
                    self._finding(
                        draft,
                        match.start(),
                        match.end(),
                        "claims a task or reminder was created, but none was in this turn",
                        "I haven't created a task for this yet — ask me to create one if "
                        "you want it on your list",
                        severity=0.9,
                    )
                )
        return findings

    @staticmethod
    def _finding(
        draft: str, start: int, end: int, reason: str, replacement: str, severity: float = 1.0
    ) -> Finding:
        return Finding(
            category=CATEGORY,
            start=start,
            end=end,
            text=draft[start:end],
            reason=reason,
            severity=severity,
            replacement=replacement,
        )
