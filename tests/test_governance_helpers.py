"""Shared helpers of the governance tests (this module holds no tests)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema

from memwarden.gate import Action, Assessment, CategoryScore, GateDecision, GateInput, Span
from memwarden.gate.base import Attempt, Regenerate
from memwarden.logs import SeedFormatter

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "export-schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def validate_export(document: dict[str, Any]) -> None:
    VALIDATOR.validate(document)


def export_document(gov: Any, user: str) -> dict[str, Any]:
    buffer = io.StringIO()
    result = gov.export_memory(user, out=buffer)
    assert result.ok, result.reply
    document: dict[str, Any] = json.loads(buffer.getvalue())
    validate_export(document)
    return document


@contextmanager
def seed_log() -> Iterator[io.StringIO]:
    """memwarden's log lines in the seed format, captured whatever configured logging."""
    logger = logging.getLogger("memwarden")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SeedFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def reset_logging() -> None:
    """Drop the handlers a CLI run installed (they hold CliRunner's closed streams)."""
    logger = logging.getLogger("memwarden")
    for handler in list(logger.handlers):
        if getattr(handler, "_memwarden_handler", False):
            logger.removeHandler(handler)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


class FlaggingGate:
    """A test gate: flags the word ``secret`` in a draft as a 'secrets' span, then asks
    the LLM for one rewrite (so traces have categories, spans and a rewrite attempt)."""

    def assess(self, gate_input: GateInput) -> Assessment:
        start = gate_input.draft.find("secret")
        if start < 0:
            return Assessment(total=0.0, action=Action.NONE)
        span = Span(start, start + 6, "secret", "looks like a secret")
        category = CategoryScore("secrets", 1.5, (span,))
        return Assessment(total=1.5, action=Action.REWRITE, categories=(category,))

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        first = self.assess(gate_input)
        if first.action is Action.NONE:
            return GateDecision(Action.NONE, 0.0, 0.0, gate_input.draft, first)
        extra = "Do not repeat the secret."
        draft = regenerate(extra).replace("secret", "[redacted]")
        second = Assessment(total=0.0, action=Action.NONE)
        attempt = Attempt(extra, draft, second, "regenerate")
        return GateDecision(Action.REWRITE, first.total, 0.0, draft, first, (attempt,))


def test_replace_first_matches_the_regex_alternation_of_the_literals() -> None:
    import random
    import re

    from memwarden.governance.redact import replace_first

    rng = random.Random(11)
    cases = 0
    for _ in range(3000):
        value = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 24)))
        literals = sorted(
            {"".join(rng.choice("ab c") for _ in range(rng.randint(1, 5))) for _ in range(3)},
            key=len,
            reverse=True,
        )
        literals = rng.sample(literals, len(literals))  # any order: the first wins a tie
        expected = re.sub("|".join(map(re.escape, literals)), "[deleted]", value)
        assert replace_first(value, literals, "[deleted]") == expected, (value, literals)
        cases += expected != value
    assert cases > 1000  # most cases replaced something
    assert replace_first("as is", [], "[deleted]") == "as is"


def test_replace_first_scans_a_long_value_in_linear_time() -> None:
    from memwarden.governance.redact import replace_first

    class Scanned(str):
        """A string that counts the characters its find() calls scan."""

        scanned = 0

        def find(self, sub: str, start: int | None = None, *args: Any) -> int:
            at = start or 0
            found = str.find(self, sub, at, *args)
            Scanned.scanned += (len(self) if found == -1 else found + len(sub)) - at
            return found

    # Many quotes of one form, and a form that never occurs (as when the deleted text's
    # spacing differs from how replies quote it).
    value = Scanned("x said: I live in Porto. " * 4000)
    out = replace_first(value, ["I  live in Porto.", "I live in Porto."], "[deleted]")
    assert out == "x said: [deleted] " * 4000
    assert Scanned.scanned <= 2 * len(value)
