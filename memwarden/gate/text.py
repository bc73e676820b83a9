"""Small text helpers shared by the detectors: sentences, tokens, quoted regions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "Sentence",
    "content_tokens",
    "email_draft_regions",
    "in_regions",
    "quoted_regions",
    "sentences",
    "stem",
    "support_ratio",
]

STOPWORDS: frozenset[str] = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    few for from further had has have having he her here hers herself him himself his how i
    if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves i'm i've you're you've it's that's don't can't won't let's
    ll ve re s t d m get got like one really well also still even much many told mentioned
    said say says tell telling mention""".split()
)

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)|[^\n]+", re.MULTILINE)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'’\-]*[a-z0-9]|[a-z0-9]")


@dataclass(frozen=True)
class Sentence:
    """A sentence (or a line) of a text, with its offsets."""

    start: int
    end: int
    text: str


def sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences and lines, keeping offsets; blanks are dropped."""
    return list(_sentences(text))


@lru_cache(maxsize=256)
def _sentences(text: str) -> tuple[Sentence, ...]:
    out: list[Sentence] = []
    for match in _SENTENCE.finditer(text):
        raw = match.group(0)
        stripped = raw.strip()
        if not stripped:
            continue
        lead = len(raw) - len(raw.lstrip())
        start = match.start() + lead
        out.append(Sentence(start=start, end=start + len(stripped), text=stripped))
    return tuple(out)


def stem(token: str) -> str:
    """A crude suffix-stripping stemmer: enough to match 'allergic'/'allergy'-free overlap."""
    token = token.replace("’", "'").strip("'")
    for suffix in ("'s", "ies", "ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            base = token[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return token


def content_tokens(text: str) -> list[str]:
    """Lower-cased, stemmed tokens of ``text`` without stop words."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


_PLACEHOLDER = re.compile(r"\[[^\]\n]{0,40}\bredacted\]", re.IGNORECASE)
_KEY = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w'’-]+|\b\w*\d[\w.,]*")


def support_ratio(claim: str, sources: Iterable[str]) -> float:
    """Share of the content tokens of ``claim`` that occur in any of ``sources``.

    Names and numbers are keys: if one of them is missing from the sources the claim is
    unsupported (0.0) whatever the share.  1.0 when the claim has no content token.
    """
    claim = _PLACEHOLDER.sub(" ", claim)
    claim_tokens = set(content_tokens(claim))
    if not claim_tokens:
        return 1.0
    known: set[str] = set()
    for source in sources:
        known.update(content_tokens(source))
    for key in _KEY.findall(claim.strip()):
        key_tokens = content_tokens(key)
        if key_tokens and not set(key_tokens) <= known:
            return 0.0
    return len(claim_tokens & known) / len(claim_tokens)


_QUOTED = re.compile(r"\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”|`[^`\n]{1,400}`")


def quoted_regions(text: str) -> list[tuple[int, int]]:
    """Offsets of double-quoted and back-ticked stretches."""
    return [(m.start(), m.end()) for m in _QUOTED.finditer(text)]


_DRAFT_OPEN = re.compile(
    r"^\s*(?:subject\s*:|dear\b|hi\b|hello\b|hey\b|to whom it may concern)", re.IGNORECASE
)
_DRAFT_CLOSE = re.compile(
    r"^\s*(?:best(?: regards| wishes)?|kind regards|regards|sincerely|yours(?: truly| sincerely)?"
    r"|thanks|thank you|cheers|warm(?:est)? regards|many thanks)\b[^\n]{0,20},?\s*$",
    re.IGNORECASE,
)
_DRAFT_INTRO = re.compile(
    r"\b(?:draft|template|message|email|e-mail|letter|note|text)\b[^\n]{0,80}"
    r"(?:send|use|copy|paste|adapt|edit|below|:)",
    re.IGNORECASE,
)


def email_draft_regions(text: str) -> list[tuple[int, int]]:
    """Offsets of letters/emails quoted in a reply for the *user* to send (see below)."""
    return list(_email_draft_regions(text))


@lru_cache(maxsize=256)
def _email_draft_regions(text: str) -> tuple[tuple[int, int], ...]:
    """Offsets of letters/emails quoted in a reply for the *user* to send.

    A region opens at a greeting or ``Subject:`` line and closes after a sign-off line
    (and the name line after it) or at the end of the text.  A lone greeting without an
    introduction ("here is a draft ...") before it is not a region.
    """
    regions: list[tuple[int, int]] = []
    if not _DRAFT_INTRO.search(text) and not re.search(r"^\s*subject\s*:", text, re.I | re.M):
        return ()
    lines = text.splitlines(keepends=True)
    offset = 0
    start: int | None = None
    close_at: int | None = None
    for index, line in enumerate(lines):
        if start is None and _DRAFT_OPEN.match(line) and index > 0:
            start = offset
        elif start is not None and _DRAFT_CLOSE.match(line):
            # The sign-off and the signature line that follows it.
            close_at = offset + len(line)
            if index + 1 < len(lines) and len(lines[index + 1].strip()) <= 40:
                close_at += len(lines[index + 1])
            regions.append((start, close_at))
            start = None
        offset += len(line)
    if start is not None:
        regions.append((start, len(text)))
    return tuple(regions)


def in_regions(start: int, end: int, regions: Sequence[tuple[int, int]]) -> bool:
    """True when ``[start, end)`` lies inside one of ``regions``."""
    return any(r_start <= start and end <= r_end for r_start, r_end in regions)
