"""The embeddings extra: verified weights or nothing, and lexical recall without it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.logs import logger
from memwarden.memory import embeddings
from memwarden.memory.embeddings import (
    EXPECTED_SHA256,
    ModelFiles,
    ModelIntegrityError,
    embedder_for,
    load_embedder,
    read_verified,
)
from memwarden.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_embedder() -> Iterator[None]:
    embeddings.reset()
    yield
    embeddings.reset()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"[{record.levelname}] {record.getMessage()}")


def test_verify_refuses_file_with_other_sha256(tmp_path: Path) -> None:
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the published weights")
    with pytest.raises(ModelIntegrityError) as caught:
        read_verified(fake, EXPECTED_SHA256["model.safetensors"])
    assert hashlib.sha256(b"not the published weights").hexdigest() in str(caught.value)
    assert EXPECTED_SHA256["model.safetensors"] in str(caught.value)


def test_verify_returns_bytes_of_matching_file(tmp_path: Path) -> None:
    data = b"some weights"
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    assert read_verified(path, hashlib.sha256(data).hexdigest().upper()) == data


def test_load_refuses_tampered_model_files(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    weights, tokenizer = tmp_path / "model.safetensors", tmp_path / "tokenizer.json"
    weights.write_bytes(b"\x00" * 64)
    tokenizer.write_text("{}")
    with pytest.raises(ModelIntegrityError):
        load_embedder(ModelFiles(weights, tokenizer))


def test_tampered_weights_are_an_error_not_lexical_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    package = tmp_path / "fake_weights_pkg"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (package / "model" / "model.safetensors").write_bytes(b"evil")
    (package / "model" / "tokenizer.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(embeddings, "MODEL_PACKAGE", "fake_weights_pkg")
    with pytest.raises(ModelIntegrityError):
        embedder_for(Settings(db=str(tmp_path / "m.db")))


def test_embedder_for_without_extra_warns_once_and_returns_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeddings, "MODEL_PACKAGE", "memwarden_no_such_weights_package")
    lines = _Lines()
    logger.addHandler(lines)
    try:
        settings = Settings(db=str(tmp_path / "m.db"))
        assert embedder_for(settings) is None
        assert embedder_for(settings) is None
    finally:
        logger.removeHandler(lines)
    warnings = [line for line in lines.lines if line.startswith("[WARNING]")]
    assert len(warnings) == 1 and "lexical only" in warnings[0]


def test_embeddings_off_in_settings_gives_lexical_turns(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "m.db"), embeddings=False)
    assert embedder_for(settings) is None
    with Agent.open(settings) as agent:
        agent.turn("ana", "My sister Rita plays the cello in an orchestra.")
        result = agent.turn("ana", "Who plays the cello?")
        episodes = [m for m in result.recalled if m.kind == "episode"]
        assert episodes and episodes[0].text.startswith("My sister Rita")
        assert all(m.dense is None for m in result.recalled)
        with agent.store.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM memory_vectors").scalar() == 0
