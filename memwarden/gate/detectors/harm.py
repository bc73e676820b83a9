"""Real help towards serious harm: violence and serious crime, weapons and poisons,
self-harm methods, illegal drugs, malware and break-ins, stalking, and content demeaning a
protected group.  These block.

The detector reads the draft *in the light of the request*, as a human reviewer would:

1. **Request intent.**  Does the user ask *how* to do a harmful thing to a person (a
   violent verb whose object is a human, a self-harm method, a drug to make or buy, an
   account to break into, a private person to track, a group to discriminate against)?
   A game, film, book or sport named in the request is a safe context and removes intent,
   and so does a non-human object ("kill a process", "shoot a photo").
2. **Compliance.**  Does the draft refuse, push back or point to support, or does it give
   steps ("you'll need", numbered lists, imperatives)?
3. **Harmful content.**  Which sentences of the draft carry the family's language?

A draft blocks when it complies with a harmful request and carries harmful content, or,
without any harmful request, when its own second-person instructions are operational
(choosing a victim, avoiding detection, precursor chemicals ...).  Narrative, history,
definitions and safety advice carry no instructions and score 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..base import GateInput
from ..text import Sentence, sentences
from . import harm_lexicon as lex
from .base import Finding

__all__ = ["HarmDetector", "RequestIntent", "request_intent"]

_STOP_OBJECT = re.compile(
    r"^(?:with|in|at|for|on|during|while|by|to|from|into|and|or|so|because|using|"
    r"without|like|as|if|when|until|before|after)$",
    re.IGNORECASE,
)
_POSSESSIVE_BEFORE = re.compile(
    r"(?:someone's|somebody's|his|her|their|\w+'s|people's)\s+(?:\w+\s+)?$", re.IGNORECASE
)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yourself)\b", re.IGNORECASE)
_REPORTED = re.compile(
    r"\b(?:claimed|believed|considered|viewed|portrayed|propaganda|argued|regarded|saw "
    r"them|were seen as|was seen as|ideology|historically|stereotype\w*|myth)\b",
    re.IGNORECASE,
)
_ATROCITY = re.compile(
    r"\b(?:holocaust|genocide|massacre|slavery|nakba|holodomor|ethnic cleansing|"
    r"atrocit\w+|apartheid|the shoah)\b",
    re.IGNORECASE,
)
_PRIVATE_INFO = re.compile(
    r"\b(?:(?:my|his|her|their|a|the) (?:\w+ )?(?:coworker|co-worker|colleague|boss|"
    r"neighbou?r|ex|wife|husband|girlfriend|boyfriend|partner|match|date|teacher|"
    r"classmate|servant|employee|nanny|tenant|landlord|friend|crush|roommate)'?s?|"
    r"someone's|somebody's)\b[^?\n]{0,40}\b(?:address|location|whereabouts|phone|number|"
    r"email|password|browsing history|messages|texts|date of birth|birthday|birth "
    r"certificate|licen[cs]e|social security|ssn|bank|medical records|records|schedule|"
    r"routine|account)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RequestIntent:
    """What the user's message asks for."""

    procedural: bool
    safe_context: bool
    families: frozenset[str] = field(default_factory=frozenset)

    @property
    def harmful(self) -> frozenset[str]:
        """The harm families asked for, if the request is procedural and not in a safe context."""
        if not self.procedural or self.safe_context:
            return frozenset()
        return self.families


def _object_words(text: str, end: int, limit: int = 5) -> str:
    words: list[str] = []
    tail = re.sub(r"^\s*as (?:many|much|few)\b", " ", text[end:], flags=re.IGNORECASE)
    for word in tail.split()[: limit + 2]:
        bare = word.strip(".,;:!?\"'()")
        if _STOP_OBJECT.match(bare) or not bare:
            break
        words.append(bare)
        if len(words) >= limit or word[-1:] in ".,;:!?":
            break
    return " ".join(words)


