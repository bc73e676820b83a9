"""Personal data: entity finders (email, phone, IP, street address, person name) and the
gate's third-party check.

The finders are pattern rules, with no model: they are what the benchmark on the Presidio
synthetic set measures.  The gate flags contact details that the draft gives out and that
come neither from the user's own memory nor from the user's message (a recipient the
user named is theirs to use), and sensitive facts (health, sexuality, religion, money)
told about a private third person without support in the user's memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..base import GateInput
from ..fastre import gated
from ..text import email_draft_regions, in_regions, sentences, support_ratio
from .base import Finding
from .secrets import mask

__all__ = ["Entity", "ThirdPartyDetector", "find_entities"]

CATEGORY = "third_party_pii"
PRIVATE_FACT_REPLACEMENT = (
    "That's personal information about someone else, so I'd rather not go into it; if it "
    "matters, they are the best person to ask."
)


@dataclass(frozen=True)
class Entity:
    """A personal-data entity found in a text."""

    entity_type: str  # EMAIL_ADDRESS, PHONE_NUMBER, IP_ADDRESS, STREET_ADDRESS, PERSON
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])")
_DIGIT_DOT = re.compile(r"\d\.\d")
_PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d{1,3}[\s.-]?(?:\(0?\d{1,4}\)[\s.-]?)?\d{1,5}(?:[\s.-]?\d{2,5}){1,4}"  # international
    r"(?:\s?x\d{1,5})?"
    r"|(?:001[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?:\s?x\d{1,5})?"  # North American
    r"|\(\d{2,4}\)\s?\d{3}-\d{3,4}"
    r"|0\d{1,4}[\s.-]?\d{2,4}[\s.-]?\d{2,4}(?:[\s.-]?\d{2,4})?"  # national trunk prefix
    r"|\d{2,4}(?:[\s.-]\d{2,6}){1,4}"  # grouped digits, needs context
    r"|\d{10}"
    r")(?!\w)(?!-\d)"
)
_PHONE_CONTEXT = gated(
    re.compile(
        r"\b(?:phone|tel|telephone|mobile|cell|call|calling|ring|text|sms|whatsapp|number|"
        r"reach|answering|desk|fax|office|messages? to|contact|dial)\b|#",
        re.IGNORECASE,
    )
)
_DATE_LIKE = re.compile(r"^(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4})$")

_STREET_TYPES = (
    r"street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    r"terrace|close|crescent|square|sq|highway|hwy|parkway|pkwy|circle|cir|trail|row|mews|"
    r"alley|grove|gardens|walk|hill|park|view|loop|path|pike|point|ridge|run|bend|crossing"
)
_ADDRESS_US = re.compile(
    r"\b\d{1,6}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){0,4}?(?:" + _STREET_TYPES + r")\b\.?"
    r"(?:,?\s+(?:apt|apartment|suite|ste|unit|flat|#)\.?\s*#?\w+)?",
    re.IGNORECASE,
)
_ADDRESS_EU = gated(
    re.compile(
        r"\b(?:\d{1,6}\s+)?(?:rua|via|viale|corso|piazza|avenida|avda|calle|carrer|rue|"
        r"boulevard|chemin|ul|ulica|aleja|plac)\.?\s+(?:[\w'-]+\s+){0,4}?\d{1,5}[a-z]?"
        r"(?:,?\s+(?:apt|apartment|suite|ste|unit|flat)\.?\s*\d+)?",
        re.IGNORECASE,
    )
)
# Street names ending in a street word ("Hammarvägen 15"): found by the ending, then
# extended back to the start of the word and an optional house number.
_ADDRESS_SUFFIX = gated(
    re.compile(
        r"(?:stra(?:ss|ß)e|str\.|gasse|weg|platz|allee|vej|gade|gatan|vägen|v[äa]gen|"
        r"katu|tie|laan|straat|plein|gracht|veien|gata)\s+\d{1,5}[a-z]?\b"
        r"(?:,?\s+(?:apt|apartment|suite|ste|unit|flat)\.?\s*\d+)?",
        re.IGNORECASE,
    )
)
_WORD_BACK = re.compile(r"(?:\d{1,6}\s+)?[\w'-]*$")
# "07960 Aqqusinersuaq 111" / "172 Maneeži 75": house number, a capitalised street name
# and a number, ending the line or followed by a unit.
_ADDRESS_NUMBERED = re.compile(
    r"(?<![\w.,])\d{1,5}\s+[A-ZÀ-ÞĀ-Ž][\w'’.-]+(?:[ \t]+[\w'’.-]+){0,3}[ \t]+\d{1,4}[a-z]?"
    r"(?=\s*(?:\n|$|,|\s(?:Apt|Suite|Unit|Flat)\b))"
)
_ADDRESS_MIL = re.compile(
    r"\b(?:(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{3,5}|USNS\s+\w+|USS\s+\w+)"
    r"(?:\s*\n?\s*(?:APO|FPO|DPO)\s+(?:AA|AE|AP)\s+\d{5})?",
    re.IGNORECASE,
)
_ADDRESS_TAIL = re.compile(
    r"^(?:\s*,?\s*(?:apt|apartment|suite|ste|unit|flat)\.?\s*\d+"
    r"|[ \t]*\n?[ \t]*[A-Z][\w'. -]{1,40},?\s*(?:[A-Z]{2}\s+)?\d{5}(?:-\d{4})?)",
)

_NAME = r"[A-Z][a-zà-ÿ'’-]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-zà-ÿ'’-]+){0,2}"
_PERSON_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Madam)\.?\s+(" + _NAME + r")"),
    re.compile(
        r"\b(?:[Mm]y name is|[Nn]ame:|I am|I'm|[Tt]his is|[Cc]alled|[Nn]amed|[Aa]ccording to|"
        r"[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey|[Tt]hanks|[Ww]ith|[Ff]rom|[Bb]y|[Ww]ife|[Hh]usband|"
        r"[Ss]on|[Dd]aughter|[Bb]rother|[Ss]ister|[Ff]riend|[Kk]id|[Mm]other|[Ff]ather)"
        r"\s+(" + _NAME + r")"
    ),
    re.compile(
        r"(?:^|[.!?]\s+|\n)(" + _NAME + r")(?=\s+(?:said|says|shouted|told|asked|"
        r"replied|wrote|is a|was a|has|had|and I|flew|went|arrived)\b)"
    ),
    re.compile(r"\b(?:says|said|asked|told)\s+(" + _NAME + r")"),
    re.compile(r"(?:^|\n)(" + _NAME + r")(?=:)"),
    re.compile(r"^\s*([A-Z][a-zà-ÿ'’-]+(?:\s+[A-Z]\.)?\s+[A-Z][a-zà-ÿ'’-]+)\s*$", re.MULTILINE),
    re.compile(r"\b([A-Z][a-zà-ÿ'’-]+\s+[A-Z]\.\s+[A-Z][a-zà-ÿ'’-]+)\b"),
)
_NOT_NAMES = frozenset(
    """I The A An This That My Your Our Their His Her It We You They He She Hi Hello Dear
    Thanks Thank Mr Mrs Ms Dr Here There What Who When Where Why How Yes No Ok Okay Please
    Sorry Best Regards Kind Sincerely Cheers Monday Tuesday Wednesday Thursday Friday Saturday
    Sunday January February March April May June July August September October November
    December Street Road Avenue Apt Suite Mobile Desk Fax Phone Email Website Personal Info
    Can Could Would Should Will Do Does Did Is Are Was Were Have Has Had Not Just Also If So
    But And Or Then Now Today Tomorrow Yesterday Bot User Subject Note Step First Next
    Finally Also However Sure Great Good Team All Everyone""".split()
)


def _trim_name(raw: str) -> str:
    words = raw.split()
    while words and words[0].strip(".") in _NOT_NAMES:
        words = words[1:]
    while words and words[-1].strip(".") in _NOT_NAMES:
        words = words[:-1]
    return " ".join(words)


def find_entities(text: str, *, names: bool = True) -> list[Entity]:
    """Personal-data entities of ``text`` (overlaps resolved, longest first)."""
    found: list[Entity] = []

    def add(kind: str, start: int, end: int) -> None:
        found.append(Entity(kind, start, end, text[start:end]))

    digits = sum(map(text.count, "0123456789"))
    for match in _EMAIL.finditer(text) if "@" in text else ():
        add("EMAIL_ADDRESS", match.start(), match.end())
    if _DIGIT_DOT.search(text):
        for match in _IPV4.finditer(text):
            add("IP_ADDRESS", match.start(), match.end())
    if "::" in text or text.count(":") >= 7:
        for match in _IPV6.finditer(text):
            add("IP_ADDRESS", match.start(), match.end())
    for match in _PHONE.finditer(text) if digits >= 7 else ():
        _phone(text, match, add)
    for pattern in (_ADDRESS_MIL, _ADDRESS_US, _ADDRESS_EU, _ADDRESS_NUMBERED) if digits else ():
        for match in pattern.finditer(text):
            end = match.end()
            for _ in range(3):
                tail = _ADDRESS_TAIL.match(text, end)
                if tail is None or not tail.group(0).strip():
                    break
                end = tail.end()
            add("STREET_ADDRESS", match.start(), end)
    for match in _ADDRESS_SUFFIX.finditer(text) if digits else ():
        back = _WORD_BACK.search(text, max(0, match.start() - 40), match.start())
        start = back.start() if back is not None else match.start()
        add("STREET_ADDRESS", start, match.end())
    if names:
        for pattern in _PERSON_PATTERNS:
            for match in pattern.finditer(text):
                raw = match.group(1)
                name = _trim_name(raw)
                if not name or len(name) < 3:
                    continue
                start = match.start(1) + raw.find(name)
                add("PERSON", start, start + len(name))
    return _resolve(found)


_Adder = Callable[[str, int, int], None]


def _phone(text: str, match: re.Match[str], add: _Adder) -> None:
    value = match.group(0).strip()
    digits = re.sub(r"\D", "", value)
    if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(value):
        return
    strong = value.startswith(("+", "(")) or bool(
        re.fullmatch(r"(?:001[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?:\s?x\d+)?", value)
    )
    window = text[max(0, match.start() - 40) : match.start()] + text[match.end() : match.end() + 12]
    if strong or _PHONE_CONTEXT.search(window):
        add("PHONE_NUMBER", match.start(), match.start() + len(match.group(0).rstrip()))


_PRIORITY = {
    "EMAIL_ADDRESS": 0,
    "IP_ADDRESS": 1,
    "STREET_ADDRESS": 2,
    "PHONE_NUMBER": 3,
    "PERSON": 4,
}


def _resolve(found: list[Entity]) -> list[Entity]:
    found.sort(key=lambda e: (_PRIORITY[e.entity_type], -(e.end - e.start), e.start))
    kept: list[Entity] = []
    for entity in found:
        if any(entity.start < k.end and k.start < entity.end for k in kept):
            continue
        kept.append(entity)
    kept.sort(key=lambda e: e.start)
    return kept


# --- the gate's third-party check ------------------------------------------------------

_ROLE_EMAIL = re.compile(
    r"^(?:info|support|help|contact|hello|sales|billing|admin|office|privacy|security|abuse|"
    r"noreply|no-reply|service|customerservice|enquiries|inquiries|press|media|team|jobs|"
    r"careers|feedback|webmaster|postmaster)@|@(?:example|test|domain|email)\.[a-z]+$",
    re.IGNORECASE,
)
_PUBLIC_LINE_CONTEXT = gated(
    re.compile(
        r"\b(?:helpline|hotline|lifeline|crisis|emergency|customer (?:service|support|care)|"
        r"support (?:line|team|desk)|front desk|reception|office|clinic|hospital|pharmacy|embassy|"
        r"consulate|police|ambulance|fire (?:brigade|department)|bank'?s|airline|company|store|"
        r"restaurant|hotel|museum|library|council|government|agency|non-emergency|toll-free|"
        r"samaritans|poison control|advice line|help ?line|phone line|line|service|centre|center|"
        r"department|desk|team|switchboard|main number|opening hours)\b",
        re.IGNORECASE,
    )
)
_TOLL_FREE = re.compile(r"^(?:\+?1[\s.-]?)?\(?8(?:00|33|44|55|66|77|88)\)?|^0800|^0808|^1-?800")
_RESIDENCE = gated(
    re.compile(
        r"\b(?:lives?|living|resides?|residing|moved|home|house|flat|apartment|address|stays?|"
        r"staying|his|her|their)\b",
        re.IGNORECASE,
    )
)

_RELATION = (
    r"(?:coworker|co-worker|colleague|boss|manager|employee|neighbou?r|friend|ex|"
    r"ex-(?:wife|husband|partner|girlfriend|boyfriend)|sister|brother|mother|mom|mum|father|"
    r"dad|aunt|uncle|cousin|niece|nephew|son|daughter|wife|husband|partner|girlfriend|"
    r"boyfriend|roommate|flatmate|housemate|tenant|landlord|landlady|classmate|teacher|"
    r"student|patient|client|customer|date|match|in-law|mother-in-law|father-in-law|"
    r"grandmother|grandfather|grandma|grandpa|stepmother|stepfather|assistant|nanny|"
    r"babysitter|team ?mate)"
)
_THIRD_PERSON = gated(
    re.compile(
        r"\b(?:your|my|his|her|their|the|a|our)\s+(?:\w+\s+)?" + _RELATION + r"s?\b",
        re.IGNORECASE,
    )
)
_SENSITIVE = gated(
    re.compile(
        r"\b(?:diagnos\w*|hiv|aids|cancer|chemo\w*|tumou?r|diabet\w*|depress\w*|bipolar|"
        r"schizophren\w*|anxiety disorder|ptsd|adhd|autis\w*|pregnan\w*|miscarr\w*|abortion|"
        r"ivf|infertil\w*|rehab|addict\w*|alcoholi\w*|overdos\w*|std|sti|herpes|chlamydia|"
        r"therapy|therapist|psychiatr\w*|antidepressant\w*|medication|surgery|terminal(?:ly)? ill|"
        r"gay|lesbian|bisexual|transgender|trans woman|trans man|queer|came out|coming out|"
        r"sexual orientation|converted to|is (?:a )?(?:muslim|jewish|christian|catholic|hindu|"
        r"buddhist|sikh|mormon|atheist|scientologist)|religio\w*|"
        r"bankrupt\w*|in debt|debts?|owes?|salary|earns|income|credit score|foreclos\w*|"
        r"evict\w*|arrested|criminal record|convicted|on probation|affair|cheating)\b",
        re.IGNORECASE,
    )
)
_GENERAL_ADVICE = gated(
    re.compile(
        r"\b(?:if|when|whether|someone|anyone|people|a person|many|often|can|may|might|could|"
        r"should|tips?|ways?)\b",
        re.IGNORECASE,
    )
)


def _clause_around(text: str, start: int, end: int) -> str:
    """The comma/colon-delimited clause of ``text`` holding ``[start, end)``."""
    left = max(text.rfind(ch, 0, start) for ch in ",;:—") + 1
    rights = [i for i in (text.find(ch, end) for ch in ",;:—") if i != -1]
    return text[left : min(rights) if rights else len(text)]


def _normalised(value: str) -> str:
    return re.sub(r"[^a-z0-9@]", "", value.lower())


def _supported(value: str, sources: tuple[str, ...]) -> bool:
    needle = _normalised(value)
    if len(needle) < 4:
        return True
    digits = re.sub(r"\D", "", value)
    for source in sources:
        if needle in _normalised(source):
            return True
        if len(digits) >= 7 and digits[-7:] in re.sub(r"\D", "", source):
            return True
    return False


def _line_of(text: str, start: int, end: int) -> str:
    left = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start))
    right_candidates = [i for i in (text.find("\n", end), text.find(". ", end)) if i != -1]
    right = min(right_candidates) if right_candidates else len(text)
    return text[left + 1 : right]


class ThirdPartyDetector:
    """Contact details and sensitive facts of people other than the user."""

    name = "third_party_pii"

    def detect(self, gate_input: GateInput) -> list[Finding]:
        draft = gate_input.draft
        sources = (gate_input.user_input, *gate_input.memory)
        drafts = email_draft_regions(draft)
        findings: list[Finding] = []
        for entity in find_entities(draft, names=False):
            if _supported(entity.text, sources):
                continue
            line = _line_of(draft, entity.start, entity.end)
            label = entity.entity_type.lower().replace("_", " ")
            if entity.entity_type == "EMAIL_ADDRESS":
                if _ROLE_EMAIL.search(entity.text):
                    continue
                severity = 1.0
            elif entity.entity_type == "PHONE_NUMBER":
                digits = re.sub(r"\D", "", entity.text)
                if _TOLL_FREE.match(entity.text.strip()) or len(digits) < 7:
                    continue
                if _PUBLIC_LINE_CONTEXT.search(line):
                    continue
                severity = 1.0
            elif entity.entity_type == "STREET_ADDRESS":
                if _PUBLIC_LINE_CONTEXT.search(line) or not _RESIDENCE.search(line):
                    continue
                severity = 0.8
            elif entity.entity_type == "IP_ADDRESS":
                if not re.search(r"\b(?:his|her|their|[A-Z][a-z]+'s)\b", line):
                    continue
                severity = 0.6
            else:
                continue
            if in_regions(entity.start, entity.end, drafts) and _supported(
                entity.text, (gate_input.user_input,)
            ):
                continue
            findings.append(
                Finding(
                    category=CATEGORY,
                    start=entity.start,
                    end=entity.end,
                    text=mask(entity.text),
                    reason=f"{label} of someone other than the user, not from their memory",
                    severity=severity,
                    replacement=f"[{label} redacted]",
                )
            )
        findings.extend(self._sensitive_facts(gate_input, sources))
        return findings

    @staticmethod
    def _sensitive_facts(gate_input: GateInput, sources: tuple[str, ...]) -> list[Finding]:
        findings: list[Finding] = []
        for sentence in sentences(gate_input.draft):
            person = _THIRD_PERSON.search(sentence.text)
            fact = _SENSITIVE.search(sentence.text)
            if person is None or fact is None:
                continue
            if re.match(r"\s*(?:your|you)\b", sentence.text, re.IGNORECASE) and not re.search(
                r"\byour\s+(?:\w+\s+)?" + _RELATION, sentence.text, re.IGNORECASE
            ):
                continue
            if _GENERAL_ADVICE.search(sentence.text) and not re.search(
                r"\b(?:is|was|has|had|got|earns|owes)\b", sentence.text
            ):
                continue
            clause = _clause_around(sentence.text, fact.start(), fact.end())
            if support_ratio(clause, sources) >= 0.5:
                continue
            findings.append(
                Finding(
                    category=CATEGORY,
                    start=sentence.start,
                    end=sentence.end,
                    text=sentence.text,
                    reason="sensitive fact about a third person, not from the user's memory",
                    severity=0.8,
                    replacement=PRIVATE_FACT_REPLACEMENT,
                )
            )
        return findings
