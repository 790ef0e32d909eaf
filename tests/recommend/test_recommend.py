"""Recommendation on crafted results whose right answer is known; the file's changelog, schema and integrity."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from llamune_eval.config import Config as AppConfig
from llamune_eval.recommend import build, json_schema, seal, write
from llamune_eval.settings import digest_of, load_recommended
from llamune_eval.store.results import SAMPLE_COLUMNS, SampleRecord, Store, now
from llamune_eval.types import InputError, ModelInfo

GB = 1024**3
# model -> (items it gets right out of 20, median latency): A is the best trade-off; B is dominated by A;
# D errs exactly where A errs; E is right where A is wrong; F is best of all but needs a big machine
MODELS = {
    "A": (range(16), 2.0),
    "B": (range(14), 3.0),
    "C": (range(10), 0.5),
    "D": (range(16), 2.5),
    "E": (range(8, 20), 1.0),
    "F": (range(19), 4.0),
}
SIZES = {"A": 2 * GB, "B": 2 * GB, "C": GB, "D": 2 * GB, "E": GB, "F": 40 * GB}


def _store(path: Path, models: dict[str, tuple[range, float]] = MODELS) -> Store:
    store = Store(path)
    writer = store.writer()
    params = json.dumps({"temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_tokens": 500, "num_ctx": 2048})
    for model, (right, latency) in models.items():
        for i in range(20):
            row = {c: None for c in SAMPLE_COLUMNS} | {
                "key": f"{model}-{i}",
                "run_id": "r1",
                "suite": "jnli",
                "suite_version": "v1",
                "template_version": "t1",
                "kind": "jnli",
                "category": "reasoning",
                "item_id": str(i),
                "model": model,
                "preset": "general",
                "params": params,
                "repeat": 0,
                "status": "ok",
                "latency_s": latency,
                "parse_ok": True,
                "created_at": now(),
            }
            writer.put(SampleRecord(row, {"correct": float(i in right)}))
    writer.close()
    return store


def _listed() -> list[ModelInfo]:
    return [
        ModelInfo(name=m, engine="ollama", endpoint="x", size_bytes=s, parameter_count=s * 2) for m, s in SIZES.items()
    ]


def test_tiers_main_model_cross_checks_and_memory(tmp_path: Path) -> None:
    with _store(tmp_path / "r.duckdb") as store:
        data = build(store, AppConfig(), "2026-Q1", _listed(), tmp_path / "recommended")
    tiers = {t["memoryGB"]: t for t in data["tiers"]}
    assert tiers[16]["executionOrder"][0] == "A", "the best trade-off that fits leads"
    assert "B" not in tiers[16]["executionOrder"][:1] and "D" not in tiers[16]["executionOrder"]
    assert tiers[16]["executionOrder"][1] == "E", "the model right where A is wrong cross-checks"
    assert "F" not in tiers[16]["executionOrder"] and "F" not in tiers[32]["executionOrder"]
    assert tiers[64]["executionOrder"][0] == "F"
    evidence = data["evidence"]["tiers"]["16"]
    assert evidence["cross_checks"][0]["catches_main_mistakes"] == 1.0
    assert "A:general" in evidence["pareto_front"] and "B:general" not in evidence["pareto_front"]
    assert sum(evidence["memory_bytes"].values()) <= 16 * 0.75 * GB
    assert tiers[16]["models"][0]["parameters"]["num_ctx"] == 2048 and tiers[16]["concurrentLimit"] >= 1


def test_changelog_against_the_previous_quarter(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with _store(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        write(out, seal(build(store, AppConfig(), "2025-Q4", _listed(), out), None))
    with _store(tmp_path / "new.duckdb") as store:
        data = build(store, AppConfig(), "2026-Q1", _listed(), out)
    update = data["update"]
    assert update["oldVersion"] == "2025-Q4" and update["newVersion"] == "2026-Q1"
    assert {"A", "E", "F"} <= set(update["newModels"]) and update["deprecatedModels"] == ["B"]
    assert any(c.startswith("16GB: メイン B → A") for c in update["changes"])
    assert "2025-Q4" not in data["changelog"] and "16GB: A → E" in data["changelog"]


def test_schema_digest_and_signature(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    out = tmp_path / "recommended"
    with _store(tmp_path / "r.duckdb") as store:
        path = write(out, seal(build(store, AppConfig(), "2026-Q1", _listed(), out), tmp_path / "key.pem"))
    data = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((out / "schema.json").read_text(encoding="utf-8"))
    assert schema == json_schema() and schema["$schema"].endswith("2020-12/schema")
    jsonschema.Draft202012Validator(schema).validate(data)
    assert load_recommended(path, tmp_path / "pub.pem").version == "2026-Q1"
    tampered = dict(data, concurrentLimit=9)
    path.write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(InputError, match="digest"):
        load_recommended(path)
    resealed = dict(tampered, digest=digest_of(tampered))  # digest fixed by the tamperer: the signature still fails
    path.write_text(json.dumps(resealed), encoding="utf-8")
    with pytest.raises(InputError, match="signature"):
        load_recommended(path, tmp_path / "pub.pem")
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "other.pem").write_bytes(
        other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="signature"):
        load_recommended(path, tmp_path / "other.pem")


def test_too_little_evidence_gives_no_file(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with Store(tmp_path / "empty.duckdb") as store, pytest.raises(InputError, match="too little evidence"):
        build(store, AppConfig(), "2026-Q1", _listed(), out)
    with _store(tmp_path / "r.duckdb") as store:
        with pytest.raises(InputError, match="size of A is unknown"):
            build(store, AppConfig(), "2026-Q1", [], out)
        tiny = AppConfig.model_validate({"recommend": {"tiers": [1]}})
        with pytest.raises(InputError, match="tier 1 GB: no evaluated model fits"):
            build(store, tiny, "2026-Q1", _listed(), out)
    assert not out.exists()


def test_performance_improvements_only_when_measured(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with _store(tmp_path / "old.duckdb") as store:
        write(out, seal(build(store, AppConfig(), "2025-Q4", _listed(), out), None))
    faster = dict(MODELS, A=(range(16), 1.6))
    with _store(tmp_path / "new.duckdb", faster) as store:
        data = build(store, AppConfig(), "2026-Q1", _listed(), out)
    improvements = {(i["tier"], i["description"]) for i in data["update"]["performanceImprovements"]}
    assert (16, "推論速度 20%向上") in improvements
    assert all(i["model"] == "A:general" for i in data["update"]["performanceImprovements"] if i["tier"] == 16)


def test_recommend_command(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _store(tmp_path / "llamune.duckdb").close()
    sizes = "\n".join(f"{m} = {s}" for m, s in SIZES.items())
    (tmp_path / "llamune.toml").write_text(f"[recommend]\ntiers = [16, 64]\n[recommend.model_sizes]\n{sizes}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "llamune_eval.cli.main", "recommend", "--quarter", "2026-Q1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "OLLAMA_HOST": "127.0.0.1:9"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "16 GB: A → E" in proc.stdout and "64 GB: F" in proc.stdout
    assert load_recommended(tmp_path / "recommended" / "2026-Q1.json").version == "2026-Q1"
    bad = subprocess.run(
        [sys.executable, "-m", "llamune_eval.cli.main", "recommend", "--quarter", "2026Q1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OLLAMA_HOST": "127.0.0.1:9"},
    )
    assert bad.returncode == 1 and "YYYY-Qn" in bad.stderr


def test_best_preset_per_model_and_category(tmp_path: Path) -> None:
    with _store(tmp_path / "r.duckdb") as store:
        data = build(store, AppConfig(), "2026-Q1", _listed(), tmp_path / "recommended")
    assert data["evidence"]["best_presets"]["A"] == {"reasoning": "general"}
