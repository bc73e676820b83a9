"""Span-level precision and recall of the gate's personal-data finders on the Presidio
synthetic data set (``presidio_synth_dataset_v2.json``, 1,500 sentences).

    python -m benchmarks.bench_gate_pii [PATH]

A predicted span is a true positive when it overlaps a gold span of the same entity type
("overlap" matching; each gold span can be matched once); "exact" requires the same
start and end after trimming spaces and punctuation.  Cards, IBANs and SSNs come from the
secrets detector, the rest from ``find_entities`` -- pattern rules, no model.  Presidio's
published figures with its large spaCy model (precision 0.685, recall 0.603) are printed
beside ours for reference; they cover all its entity types, names and addresses included.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from memwarden.gate.detectors import find_entities, find_secrets

from .machine import describe

DEFAULT = Path(__file__).resolve().parents[2] / "shared/datasets/pii/presidio_synth_dataset_v2.json"
TYPES = (
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "PERSON",
    "STREET_ADDRESS",
)
_SECRET_TYPES = {"payment card": "CREDIT_CARD", "IBAN": "IBAN_CODE", "social security": "US_SSN"}
_TRIM = " \t\n.,;:!?\"'()"


def predict(text: str) -> list[tuple[str, int, int]]:
    """Typed spans the gate's finders report for ``text``."""
    spans: list[tuple[str, int, int]] = []
    for finding in find_secrets(text):
        for key, kind in _SECRET_TYPES.items():
            if key.lower() in finding.reason.lower():
                spans.append((kind, finding.start, finding.end))
    taken = [(s, e) for _, s, e in spans]
    for entity in find_entities(text):
        if any(entity.start < e and s < entity.end for s, e in taken):
            continue
        spans.append((entity.entity_type, entity.start, entity.end))
    return spans


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    return start, end


def main(path: Path) -> None:
    rows = json.loads(path.read_text(encoding="utf-8"))
    print(describe())
    print(f"data: {path.name}, {len(rows)} sentences")
    counts: dict[str, Counter[str]] = {t: Counter() for t in (*TYPES, "ALL")}
    started = time.perf_counter()
    for row in rows:
        text = row["full_text"]
        gold = [
            (s["entity_type"], s["start_position"], s["end_position"])
            for s in row["spans"]
            if s["entity_type"] in TYPES
        ]
        pred = predict(text)
        for kind, _, _ in gold:
            counts[kind]["gold"] += 1
        for kind, _, _ in pred:
            counts[kind]["pred"] += 1
        for mode in ("overlap", "exact"):
            used: set[int] = set()
            for kind, p_start, p_end in pred:
                for index, (g_kind, g_start, g_end) in enumerate(gold):
                    if index in used or g_kind != kind:
                        continue
                    if mode == "overlap":
                        hit = p_start < g_end and g_start < p_end
                    else:
                        hit = _trimmed(text, p_start, p_end) == _trimmed(text, g_start, g_end)
                    if hit:
                        used.add(index)
                        counts[kind][f"tp_{mode}"] += 1
                        break
    elapsed = time.perf_counter() - started
    for kind in TYPES:
        for key in ("gold", "pred", "tp_overlap", "tp_exact"):
            counts["ALL"][key] += counts[kind][key]
    print(
        f"{'entity':16s} {'gold':>5s} {'pred':>5s}  {'P':>5s} {'R':>5s} {'F1':>5s}  "
        f"{'P(ex)':>5s} {'R(ex)':>5s}"
    )
    for kind in (*TYPES, "ALL"):
        c = counts[kind]
        p = c["tp_overlap"] / c["pred"] if c["pred"] else 0.0
        r = c["tp_overlap"] / c["gold"] if c["gold"] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        pe = c["tp_exact"] / c["pred"] if c["pred"] else 0.0
        re_ = c["tp_exact"] / c["gold"] if c["gold"] else 0.0
        print(
            f"{kind:16s} {c['gold']:5d} {c['pred']:5d}  {p:5.3f} {r:5.3f} {f1:5.3f}  "
            f"{pe:5.3f} {re_:5.3f}"
        )
    print("Presidio (published, large spaCy model, all its types): P 0.685  R 0.603")
    print(f"time: {elapsed * 1000 / len(rows):.2f} ms per sentence")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
