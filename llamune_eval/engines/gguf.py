"""Read a GGUF file's header so models can be listed (family, parameters, quantization, context) and their memory
estimated (the KV cache's shape: layers, KV heads, head sizes) without loading them into an engine."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

# llama_ftype values (llama.h) -> the names people use for quantizations
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}  # fmt: skip
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    pass


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    size_bytes: int
    architecture: str | None
    name: str | None
    parameter_count: int
    quantization: str | None
    context_length: int | None
    # the KV cache's shape (llama.cpp: 2 x n_layer x n_ctx x n_head_kv x head size, keys and values); None: unknown
    block_count: int | None = None
    head_count_kv: int | None = None
    key_length: int | None = None
    value_length: int | None = None


def _read(f: BinaryIO, fmt: str) -> Any:
    n = struct.calcsize(fmt)
    data = f.read(n)
    if len(data) != n:
        raise GGUFError("truncated header")
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    n = _read(f, "<Q")
    return f.read(n).decode("utf-8", "replace")


def _value(f: BinaryIO, vtype: int) -> Any:
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        itype, count = _read(f, "<I"), _read(f, "<Q")
        if itype in _SCALARS:  # skip numeric arrays without decoding them
            f.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
        else:
            for _ in range(count):
                _value(f, itype)
        return None  # arrays (vocabularies) are not needed here
    if vtype not in _SCALARS:
        raise GGUFError(f"unknown value type {vtype}")
    return _read(f, _SCALARS[vtype])


def file_digest(path: str | Path) -> str:
    """A cheap identity for a model file: sha256 of its first 4 MiB and its size (weights differ early)."""
    import hashlib

    p = Path(path)
    with p.open("rb") as f:
        head = f.read(4 << 20)
    return "head4m:" + hashlib.sha256(head + str(p.stat().st_size).encode()).hexdigest()[:32]


def read_info(path: str | Path) -> GGUFInfo:
    p = Path(path)
    st = p.stat()
    return _read_info(p, st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _read_info(path: Path, size: int, mtime_ns: int) -> GGUFInfo:
    meta: dict[str, Any] = {}
    params = 0
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise GGUFError(f"{path}: GGUF version {version} is too old")
        n_tensors, n_kv = _read(f, "<Q"), _read(f, "<Q")
        for _ in range(n_kv):
            key = _string(f)
            meta[key] = _value(f, _read(f, "<I"))
        for _ in range(n_tensors):  # tensor infos: name, dims, type, offset -> exact parameter count
            _string(f)
            n_dims = _read(f, "<I")
            count = 1
            for _ in range(n_dims):
                count *= _read(f, "<Q")
            f.seek(4 + 8, 1)
            params += count
    arch = meta.get("general.architecture")
    ftype = meta.get("general.file_type")

    def num(key: str) -> int | None:
        value = meta.get(f"{arch}.{key}") if arch else None
        return int(value) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    heads, width = num("attention.head_count"), num("embedding_length")
    head_size = width // heads if heads and width else None  # llama.cpp's default when the file names none
    return GGUFInfo(
        path=path,
        size_bytes=size,
        architecture=arch,
        name=meta.get("general.name"),
        parameter_count=params,
        quantization=FILE_TYPES.get(ftype) if isinstance(ftype, int) else None,
        context_length=meta.get(f"{arch}.context_length") if arch else None,
        block_count=num("block_count"),
        head_count_kv=num("attention.head_count_kv") or heads,  # no grouped-query attention: as many as heads
        key_length=num("attention.key_length") or head_size,
        value_length=num("attention.value_length") or head_size,
    )