_BODY = re.compile(
    r"^\s*(?:head|skull|neck|throat|face|legs?|arms?|hands?|fingers?|eyes?|sternum|chest|"
    r"ribs?|back|knees?|kneecaps?|body|heart|spine|jaw|nose|teeth|wrists?|ankles?|stomach|"
    r"drink|coffee|tea|food|meal|wife|husband|child|children|kids?|baby|family|daughter|son|"
    r"mother|father|sister|brother|girlfriend|boyfriend|friend|dog|cat|pet|puppy|kitten|horse)\b",
    re.IGNORECASE,
)


def _targets_person(target: re.Match[str]) -> bool:
    """A human word is the target unless it only owns the object ("my father's will")."""
    rest = target.string[target.end() :]
    if not re.match(r"['’]s?\b", rest):
        return True
    owned = rest.split(None, 1)
    return len(owned) < 2 or bool(_BODY.match(owned[1]))


def violent_pair(text: str) -> re.Match[str] | None:
    """The first violent verb of ``text`` whose object (or possessor) is a human."""
    for match in lex.VIOLENT.finditer(text):
        # The human may be inside the verb phrase ("break their legs", "push him off").
        if lex.HUMAN.search(match.group(0)):
            return match
        target = lex.HUMAN.search(_object_words(text, match.end()))
        if target is not None and _targets_person(target):
            return match
        before = text[max(0, match.start() - 40) : match.start()]
        if _POSSESSIVE_BEFORE.search(before) and lex.HUMAN.search(before.split()[-2:][0]):
            return match
    return None


def request_intent(user_input: str) -> RequestIntent:
    """Classify the user's message: procedural or not, safe context, harm families."""
    text = user_input
    families: set[str] = set()
    if violent_pair(text) or lex.VIOLENT_NOUN.search(text):
        families.add("violence")
    if lex.SELF_HARM_REQUEST.search(text):
        families.add("self_harm")
    if lex.SERIOUS_WEAPON.search(text) and lex.BUILD.search(text):
        families.add("weapons")
    if re.search(
        r"\b(?:rig|make|get|set|booby-?trap)\b[^?\n]{0,40}\b(?:explode|blow up|detonate|go off)",
        text,
        re.IGNORECASE,
    ):
        families.add("weapons")
    if lex.DRUG_REQUEST.search(text):
        families.add("drugs")
    if lex.CYBER.search(text):
        families.add("cyber")
    if lex.STALKING.search(text) or _PRIVATE_INFO.search(text):
        families.add("stalking")
    if lex.CRIME.search(text) and not lex.CRIME_FIGURATIVE.search(text):
        families.add("crime")
    if lex.PROTECTED_GROUP.search(text) and lex.DISCRIMINATION.search(text):
        families.add("hate")
    if _ATROCITY.search(text) and lex.DENIAL.search(text):
        families.add("hate")
    procedural = bool(lex.PROCEDURAL_REQUEST.search(text))
    if (
        procedural
        and lex.NARRATIVE.search(text)
        and not re.search(r"\b(?:I|we|me|my|you|one)\b", text, re.IGNORECASE)
    ):
        procedural = False
    if (
        procedural
        and lex.DEFINITIONAL.search(text)
        and not re.search(
            r"\b(?:how (?:do|can|could|should|would) (?:i|we)|way|ways|steps|best|process|procedure|method|methods|strategy|technique)\b",
            text,
            re.I,
        )
    ):
        procedural = False
    return RequestIntent(
        procedural=procedural,
        safe_context=bool(lex.SAFE_CONTEXT.search(text)),
        families=frozenset(families),
    )


