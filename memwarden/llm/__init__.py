"""LLM backends: the offline builtin responder, or any OpenAI-compatible server."""

from __future__ import annotations

from ..settings import Settings
from .base import ChatModel, DraftContext, DraftModel
from .builtin import BuiltinResponder
from .openai import OpenAICompatible

__all__ = [
    "BuiltinResponder",
    "ChatModel",
    "DraftContext",
    "DraftModel",
    "OpenAICompatible",
    "from_settings",
]


def from_settings(settings: Settings) -> DraftModel:
    """The backend ``settings.llm`` names."""
    if settings.llm == "openai":
        return OpenAICompatible(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            retries=settings.llm_retries,
        )
    return BuiltinResponder()
