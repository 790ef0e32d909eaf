"""Keys and signed settings files for the channel tests, made as the operator's recommend makes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from llamune_eval.settings import canonical, digest_of


def keypair(folder: Path, name: str = "org") -> tuple[Path, Path]:
    """An Ed25519 signing key and its public half as PEM files: (private, public)."""
    key = Ed25519PrivateKey.generate()
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return private, public


def settings(version: str, order: list[str], *, tiers: dict[int, list[str]] | None = None, preview: bool = False,
             max_tokens: int = 24) -> dict[str, Any]:  # fmt: skip
    """A RecommendedSettings body: `order` is the execution order (first = main); `tiers` GB -> order."""
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": max_tokens}

    def models(names: list[str]) -> list[dict[str, Any]]:
        return [{"name": m, "priority": i, "purpose": "メイン推論" if i == 1 else "クロスチェック",
                 "parameters": params} for i, m in enumerate(names, 1)]  # fmt: skip

    data: dict[str, Any] = {
        "version": version, "quarter": version.split(".")[0], "models": models(order), "executionOrder": order,
        "concurrentLimit": 1, "updatedAt": "2026-12-01T00:00:00Z", "changelog": f"{version} の推奨設定",
        "update": {"newVersion": version, "changes": [f"{version} の変更"], "newModels": order[:1]},
    }  # fmt: skip
    if tiers:
        data["tiers"] = [{"memoryGB": gb, "models": models(o), "executionOrder": o, "concurrentLimit": 1}
                         for gb, o in sorted(tiers.items())]  # fmt: skip
    if preview:
        data["preview"] = True
    return data


def seal(data: dict[str, Any], key: Path | None) -> dict[str, Any]:
    """Digest, then (with `key`) the Ed25519 signature over the same canonical bytes."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    sealed = dict(data)
    sealed.pop("signature", None)
    sealed["digest"] = digest_of(sealed)
    if key is not None:
        private = load_pem_private_key(key.read_bytes(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        sealed["signature"] = private.sign(canonical(sealed)).hex()
    return sealed


def write(folder: Path, data: dict[str, Any], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{data['version']}.preview" if data.get("preview") else data["version"]
    path = folder / (name or f"{stem}.json")
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return path


def published(folder: Path, version: str, order: list[str], key: Path | None, **kw: Any) -> Path:
    """A sealed (and, with `key`, signed) published file in `folder`."""
    return write(folder, seal(settings(version, order, **kw), key))