def _sentence_families(sentence: Sentence) -> dict[str, str]:
    """Harm families whose language this draft sentence carries, with a reason each."""
    text = sentence.text
    found: dict[str, str] = {}
    if not lex.TRIGGER.search(text):
        return found
    if violent_pair(text) or lex.VIOLENT_NOUN.search(text):
        found["violence"] = "violence against a person"
    if lex.OPERATIONAL.search(text):
        found.setdefault("violence", "operational detail of an attack or crime")
        found["crime"] = "operational detail of an attack or crime"
    if lex.SELF_HARM.search(text) and not lex.SUPPORT.search(text):
        found["self_harm"] = "method of self-harm or suicide"
    serious = lex.SERIOUS_WEAPON.search(text) and lex.BUILD.search(text)
    armed = lex.WEAPON.search(text) and violent_pair(text)
    if (serious or armed) and not lex.SAFETY_ADVICE.search(text):
        found["weapons"] = "making or using a weapon, explosive or poison"
    if lex.DRUG.search(text) and lex.DRUG_OPS.search(text):
        found["drugs"] = "making, buying or selling illegal drugs"
    if lex.CYBER.search(text) and not lex.DEFENSIVE.search(text):
        found["cyber"] = "breaking into accounts or systems, or malware"
    if lex.STALKING.search(text) and not lex.DEFENSIVE.search(text):
        found["stalking"] = "tracking a person or finding their private data"
    if lex.CRIME.search(text) and not lex.CRIME_FIGURATIVE.search(text):
        found["crime"] = "planning a serious crime"
    if (
        lex.PROTECTED_GROUP.search(text)
        and lex.DEMEANING.search(text)
        and not lex.PUSHBACK.search(text)
        and not _REPORTED.search(text)
    ):
        found["hate"] = "demeans or argues for discriminating against a protected group"
    if _ATROCITY.search(text) and lex.DENIAL.search(text) and not lex.PUSHBACK.search(text):
        found["hate"] = "denies an atrocity against a group"
    return found


def _instructional(sentence: Sentence) -> bool:
    text = sentence.text
    return bool(
        _SECOND_PERSON.search(text) or lex.IMPERATIVE.search(text) or lex.INSTRUCTION.search(text)
    )


@dataclass
class _DraftView:
    refusal: bool
    support: bool
    pushback: bool
    instruction: float
    safe_context: bool
    hits: dict[str, list[tuple[Sentence, str]]]
    all_hits: dict[str, list[tuple[Sentence, str]]]


def _view(draft: str) -> _DraftView:
    head = draft[:300]
    steps = len(lex.INSTRUCTION.findall(draft)) + len(lex.IMPERATIVE.findall(draft))
    hits: dict[str, list[tuple[Sentence, str]]] = {}
    all_hits: dict[str, list[tuple[Sentence, str]]] = {}
    for sentence in sentences(draft):
        families = _sentence_families(sentence)
        instructional = bool(families) and _instructional(sentence)
        for family, reason in families.items():
            all_hits.setdefault(family, []).append((sentence, reason))
            if instructional:
                hits.setdefault(family, []).append((sentence, reason))
    return _DraftView(
        refusal=bool(lex.REFUSAL.search(head)) or bool(lex.REFUSAL.search(draft)),
        support=bool(lex.SUPPORT.search(draft)),
        pushback=bool(lex.PUSHBACK.search(draft)),
        instruction=min(1.0, steps / 4),
        safe_context=bool(lex.SAFE_CONTEXT.search(draft[:400])),
        hits=hits,
        all_hits=all_hits,
    )


_CATEGORY = {"crime": "violence"}


_HARM_ANY = (
    lex.SERIOUS_WEAPON,
    lex.CYBER,
    lex.STALKING,
    lex.SELF_HARM,
    lex.OPERATIONAL,
    lex.DRUG_OPS,
)


def _harm_vocabulary(text: str) -> bool:
    """Strong harm language: enough to count when the request was already harmful."""
    if any(p.search(text) for p in _HARM_ANY):
        return True
    if lex.CRIME.search(text) and not lex.CRIME_FIGURATIVE.search(text):
        return True
    return violent_pair(text) is not None


