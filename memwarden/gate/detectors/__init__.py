"""Pluggable detectors, one module per family of categories."""

from __future__ import annotations

from .base import Detector, Finding
from .claims import ActionClaimDetector
from .confabulation import ConfabulationDetector
from .harm import HarmDetector
from .injection import InjectionDetector
from .pii import Entity, ThirdPartyDetector, find_entities
from .secrets import SecretsDetector, find_secrets

__all__ = [
    "ActionClaimDetector",
    "ConfabulationDetector",
    "Detector",
    "Entity",
    "Finding",
    "HarmDetector",
    "InjectionDetector",
    "SecretsDetector",
    "ThirdPartyDetector",
    "default_detectors",
    "find_entities",
    "find_secrets",
]


def default_detectors() -> list[Detector]:
    """The shipped detectors, in the order their findings are reported."""
    return [
        HarmDetector(),
        SecretsDetector(),
        ThirdPartyDetector(),
        ActionClaimDetector(),
        ConfabulationDetector(),
        InjectionDetector(),
    ]
