"""The LLM belief extractor: structured JSON from a chat model, used when one is configured.

Malformed output is logged as a ``[WARNING]`` and skipped; it never fails a turn.
"""

from __future__ import annotations

import json
import re

from ..llm.base import ChatModel
from ..logs import logger
from .facts import Fact

__all__ = ["LLMExtractor"]

PROMPT = """Extract durable facts the user states about themselves in their message.
Answer with JSON only: {"facts": [{"key": "...", "value": "...", "confidence": 0.0-1.0}]}.
Keys: name, location, hometown, employer, occupation, age, birthday, diet, children,
family:<relation>, preference:<thing> (value "likes" or "dislikes"), favorite:<thing>,
allergy:<thing> (value "yes"), language:<language> (value "speaks"), plan:<short-slug>.
Only facts about the user, stated as true (no questions, hypotheticals or other people's
facts). No facts: {"facts": []}."""

_KEY = re.compile(r"^[a-z]+(?::[a-z0-9 \-']{1,60})?$")


class LLMExtractor:
    """Facts from a :class:`ChatModel`'s JSON answer."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def __call__(self, text: str) -> list[Fact]:
        raw = self.model.complete(PROMPT, text)
        try:
            payload = json.loads(_strip_fences(raw))
            items = payload["facts"]
            if not isinstance(items, list):
                raise TypeError("facts is not a list")
        except (ValueError, KeyError, TypeError) as e:
            logger.warning("extract_beliefs: JSON parse failed (%s)", type(e).__name__)
            return []
        facts: dict[str, Fact] = {}
        for item in items:
            fact = _fact(item)
            if fact is None:
                logger.warning("extract_beliefs: skipped a malformed fact")
                continue
            facts[fact.key] = fact
        return list(facts.values())


def _strip_fences(raw: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", raw, re.S)
    return match[1] if match else raw


def _fact(item: object) -> Fact | None:
    if not isinstance(item, dict):
        return None
    key, value = item.get("key"), item.get("value")
    if not isinstance(key, str) or not isinstance(value, str):
        return None
    key = key.strip().lower()
    if not _KEY.match(key) or not value.strip():
        return None
    confidence = item.get("confidence", 0.8)
    if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        confidence = 0.8
    return Fact(key, value.strip()[:500], float(confidence))
