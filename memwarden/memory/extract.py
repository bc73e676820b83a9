"""The rule-based belief extractor: the offline default, precise rather than greedy.

It reads first-person statements only ("I live in Porto", "my sister is called Ana").
Questions, hypotheticals and negations are skipped: a missed fact costs less than a
wrong one, because beliefs steer every later reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .facts import Fact

__all__ = ["extract_facts", "sentences"]

# A proper name or place: capitalised words, allowing a few lower-case joiners.
_PROPER = r"[A-Z][\w'.\-]*(?:\s+(?:(?:de|da|do|del|la|le|of|upon|am|on)\s+)?[A-Z][\w'.\-]*){0,3}"
_NAME = r"[A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)?"
# A short lower-case object phrase ("hiking", "dark chocolate", "to swim").
_OBJECT = r"[a-z][a-z'\-]*(?:\s+[a-z][a-z'\-]*){0,3}"
_I_AM = r"(?:i'm|i am|im)"
_STOP_OBJECT = re.compile(
    r"\s+(?:and|but|because|when|so|if|or|though|although|since|with|at|in|on|too|very|"
    r"a lot|lots|now|anymore|these days|as well)\b.*$"
)
_VAGUE = {
    "it",
    "that",
    "this",
    "them",
    "you",
    "him",
    "her",
    "those",
    "these",
    "the idea",
    "the way",
    "what",
    "how",
    "when",
    "to",
    "a",
    "an",
    "the",
    "being",
    "something",
    "anything",
    "everything",
    "nothing",
    "one",
}
_FAMILY = (
    "wife|husband|partner|girlfriend|boyfriend|fiancee|fiancé|fiance|son|daughter|brother|"
    "sister|mother|mom|mum|father|dad|grandmother|grandfather|grandma|grandpa|aunt|uncle|"
    "cousin|best friend|dog|cat|puppy|kitten|rabbit|parrot|horse|boss|manager"
)
_FAVORITE = r"(?:favou?rite)\s+([a-z]+(?:\s+[a-z]+)?)"
_HEDGE = re.compile(
    r"\b(?:if|would|wish|maybe|perhaps|suppose|imagine|pretend|hypothetically)\b", re.I
)


def sentences(text: str) -> Iterator[str]:
    """Split ``text`` into sentences, keeping their final punctuation."""
    for part in re.split(r"(?<=[.!?])\s+|\n+", text):
        part = part.strip()
        if part:
            yield part


def _clean_object(raw: str) -> str | None:
    obj = _STOP_OBJECT.sub("", raw.strip().lower()).strip(" ,;:'\"")
    if not obj or obj in _VAGUE or obj.split()[0] in {"it", "that", "this", "you", "them"}:
        return None
    return obj


def _clean_proper(raw: str) -> str:
    return raw.strip().rstrip(".,;:!'\"")


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], Fact | list[Fact] | None]]


def _rules() -> list[Rule]:
    def ci(p: str) -> re.Pattern[str]:
        # Case-insensitive, except inside the name group ((?-i:...)).
        return re.compile(p, re.IGNORECASE)

    proper = f"(?-i:({_PROPER}))"
    name = f"(?-i:({_NAME}))"
    return [
        (ci(rf"\bmy name is {name}"), lambda m: Fact("name", _clean_proper(m[1]))),
        (ci(rf"\b(?:{_I_AM} called|call me) {name}"), lambda m: Fact("name", _clean_proper(m[1]))),
        (
            ci(rf"\b(?:i|we) (?:currently |now |still )?(?:live|reside) in {proper}"),
            lambda m: Fact("location", _clean_proper(m[1])),
        ),
        (
            ci(
                rf"\b(?:i|we)(?:'ve| have)? (?:just |recently |finally )?"
                rf"(?:moved|relocated) (?:to|back to) {proper}"
            ),
            lambda m: Fact("location", _clean_proper(m[1])),
        ),
        (
            ci(rf"\b{_I_AM} (?:now |currently )?(?:based|living|settled) in {proper}"),
            lambda m: Fact("location", _clean_proper(m[1])),
        ),
        (
            ci(rf"\b{_I_AM} (?:originally )?from {proper}"),
            lambda m: Fact("hometown", _clean_proper(m[1]), 0.8),
        ),
        (ci(rf"\bi grew up in {proper}"), lambda m: Fact("hometown", _clean_proper(m[1]), 0.8)),
        (
            ci(rf"\bi (?:now |currently |still )?work (?:at|for) {proper}"),
            lambda m: Fact("employer", _clean_proper(m[1])),
        ),
        (
            ci(rf"\bi(?:'ve| have)? (?:just )?(?:started (?:a new job )?at|joined) {proper}"),
            lambda m: Fact("employer", _clean_proper(m[1]), 0.8),
        ),
        (
            ci(rf"\bi (?:now |currently )?work as (?:an? )?({_OBJECT})"),
            lambda m: _obj_fact("occupation", m[1]),
        ),
        (
            ci(rf"\bmy (?:job|profession|occupation) is (?:an? )?({_OBJECT})"),
            lambda m: _obj_fact("occupation", m[1]),
        ),
        (
            ci(rf"\bmy ({_FAMILY})(?:'s name)? is (?:called |named )?{name}"),
            lambda m: Fact(f"family:{m[1].lower()}", _clean_proper(m[2])),
        ),
        (
            ci(rf"\bi have an? ({_FAMILY}) (?:called|named) {name}"),
            lambda m: Fact(f"family:{m[1].lower()}", _clean_proper(m[2])),
        ),
        (
            ci(r"\bi have (\d{1,2}|one|two|three|four|five|six) (?:kids|children)\b"),
            lambda m: Fact("children", m[1].lower()),
        ),
        (
            ci(rf"\bmy {_FAVORITE} is ({_OBJECT}|{_PROPER})"),
            lambda m: _favorite(m[1], m[2]),
        ),
        (
            ci(rf"\bi (?:really |absolutely |just )?(?:love|like|enjoy|adore) ({_OBJECT})"),
            lambda m: _preference(m[1], "likes"),
        ),
        (
            ci(
                rf"\bi (?:really )?(?:hate|dislike|can't stand|cannot stand|don't like|"
                rf"do not like|don't enjoy|no longer like) ({_OBJECT})"
            ),
            lambda m: _preference(m[1], "dislikes"),
        ),
        (
            ci(r"\b" + _I_AM + r" (\d{1,3}) (?:years old|yrs old|year old)\b"),
            lambda m: Fact("age", m[1]),
        ),
        (ci(r"\bi (?:just )?turned (\d{1,3})\b"), lambda m: Fact("age", m[1])),
        (
            ci(
                r"\bmy birthday is (?:on )?(?-i:((?:[A-Z][a-z]+ \d{1,2}(?:st|nd|rd|th)?)|"
                r"(?:\d{1,2}(?:st|nd|rd|th)? (?:of )?[A-Z][a-z]+)))"
            ),
            lambda m: Fact("birthday", m[1]),
        ),
        (
            ci(rf"\b{_I_AM} (?:a |an )?(vegetarian|vegan|pescatarian|gluten-free|teetotal)\b"),
            lambda m: Fact("diet", m[1].lower()),
        ),
        (
            ci(rf"\b{_I_AM} allergic to ({_OBJECT})"),
            lambda m: _obj_fact("allergy", m[1], keyed=True),
        ),
        (
            ci(r"\bi speak (?-i:([A-Z][a-z]+(?:(?:,\s*|\s+and\s+)[A-Z][a-z]+)*))"),
            lambda m: [
                Fact(f"language:{lang.lower()}", "speaks")
                for lang in re.split(r",\s*|\s+and\s+", m[1])
            ],
        ),
        (
            ci(r"\b(?:i'm |i am |im )?(?:planning|plan|intend|intending) to ([^.!?;]{3,80})"),
            lambda m: _plan(m[1]),
        ),
        (ci(r"\bmy plan is to ([^.!?;]{3,80})"), lambda m: _plan(m[1])),
        (
            ci(rf"\bi (?:study|am studying|'m studying) at {proper}"),
            lambda m: Fact("school", _clean_proper(m[1]), 0.8),
        ),
    ]


def _obj_fact(key: str, raw: str, *, keyed: bool = False) -> Fact | None:
    obj = _clean_object(raw)
    if obj is None:
        return None
    return Fact(f"{key}:{obj}", "yes") if keyed else Fact(key, obj)


def _preference(raw: str, polarity: str) -> Fact | None:
    obj = _clean_object(raw)
    if obj is None or (obj.startswith("to ") and len(obj.split()) < 2):
        return None
    return Fact(f"preference:{obj}", polarity, 0.8)


def _favorite(what: str, raw: str) -> Fact | None:
    value = raw.strip().rstrip(".,;:!")
    if not value or value.lower() in _VAGUE:
        return None
    return Fact(f"favorite:{what.lower()}", value, 0.9)


def _plan(raw: str) -> Fact | None:
    plan = raw.strip().rstrip(".,;:!").strip()
    words = re.findall(r"[a-z0-9']+", plan.lower())
    if len(words) < 1:
        return None
    slug = "-".join(words[:5])
    return Fact(f"plan:{slug}", plan, 0.7)


_RULES = _rules()


def extract_facts(text: str) -> list[Fact]:
    """Facts the user states about themselves in ``text``, in order, one per key."""
    found: dict[str, Fact] = {}
    for sentence in sentences(text):
        if sentence.endswith("?") or sentence.startswith("/") or _HEDGE.search(sentence):
            continue
        for pattern, build in _RULES:
            for match in pattern.finditer(sentence):
                if _negated(sentence, match.start()):
                    continue
                produced = build(match)
                for fact in produced if isinstance(produced, list) else [produced]:
                    if fact is not None and fact.value:
                        found[fact.key] = fact
    return list(found.values())


_NEGATION = re.compile(
    r"\b(?:not|never|no longer|don't|do not|didn't|won't|isn't)\s+(?:\w+\s+){0,1}$", re.I
)


def _negated(sentence: str, start: int) -> bool:
    # "I don't live in Porto", "It's not that my name is Bob": a negation right before.
    return bool(_NEGATION.search(sentence[:start]))
