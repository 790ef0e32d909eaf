"""The quarter's file from stores whose right answer is known: tiers, parameters from the preset, the incumbent
defended against noise and replaced on evidence, the QuarterlyUpdate, publication rules, schema and integrity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from llamune_eval import jsonio
from llamune_eval.config import Config
from llamune_eval.recommend import PublishedError, build, json_schema, publish
from llamune_eval.settings import digest_of, load_active, load_recommended, newest_recommended
from llamune_eval.store.results import Store
from llamune_eval.types import InputError
from tests.recommend._store import GB, MODELS, PRESET, SIZES, fill, listed

CFG = Config()


def _publish(store: Store, quarter: str, out: Path, cfg: Config = CFG, **kw: object) -> tuple[dict, Path, str]:
    data = build(store, cfg, quarter, listed(), out)
    path, status = publish(out, data, None, **kw)  # type: ignore[arg-type]
    return data, path, status


def test_tiers_main_model_cross_checks_memory_and_the_presets_own_parameters(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        data, path, status = _publish(store, "2026-Q1", out)
    assert status == "published" and not data["preview"]
    tiers = {t["memoryGB"]: t for t in data["tiers"]}
    assert tiers[16]["executionOrder"] == ["A", "E"], "the best trade-off leads; the model right where A errs checks"
    assert "D" not in tiers[16]["executionOrder"] and "F" not in tiers[32]["executionOrder"]
    assert tiers[64]["executionOrder"][0] == "F"
    for tier in data["tiers"]:  # chat users get the preset, never the 8-token cap the benchmark requests carried
        for m in tier["models"]:
            assert m["parameters"] == {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_tokens": 500,
                                       "repeat_penalty": 1.1, "num_ctx": 4096}  # fmt: skip
            assert m["parameters"]["max_tokens"] == PRESET.params.max_tokens and m["preset"] == "general"
    ev = next(t for t in data["evidence"]["tiers"] if t["memoryGB"] == 16)
    assert ev["decision"]["outcome"] == "first" and ev["decision"]["incumbent"] is None
    assert ev["crossChecks"] == [{"config": "E:general", "catchesMainMistakes": 1.0, "sharedMistakes": 40}]
    assert "A:general" in ev["paretoFront"] and "B:general" not in ev["paretoFront"]
    assert sum(ev["memoryBytes"].values()) <= 16 * 0.75 * GB
    [jnli] = ev["main"]["suites"]
    assert (jnli["value"], jnli["n"]) == (0.8, 200) and jnli["ci"][0] < 0.8 < jnli["ci"][1]
    assert jnli["itemsFor5Points"] > 0
    assert data["evidence"]["bestPresets"]["A"] == {"reasoning": "general"}
    written = jsonio.loads(path.read_bytes())  # RFC 8259: a NaN anywhere would fail here
    jsonschema.Draft202012Validator(jsonio.loads((out / "schema.json").read_bytes())).validate(written)


def test_the_incumbent_stays_against_noise(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        _publish(store, "2025-Q4", out)
    close = {"B": MODELS["B"], "A": (lambda i: i % 10 < 6 or i % 50 == 7, 3.0)}  # 2 points ahead on 200 items
    with fill(tmp_path / "new.duckdb", close) as store:
        data = build(store, CFG, "2026-Q1", listed(), out)
    ev = next(t for t in data["evidence"]["tiers"] if t["memoryGB"] == 16)
    assert ev["decision"]["incumbent"] == "B:general" and ev["decision"]["challenger"] == "A:general"
    assert ev["decision"]["outcome"] == "kept" and data["tiers"][0]["executionOrder"][0] == "B"
    assert "有意でない" in ev["decision"]["reason"]
    assert any(c.startswith("16GB: メイン B:general を維持") for c in data["update"]["changes"])


def test_a_better_challenger_replaces_it_and_the_update_measures_the_change(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb", {"B": MODELS["B"], "C": MODELS["C"]}) as store:
        _publish(store, "2025-Q4", out)
    with fill(tmp_path / "new.duckdb") as store:
        data, path, _ = _publish(store, "2026-Q1", out)
    ev = next(t for t in data["evidence"]["tiers"] if t["memoryGB"] == 16)
    assert ev["decision"]["outcome"] == "replaced" and ev["decision"]["incumbent"] == "B:general"
    jnli = next(t for t in ev["decision"]["tests"] if t["name"] == "jnli")
    assert jnli["favours"] == "A:general" and jnli["pHolm"] < 0.05 and jnli["test"] == "McNemar exact"
    update = data["update"]
    assert update["oldVersion"] == "2025-Q4" and update["newVersion"] == "2026-Q1"
    assert {"A", "E", "F"} <= set(update["newModels"]) and "B" in update["deprecatedModels"]
    assert any(c.startswith("16GB: メイン B:general → A:general") for c in update["changes"])
    assert isinstance(update["performanceImprovements"], str)  # the specification's shape
    quality = next(d for d in update["performanceDetails"] if d["tier"] == 16 and d["metric"] == "quality")
    assert quality["change"] == pytest.approx(0.2) and quality["significant"] is True
    assert quality["low"] > 0 and quality["basis"].startswith("paired")
    speed = next(d for d in update["performanceDetails"] if d["tier"] == 16 and d["metric"] == "latency")
    assert speed["change"] == pytest.approx(2.0 / 3.0 - 1)  # A answers in 2 s where B took 3 s
    assert "16GB 品質 +20.0pt" in update["performanceImprovements"] and "推論速度 33%向上" in update[
        "performanceImprovements"]  # fmt: skip
    loaded = load_recommended(path)
    assert loaded.update is not None and loaded.update.performance_improvements == update["performanceImprovements"]


def test_a_published_quarter_is_never_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        _, path, status = _publish(store, "2026-Q1", out)
        before = path.read_bytes()
        _, again, status = _publish(store, "2026-Q1", out)
    assert (again, status) == (path, "unchanged") and path.read_bytes() == before
    other = {"C": MODELS["C"], "E": MODELS["E"]}
    with fill(tmp_path / "other.duckdb", other) as store:
        with pytest.raises(PublishedError, match=r"already published .* `--revise` publishes it as 2026-Q1\.2"):
            _publish(store, "2026-Q1", out)
        assert path.read_bytes() == before
        data, revised, status = _publish(store, "2026-Q1", out, revise=True)
    assert status == "revised" and revised.name == "2026-Q1.2.json" and data["version"] == "2026-Q1"
    settings = load_recommended(revised)
    assert settings.version == "2026-Q1.2" and settings.update is not None
    assert (settings.update.old_version, settings.update.new_version) == ("2026-Q1", "2026-Q1.2")
    chosen, _ = newest_recommended(out)
    assert chosen is not None and chosen.version == "2026-Q1.2"  # the chat runtime takes the revision
    assert path.read_bytes() == before


def test_too_little_evidence_to_publish_makes_a_preview_llamune_never_applies(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb", items=20) as store:
        with pytest.raises(InputError, match=r"too little evidence to publish 2026-Q1: items per suite jnli 20 "
                                             r"\(minimum 100"):  # fmt: skip
            build(store, CFG, "2026-Q1", listed(), out, preview=False)
        data = build(store, CFG, "2026-Q1", listed(), out)
    assert data["preview"] and not data["evidence"]["publishable"]
    assert data["evidence"]["thinSuites"] == [{"suite": "jnli", "n": 20, "minItems": 100}]
    path, status = publish(out, data, None)
    assert (path.name, status) == ("2026-Q1.preview.json", "preview")
    assert data["changelog"].startswith("プレビュー（適用されません）: 証拠不足: jnli 20問")
    with pytest.raises(InputError, match="preview"):
        load_recommended(path)
    with pytest.raises(InputError, match="no usable recommended settings"):
        load_active(out, tmp_path / "none.toml", memory_gb=32)


def test_schema_digest_and_signature(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "pub.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    out = tmp_path / "recommended"
    with fill(tmp_path / "r.duckdb") as store:
        path, _ = publish(out, build(store, CFG, "2026-Q1", listed(), out), tmp_path / "key.pem")
    data = jsonio.loads(path.read_bytes())
    schema = jsonio.loads((out / "schema.json").read_bytes())
    assert schema == json_schema() and schema["$schema"].endswith("2020-12/schema")
    jsonschema.Draft202012Validator(schema).validate(data)
    assert "evidence" in schema["required"] and "TierEvidence" in schema["$defs"]
    assert load_recommended(path, tmp_path / "pub.pem").version == "2026-Q1"
    tampered = dict(data, concurrentLimit=9)
    path.write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(InputError, match="digest"):
        load_recommended(path)
    resealed = dict(tampered, digest=digest_of(tampered))  # digest fixed by the tamperer: the signature still fails
    path.write_text(json.dumps(resealed), encoding="utf-8")
    with pytest.raises(InputError, match="signature"):
        load_recommended(path, tmp_path / "pub.pem")
    path.write_text(json.dumps(tampered), encoding="utf-8")
    with Store(tmp_path / "r.duckdb") as store, pytest.raises(PublishedError, match="never overwritten"):
        publish(out, build(store, CFG, "2026-Q1", listed(), out), None)  # a damaged published file stays
    assert json.loads(path.read_text(encoding="utf-8")) == tampered


def test_too_little_evidence_gives_no_file(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with Store(tmp_path / "empty.duckdb") as store, pytest.raises(InputError, match="too little evidence"):
        build(store, CFG, "2026-Q1", listed(), out)
    with fill(tmp_path / "r.duckdb") as store:
        with pytest.raises(InputError, match="memory of A is unknown"):
            build(store, CFG, "2026-Q1", [], out)
        tiny = Config.model_validate({"recommend": {"tiers": [1]}})
        with pytest.raises(InputError, match="tier 1 GB: no evaluated model fits"):
            build(store, tiny, "2026-Q1", listed(), out)
    assert not out.exists()


def test_the_same_configuration_is_measured_against_last_quarters_record(tmp_path: Path) -> None:
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb") as store:
        _publish(store, "2025-Q4", out)
    faster = dict(MODELS, A=(MODELS["A"][0], 1.6))
    with fill(tmp_path / "new.duckdb", faster) as store:
        data = build(store, CFG, "2026-Q1", listed(), out)
    [speed] = [d for d in data["update"]["performanceDetails"] if d["tier"] == 16 and d["metric"] == "latency"]
    assert speed["before"] == speed["after"] == "A:general" and speed["change"] == pytest.approx(-0.2)
    assert speed["basis"].startswith("against 2025-Q4") and "16GB 推論速度 20%向上" in speed["description"]


def test_old_config_keys_get_a_clear_error() -> None:
    with pytest.raises(ValueError, match="latency_weight is gone"):
        Config.model_validate({"recommend": {"latency_weight": 0.3}})
    with pytest.raises(ValueError, match="kv_bytes_per_param_token is gone: memory is measured"):
        Config.model_validate({"recommend": {"kv_bytes_per_param_token": 2e-5}})


def test_recommend_command(tmp_path: Path) -> None:
    fill(tmp_path / "llamune.duckdb").close()
    sizes = "\n".join(f"{m} = {s}" for m, s in SIZES.items())
    (tmp_path / "llamune.toml").write_text(f"[recommend]\ntiers = [16, 64]\n[recommend.model_sizes]\n{sizes}\n")
    cli = [sys.executable, "-m", "llamune_eval.cli.main", "recommend"]
    env = {**os.environ, "COLUMNS": "200", "OLLAMA_HOST": "127.0.0.1:9"}
    proc = subprocess.run([*cli, "--quarter", "2026-Q1"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "16 GB: A → E" in proc.stdout and "64 GB: F" in proc.stdout and "前四半期の選択がないため" in proc.stdout
    assert proc.stderr.strip().endswith("2026-Q1.json: published")
    assert load_recommended(tmp_path / "recommended" / "2026-Q1.json").version == "2026-Q1"
    again = subprocess.run([*cli, "--quarter", "2026-Q1", "--json"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=env)  # fmt: skip
    data = jsonio.loads(again.stdout)
    assert data["status"] == "unchanged"  # the same decision again: the published file stays as it is
    assert data["decisions"][0]["outcome"] == "kept" and data["decisions"][0]["incumbent"] == "A:general"
    bad = subprocess.run([*cli, "--quarter", "2026Q1"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env)  # fmt: skip
    assert bad.returncode == 2 and "YYYY-Qn" in bad.stderr  # a bad option value, as every command says it


def test_the_schema_shipped_in_the_repository_is_the_one_we_validate_against() -> None:
    shipped = Path(__file__).resolve().parents[2] / "recommended" / "schema.json"
    assert jsonio.loads(shipped.read_bytes()) == json_schema(), "regenerate recommended/schema.json"