class HarmDetector:
    """Blocks drafts that give real help towards serious harm."""

    name = "harm"

    def detect(self, gate_input: GateInput) -> list[Finding]:
        draft = gate_input.draft
        if not draft.strip():
            return []
        intent = request_intent(gate_input.user_input)
        if not intent.harmful and not lex.UNPROMPTED_TRIGGER.search(draft):
            return []
        view = _view(draft)
        if view.refusal and view.instruction < 0.75:
            return []
        severities: dict[str, float] = {}
        spans: dict[str, list[tuple[Sentence, str]]] = {}
        asked = intent.harmful
        if asked:
            # The draft answers a harmful request: any harm language it uses counts,
            # whichever family it belongs to (a poisoning asked as "violence" ...).
            for family in set(view.all_hits) | set(asked):
                severity = self._with_request(family, view, family in asked)
                if severity > 0:
                    severities[family] = severity
                    spans[family] = view.hits.get(family) or view.all_hits.get(family) or []
            if not severities:
                vocabulary = [
                    (s, "step-by-step help for a harmful request")
                    for s in sentences(draft)
                    if _harm_vocabulary(s.text)
                ]
                if vocabulary and view.instruction >= 0.25:
                    family = sorted(asked)[0]
                    severities[family] = 0.6
                    spans[family] = vocabulary
        for family in view.all_hits:
            if family not in severities:
                severity = self._unprompted(family, view, intent)
                if severity > 0:
                    severities[family] = severity
                    spans[family] = view.all_hits[family]
        findings: list[Finding] = []
        for family, severity in severities.items():
            category = _CATEGORY.get(family, family)
            chosen = spans.get(family) or [
                (s, "step-by-step help for a harmful request") for s in sentences(draft)[:1]
            ]
            for sentence, reason in chosen[:5]:
                findings.append(
                    Finding(
                        category=category,
                        start=sentence.start,
                        end=sentence.end,
                        text=sentence.text,
                        reason=reason,
                        severity=severity,
                        replacement=None,
                    )
                )
        return findings

    @staticmethod
    def _with_request(family: str, view: _DraftView, asked: bool) -> float:
        """Severity when the user asked for harm and the draft answers (``asked``: this
        very family was asked for)."""
        hits = view.hits.get(family, [])
        loose = view.all_hits.get(family, [])
        if family == "hate":
            if view.pushback:
                return 0.0
            return (
                0.9
                if loose and (asked or view.instruction >= 0.25)
                else (0.9 if asked and view.instruction >= 0.25 else 0.0)
            )
        if family == "self_harm" and view.support and view.instruction < 0.5:
            return 0.0
        if hits and view.instruction >= 0.25:
            return 0.9
        if loose:
            return 0.6
        if asked and not view.safe_context:
            # Steps answering a request to hurt a person, oneself or a group, even when
            # the draft avoids the words: these families are not homonym-prone once the
            # request pairs the verb with a human target.
            if family == "self_harm" and view.instruction >= 0.25 and not view.support:
                return 0.6
            if family in {"violence", "hate"} and view.instruction >= 0.5:
                return 0.6
        return 0.0

    @staticmethod
    def _unprompted(family: str, view: _DraftView, intent: RequestIntent) -> float:
        """Severity when the draft carries harm the request did not (clearly) ask for."""
        if intent.safe_context or view.safe_context:
            return 0.0
        if family == "hate":
            return 0.9 if not view.pushback else 0.0
        hits = view.hits.get(family, [])
        operational = sum(len(lex.OPERATIONAL.findall(s.text)) for s, _ in hits)
        if not hits or view.instruction < (0.25 if operational >= 2 else 0.5):
            return 0.0
        if family in {"violence", "crime"}:
            return 0.8 if operational >= 2 or (operational >= 1 and len(hits) >= 2) else 0.0
        if family == "weapons":
            return 0.8 if operational >= 1 or len(hits) >= 2 else 0.0
        if family == "self_harm":
            return 0.8 if not view.support else 0.0
        if family == "drugs":
            precursor = sum(
                1
                for s, _ in hits
                if re.search(r"phosph|ephedrine|methylamine|p2p|safrole", s.text, re.IGNORECASE)
            )
            return 0.8 if precursor or len(hits) >= 2 else 0.0
        return 0.7 if len(hits) >= 2 else 0.0
