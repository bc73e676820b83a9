"""Secrets and high-risk identifiers: cards, IBANs, SSNs and national IDs, passwords,
API keys and tokens, private keys.  Redacted even when they are the user's own, because
transcripts are stored."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from ..base import GateInput
from .base import Finding
from .checksums import iban_valid, luhn_valid, ssn_valid

__all__ = ["SecretsDetector", "find_secrets", "mask"]

CATEGORY = "secrets"

_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){11,18}\d(?![\w-])")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9]|2)|35|1800|2131)")
_CARD_CONTEXT = re.compile(
    r"\b(?:card|visa|mastercard|amex|credit|debit|cc|pan|payment)\b", re.IGNORECASE
)
_IBAN = re.compile(
    r"\b(?:[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?"
    r"|[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?)\b"
)
_SSN = re.compile(r"(?<![\w-])(\d{3})([- .])(\d{2})\2(\d{4})(?![\w-])")
_SSN_CONTEXT = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?| #)?|social insurance number|sin)\b"
    r"[^\n\d]{0,20}(\d{9})\b",
    re.IGNORECASE,
)
_NATIONAL_ID = re.compile(
    r"\b(?:national (?:id|insurance|identity)(?: card)?(?: number| no\.?)?|passport(?: number|"
    r" no\.?)?|id (?:card )?number|tax (?:id|number|code)|tin|nino|personal (?:id|number)|"
    r"driver'?s licen[cs]e(?: number| no\.?)?|licen[cs]e number|aadhaar(?: number)?|"
    r"bsn|nie|dni|steuer-?id|codice fiscale)\b"
    r"(?:\s+(?:number|no\.?|#))?\s*(?:is|was|:|=|#|reads)\s*"
    r"((?:[A-Z]{1,3}[ -])?[A-Z]{0,3}\d[\dA-Z]*(?:[ -]\d[\dA-Z]*){0,4}(?:[ -][A-Z]\b)?)",
    re.IGNORECASE,
)
_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_PASSWORD = re.compile(
    r"\b(?:password|passwd|pwd|passcode|passphrase|pass word|pin(?: code| number)?|"
    r"wi-?fi key)\b"
    r"(?:\s+(?:for|to|of|on)\s+[\w .'-]{1,40}?)?"
    r"\s*(?:is|was|will be|:|=|-|→|reads|set to|changed to)\s*"
    r"(\"[^\"\n]{3,64}\"|'[^'\n]{3,64}'|`[^`\n]{3,64}`|[^\s,;]{3,64})",
    re.IGNORECASE,
)
_PASSWORD_BARE = re.compile(
    r"\b(?:password|passwd|passcode|passphrase)\s+(?!is\b|was\b)([^\s,;\"'`]{6,64})"
)
_URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s:/@]{3,})@[^\s/]+", re.I)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Stripe key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("OpenAI-style secret key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("SendGrid key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("Twilio key", re.compile(r"\bSK[0-9a-f]{32}\b")),
    (
        "JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ),
    ("bearer token", re.compile(r"\bBearer\s+([A-Za-z0-9._~+/-]{20,}=*)")),
)
_GENERIC_SECRET = re.compile(
    r"\b(?:api[_ -]?key|apikey|secret(?:[_ -]?key)?|access[_ -]?(?:key|token)|auth[_ -]?token|"
    r"client[_ -]?secret|private[_ -]?token|token|recovery (?:code|phrase)|seed phrase)\b"
    r"['\"]?\s*(?:is|:|=|=>)\s*['\"`]?([A-Za-z0-9_\-/+=.]{16,})",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(
    r"your|example|xxxx|\*\*\*|placeholder|redacted|changeme|dummy|sample|<|>|\.\.\.|test123",
    re.IGNORECASE,
)
_COMMON_VALUES = frozenset(
    """strong weak required optional secure long short correct incorrect wrong hashed stored
    encrypted protected reset expired changed manager managers policy policies field fields
    the a an your my their his her our this that it not never always at least only same
    different unique hidden blank empty missing set sent saved safe unsafe""".split()
)


def mask(value: str) -> str:
    """``value`` with all but its last four letters or digits hidden (for logs)."""
    if "\n" in value or len(value) > 80:
        return value.split("\n", 1)[0][:40] + " …"
    keep = 4 if len(value) >= 12 else 0
    hidden = sum(c.isalnum() for c in value) - keep
    out = []
    for char in value:
        if char.isalnum() and hidden > 0:
            out.append("•")
            hidden -= 1
        else:
            out.append(char)
    return "".join(out)


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_like_password(raw: str) -> bool:
    quoted = raw[:1] in {'"', "'", "`"}
    value = raw.strip("\"'`").rstrip(".!?)")
    if len(value) < 4 or _PLACEHOLDER.search(value) or value[:1] in {"[", "(", "{"}:
        return False
    if value.lower() in _COMMON_VALUES:
        return False
    if quoted:
        return True
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    mixed = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return has_digit or has_symbol or mixed


#: Literals one of which every token of ``_TOKENS`` contains (a cheap pre-filter).
_TOKEN_LITERALS: dict[str, tuple[str, ...]] = {
    "AWS access key id": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA"),
    "GitHub token": ("gh", "github_pat_"),
    "GitLab token": ("glpat-",),
    "Slack token": ("xox",),
    "Stripe key": ("_live_", "_test_"),
    "OpenAI-style secret key": ("sk-",),
    "Google API key": ("AIza",),
    "Hugging Face token": ("hf_",),
    "npm token": ("npm_",),
    "SendGrid key": ("SG.",),
    "Twilio key": ("SK",),
    "JSON web token": ("eyJ",),
    "bearer token": ("Bearer",),
}
_PASSWORD_WORDS = ("pass", "pwd", "pin", "wi-fi key", "wifi key")
_SECRET_WORDS = ("key", "secret", "token", "recovery", "seed phrase")


def _digit_count(text: str) -> int:
    return sum(map(text.count, "0123456789"))


def find_secrets(text: str) -> list[Finding]:
    """Every secret or high-risk identifier in ``text``."""
    found: list[Finding] = []
    lowered = text.lower()
    digits = _digit_count(text)

    def add(start: int, end: int, reason: str, label: str, severity: float = 1.0) -> None:
        found.append(
            Finding(
                category=CATEGORY,
                start=start,
                end=end,
                text=mask(text[start:end]),
                reason=reason,
                severity=severity,
                replacement=f"[{label} redacted]",
            )
        )

    if "PRIVATE KEY" in text:
        for match in _PRIVATE_KEY.finditer(text):
            add(match.start(), match.end(), "private key block", "private key")
    if digits >= 5:
        _identifiers(text, digits, add)
    if any(word in lowered for word in _PASSWORD_WORDS):
        _passwords(text, add)
    if "://" in text and "@" in text:
        for match in _URL_CREDENTIALS.finditer(text):
            if not _PLACEHOLDER.search(match.group(1)):
                add(match.start(1), match.end(1), "password in a connection URL", "password")
    for label, pattern in _TOKENS:
        if not any(literal in text for literal in _TOKEN_LITERALS[label]):
            continue
        for match in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            value = match.group(group)
            if _PLACEHOLDER.search(value) or len(set(value)) < 6:
                continue
            add(match.start(group), match.end(group), label, "API key")
    if digits and any(word in lowered for word in _SECRET_WORDS):
        for match in _GENERIC_SECRET.finditer(text):
            value = match.group(1)
            if _PLACEHOLDER.search(value) or _entropy(value) < 3.0:
                continue
            if not any(c.isdigit() for c in value):
                continue
            add(match.start(1), match.end(1), "API key or token", "API key", 0.9)
    return _dedupe(found)


_Add = Callable[..., None]


def _identifiers(text: str, digits: int, add: _Add) -> None:
    """Cards, IBANs, SSNs and national IDs (only looked for when there are digits)."""
    for match in _CARD.finditer(text) if digits >= 13 else ():
        number = re.sub(r"\D", "", match.group(0))
        if not 12 <= len(number) <= 19 or not luhn_valid(number):
            continue
        window = text[max(0, match.start() - 40) : match.start()]
        context = _CARD_CONTEXT.search(window)
        # Numbers of one or two repeated digits are rarely cards, unless called one.
        if len(set(number)) < 3 and not context:
            continue
        # 12-digit numbers (Maestro) only next to a card word; 13+ with a known prefix too.
        if context or (len(number) >= 13 and _CARD_PREFIX.match(number)):
            add(match.start(), match.end(), "payment card number (Luhn-valid)", "card number")
    for match in _IBAN.finditer(text) if digits >= 10 else ():
        if iban_valid(match.group(0)):
            add(match.start(), match.end(), "IBAN with valid checksum", "IBAN")
    for match in _SSN.finditer(text) if digits >= 9 else ():
        if ssn_valid(match.group(1), match.group(3), match.group(4)):
            add(match.start(), match.end(), "US social security number", "SSN")
    for match in _SSN_CONTEXT.finditer(text) if digits >= 9 else ():
        value = match.group(1)
        if ssn_valid(value[:3], value[3:5], value[5:]):
            add(match.start(1), match.end(1), "social security number", "SSN")
    for match in _NATIONAL_ID.finditer(text):
        value = match.group(1)
        count = sum(c.isdigit() for c in value)
        if (
            count >= 5
            and count * 2 >= len(value.replace(" ", ""))
            and not _PLACEHOLDER.search(value)
        ):
            add(match.start(1), match.end(1), "national ID or licence number", "ID number")
    for match in _NINO.finditer(text):
        add(match.start(), match.end(), "UK national insurance number", "ID number", 0.8)


def _passwords(text: str, add: _Add) -> None:
    """Passwords and PINs given after a password word."""
    for match in _PASSWORD.finditer(text):
        if _looks_like_password(match.group(1)):
            value = match.group(1)
            start = match.start(1)
            if value[:1] in {'"', "'", "`"}:
                start += 1
                value = value[1:-1]
            value = value.rstrip(".!?)")
            add(start, start + len(value), "password or PIN", "password")
    for match in _PASSWORD_BARE.finditer(text):
        value = match.group(1).rstrip(".!?)")
        classes = sum(
            (
                any(c.isdigit() for c in value),
                any(c.isupper() for c in value),
                any(c.islower() for c in value),
                any(not c.isalnum() for c in value),
            )
        )
        if classes >= 3 and not _PLACEHOLDER.search(value) and value[:1] not in "[({<":
            add(match.start(1), match.start(1) + len(value), "password", "password")


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Keep the longest of overlapping spans."""
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in findings:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


class SecretsDetector:
    """Finds secrets anywhere in the draft, whoever they belong to."""

    name = "secrets"

    def detect(self, gate_input: GateInput) -> list[Finding]:
        return find_secrets(gate_input.draft)
