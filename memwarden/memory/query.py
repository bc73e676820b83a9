"""What a recall query asks for: its words, phrases, names, and the time it points at.

    plan = plan_query('When did Ana say "Lisbon Story" was on, in May 2023?')
    plan.terms    # ['ana', 'say', 'lisbon story', 'may']  (a phrase is one term)
    plan.names    # ['Ana']
    plan.asks_when  # True
    plan.dates    # [DateSpan(2023-05-01 .. 2023-06-01)]

Nothing here knows any particular conversation: the rules are about English questions
in general (stop words, capitalised names, quoted phrases, calendar dates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["STOP_WORDS", "DateSpan", "QueryPlan", "plan_query", "query_terms"]

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves tell know please just also really like yes ok okay hey hi hello
    thanks thank""".split()
)
# Words that frame a question without saying what it is about.
QUESTION_WORDS = frozenset(
    """ever likely kind kinds type types sort sorts thing things much many one ones
    something anything someone anyone mentioned mention mentions""".split()
)
_WORD = re.compile(r"[^\W_][\w'\-]*")
_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,80})[\"“”]")
_CAPITALISED = re.compile(r"\b[A-Z][\w'\-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'\-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")

_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_MONTH = {m: i + 1 for i, m in enumerate(_MONTHS)} | {m[:3]: i + 1 for i, m in enumerate(_MONTHS)}
_MONTH["sept"] = 9
_M = "|".join(sorted(_MONTH, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_M})\.?,?\s+(\d{{4}})\b", re.I
)
_MONTH_DAY_YEAR = re.compile(rf"\b({_M})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b({_M})\.?,?\s+(\d{{4}})\b", re.I)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# A bare month or year counts only after a preposition ("in May", "since 2021"): "may"
# alone is usually the verb.
_IN_MONTH = re.compile(
    rf"\b(?:in|during|since|by|until|of|early|late|mid)\s+({_M})\b(?!\s*\d)", re.I
)
_IN_YEAR = re.compile(r"\b(?:in|during|since|by|until|of)\s+((?:19|20)\d{2})\b", re.I)
_WHEN = re.compile(r"^\W*(?:when|what\s+(?:date|day|month|year|time)|how\s+long\s+ago)\b", re.I)


@dataclass(frozen=True)
class DateSpan:
    """A stretch of calendar time a query names: [start, end), or a month in any year."""

    start: datetime | None  # None: the month of any year (``month`` says which)
    end: datetime | None
    month: int | None = None

    def contains(self, when: datetime) -> bool:
        if self.start is None or self.end is None:
            return when.month == self.month
        return self.start <= when.replace(tzinfo=None) < self.end


@dataclass(frozen=True)
class QueryPlan:
    """A query, taken apart for recall."""

    text: str
    terms: list[str] = field(default_factory=list)  # words and quoted phrases, lower case
    names: list[str] = field(default_factory=list)  # capitalised words, as written
    dates: list[DateSpan] = field(default_factory=list)
    asks_when: bool = False


def query_terms(text: str) -> list[str]:
    """The words of ``text`` worth searching for: lower case, no stop words, no
    possessive ``'s``, each once."""
    words = []
    for raw in _WORD.findall(text.lower()):
        word = raw.strip("'-")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) > 1 and word not in STOP_WORDS and word not in QUESTION_WORDS:
            words.append(word)
    return list(dict.fromkeys(words))


def _names(text: str) -> list[str]:
    found: list[str] = []
    for match in _CAPITALISED.finditer(text):
        words = [w for w in match[0].split() if w.lower() not in ("of", "the")]
        first_at_start = bool(_SENTENCE_START.search(text[: match.start()]))
        if first_at_start:
            words = words[1:]  # "When ...", "What ...": capitalised only by position
        for word in words:
            word = word.rstrip("'").removesuffix("'s")
            if len(word) > 1 and word.lower() not in STOP_WORDS and word.lower() not in _MONTH:
                found.append(word)
    return list(dict.fromkeys(found))


def _dates(text: str) -> list[DateSpan]:
    spans: list[DateSpan] = []

    def day(y: int, m: int, d: int) -> None:
        try:
            start = datetime(y, m, d)
        except ValueError:
            return
        spans.append(DateSpan(start, start + timedelta(days=1)))

    for m in _DAY_MONTH_YEAR.finditer(text):
        day(int(m[3]), _MONTH[m[2].lower()], int(m[1]))
    for m in _MONTH_DAY_YEAR.finditer(text):
        day(int(m[3]), _MONTH[m[1].lower()], int(m[2]))
    for m in _ISO_DATE.finditer(text):
        day(int(m[1]), int(m[2]), int(m[3]))
    if spans:
        return spans
    for m in _MONTH_YEAR.finditer(text):
        year, month = int(m[2]), _MONTH[m[1].lower()]
        end = datetime(year + (month == 12), month % 12 + 1, 1)
        spans.append(DateSpan(datetime(year, month, 1), end))
    if spans:
        return spans
    for m in _IN_MONTH.finditer(text):
        spans.append(DateSpan(None, None, _MONTH[m[1].lower()]))
    for m in _IN_YEAR.finditer(text):
        year = int(m[1])
        spans.append(DateSpan(datetime(year, 1, 1), datetime(year + 1, 1, 1)))
    return spans


def plan_query(text: str) -> QueryPlan:
    """Take ``text`` apart: search terms (phrases kept whole), names, dates, question kind."""
    phrases = [" ".join(query_terms(p)) for p in _QUOTED.findall(text)]
    phrases = [p for p in phrases if " " in p]
    terms = list(dict.fromkeys([*phrases, *query_terms(text)]))
    return QueryPlan(
        text=text,
        terms=terms,
        names=_names(text),
        dates=_dates(text),
        asks_when=bool(_WHEN.search(text)),
    )
