"""Engines: Ollama, OpenAI-compatible servers and the embedded llama.cpp engine, behind one `Engine`.

`open_engine(config)` builds it from `llamune.toml`; with no engines configured it uses Ollama when one answers
at `OLLAMA_HOST` (default 127.0.0.1:11434) and otherwise starts the embedded engine with the bundled models.
"""

from __future__ import annotations

import os
from pathlib import Path

from llamune_eval import egress
from llamune_eval.config import Config, EngineConfig, RetryPolicy, Timeouts
from llamune_eval.engines._backend import Backend
from llamune_eval.engines.embedded import EmbeddedBackend, ModelSource, default_models
from llamune_eval.engines.engine import Engine, Pool
from llamune_eval.engines.ollama import OllamaBackend, ollama_url
from llamune_eval.engines.openai import OpenAIBackend
from llamune_eval.lean_httpx import httpx

__all__ = [
    "Backend",
    "EmbeddedBackend",
    "Engine",
    "OllamaBackend",
    "OpenAIBackend",
    "Pool",
    "RetryPolicy",
    "Timeouts",
    "build_backends",
    "detect_ollama",
    "model_files",
    "open_engine",
]


def detect_ollama(url: str | None = None, timeout: float = 0.5) -> str | None:
    """The Ollama URL if a server answers `/api/version` there, else None."""
    base = ollama_url(url) if url is None or "://" not in url else url
    host = httpx.URL(base).host
    if not egress.is_allowed(host):
        return None
    try:
        resp = httpx.get(f"{base}/api/version", timeout=timeout, trust_env=False)
        return base if resp.status_code == 200 and "version" in resp.json() else None
    except (httpx.HTTPError, ValueError):
        return None


def _embedded_models(ec: EngineConfig) -> dict[str, ModelSource]:
    from llamune_eval.engines import bundled

    if not ec.models:
        return default_models()
    out: dict[str, ModelSource] = {}
    for entry in ec.models:
        if isinstance(entry, str):
            if entry in bundled.BUNDLED:
                out[entry] = bundled.BUNDLED[entry]
            else:  # a bare path: named after its file
                out[Path(entry).stem] = Path(entry).expanduser()
        else:
            out[entry.name] = entry.path.expanduser()
    return out


def model_files(cfg: Config) -> dict[str, Path]:
    """The GGUF file of each model whose file can be read here: the embedded engines' models (bundled ones once
    joined) and `[models."name"] gguf` for models a server holds; the memory estimate reads their headers."""
    from llamune_eval.engines import bundled

    out: dict[str, Path] = {}
    embedded: list[EngineConfig] = [ec for ec in cfg.engines if ec.kind == "embedded"]
    if not cfg.engines:  # the default: the bundled models (when Ollama answers instead, its names may match them)
        embedded = [EngineConfig(kind="embedded")]
    for ec in embedded:
        for name, source in _embedded_models(ec).items():
            if isinstance(source, Path):
                out[name] = source
            elif bundled.available(source) and not bundled.needs_join(source, cfg.paths.cache):
                out[name] = bundled.model_file(source, cfg.paths.cache)
    for name, options in cfg.models.items():
        if options.gguf is not None:
            out[name] = options.gguf.expanduser()
    return {name: path for name, path in out.items() if path.is_file()}


def build_backends(cfg: Config) -> list[Backend]:
    """Backends for every configured engine endpoint, the allowlist extended with their hosts first."""
    engines = cfg.engines
    if not engines:
        found = detect_ollama()
        engines = [EngineConfig(kind="ollama", url=found)] if found else [EngineConfig(kind="embedded")]
    egress.allow(cfg.network.allow_hosts)
    egress.allow(u for ec in engines for u in ec.endpoint_urls())
    out: list[Backend] = []
    for ec in engines:
        if ec.kind == "embedded":
            out.append(
                EmbeddedBackend(
                    _embedded_models(ec),
                    parallel=ec.parallel,
                    ctx_per_slot=ec.ctx_per_slot,
                    threads=ec.threads,
                    timeouts=cfg.timeouts,
                    cache_dir=cfg.paths.cache,
                )
            )
            continue
        key = os.environ.get(ec.api_key_env) if ec.api_key_env else None
        for url in ec.endpoint_urls() or [ollama_url()]:
            if ec.kind == "ollama":
                think: dict[str, bool | str] = {n: o.think for n, o in cfg.models.items() if o.think is not None}
                out.append(
                    OllamaBackend(
                        url,
                        timeouts=cfg.timeouts,
                        max_concurrency=ec.max_concurrency,
                        keep_alive=ec.keep_alive,
                        think=think,
                        num_parallel=ec.num_parallel,
                    )
                )
            else:
                out.append(
                    OpenAIBackend(
                        url,
                        timeouts=cfg.timeouts,
                        api_key=key,
                        max_concurrency=ec.max_concurrency,
                        strict_params=ec.strict_params,
                    )
                )
    return out


def open_engine(cfg: Config) -> Engine:
    """The Engine for a loaded config (use `async with`); installs the egress guard first."""
    egress.install()
    egress.offline_env(cfg.network.allow_hub)
    return Engine(build_backends(cfg), retry=cfg.retry, timeouts=cfg.timeouts)
