"""`llamune.toml`: engines, models, timeouts, retries, network allowlist, paths; environment overrides.

A bad file is one clear error naming the key, never a traceback. Environment variables override the file:
`LLAMUNE_<SECTION>__<KEY>=value` (value parsed as TOML, e.g. `LLAMUNE_TIMEOUTS__READ=30`), `LLAMUNE_ENGINE` /
`LLAMUNE_ENGINE_URL` to point at one engine, and `OLLAMA_HOST` for the default Ollama address.
"""

from __future__ import annotations

import os
import random
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llamune_eval.types import QUARTER_PATTERN

CONFIG_NAME = "llamune.toml"
ALPHA = 0.05  # significance level: `[recommend] alpha`'s default, and the level of every test that reads no config
EngineKind = Literal["ollama", "openai", "embedded"]


def default_cache_dir() -> Path:
    """Where joined models, engine logs and the compiled report template are kept (`LLAMUNE_CACHE`, else the
    XDG cache folder)."""
    env = os.environ.get("LLAMUNE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llamune-eval"


class ConfigError(ValueError):
    """A configuration problem, already phrased for the operator."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Timeouts(_Strict):
    """connect and read bound each wait on the socket; total bounds one attempt, checked at every chunk."""

    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=120.0, gt=0)
    total: float = Field(default=600.0, gt=0)


class RetryPolicy(_Strict):
    """Bounded retries with exponential backoff and full jitter (so retries from many tasks spread out)."""

    attempts: int = Field(default=3, ge=1, le=20)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=8.0, ge=0)
    jitter: bool = True

    def delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling) if self.jitter else ceiling


class EmbeddedModel(_Strict):
    name: str
    path: Path


class EngineConfig(_Strict):
    """One engine: a kind and one or more endpoint URLs (several URLs form a pool)."""

    kind: EngineKind
    name: str | None = None
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    api_key_env: str | None = None
    max_concurrency: int = Field(default=4, ge=1, le=1024)
    strict_params: bool = False
    # embedded only: bundled model names or {name, path} entries; empty means the bundled models
    models: list[str | EmbeddedModel] = Field(default_factory=list)
    parallel: int = Field(default=4, ge=1, le=64)
    ctx_per_slot: int = Field(default=4096, ge=256)
    # ollama only: how long the server keeps a model loaded after each request (Ollama's default is 5m, after
    # which the next request pays the load); sent with every request and with the load before timing starts
    keep_alive: str | None = Field(default="30m", pattern=r"^(-1|0|\d+(\.\d+)?(ms|s|m|h)?)$")
    num_parallel: int | None = Field(default=None, ge=1, le=1024)  # ollama: the server's OLLAMA_NUM_PARALLEL
    # (None: measured when each model is loaded); requests beyond it would only wait in Ollama's queue
    threads: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _urls(self) -> EngineConfig:
        if self.kind == "openai" and not (self.url or self.urls):
            raise ValueError("an openai engine needs url or urls")
        if self.kind == "embedded" and (self.url or self.urls):
            raise ValueError("an embedded engine starts its own servers; remove url/urls")
        return self

    def endpoint_urls(self) -> list[str]:
        return ([self.url] if self.url else []) + list(self.urls)


class NetworkConfig(_Strict):
    allow_hosts: list[str] = Field(default_factory=list)
    allow_hub: bool = False  # let `datasets` reach the Hugging Face hub (off: offline cache only)


class PathsConfig(_Strict):
    store: Path = Path("llamune.duckdb")
    cache: Path | None = None
    data: Path | None = None
    recommended: Path = Path("recommended")  # the quarters' settings files
    reports: Path = Path("reports")  # reports/<quarter>/index.html and report.json


def is_url(location: str) -> bool:
    """Whether a channel or drop location is an http(s) URL (else it is a folder)."""
    return location.lower().startswith(("http://", "https://"))


def check_location(name: str, value: str | None) -> None:
    """A channel or drop location that cannot be used is a configuration error, not a failure at every start."""
    if value is None:
        return
    if not value.strip():
        raise ValueError(f"{name} is empty")
    if is_url(value):
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError as exc:
            raise ValueError(f"{name} {value!r} is not a usable URL ({exc})") from exc
        if not parts.hostname:
            raise ValueError(f"{name} {value!r} has no host")


class ChatConfig(_Strict):
    """The chat runtime (`llamune`), and what it shares with the organisation (README: Across an organisation)."""

    titles: bool = True  # the main model names each session after its first answer (false: no extra request)
    history: bool = True  # the line editor keeps the questions in a 0600 file beside the chat database
    # the organisation's channel of published settings (a folder or an http(s) URL) and the key that signs them
    channel: str | None = None
    public_key: Path | None = None
    memory_gb: float | None = Field(default=None, gt=0)  # this machine's memory for its tier (default: measured)
    usage_drop: str | None = None  # where usage events go, without content (a folder or a WebDAV URL)
    org_salt: str | None = None  # the organisation's secret for the pseudonymous user id of shared usage
    share_comments: bool = False  # shared usage carries the users' /good, /bad and /rate comments too

    @model_validator(mode="after")
    def _shared(self) -> ChatConfig:
        if self.channel and is_url(self.channel) and self.public_key is None:
            raise ValueError("a channel over http(s) needs public_key: its files are installed only when signed")
        if self.usage_drop and not self.org_salt:
            raise ValueError("usage_drop needs org_salt: shared usage carries a pseudonym, never a name")
        check_location("channel", self.channel)
        check_location("usage_drop", self.usage_drop)
        return self


class UsageTargets(_Strict):
    """The specification's Phase 2 KPIs, which the report shows the usage against."""

    active_users: int = Field(default=10, ge=0)
    conversations: int = Field(default=500, ge=0)
    satisfaction: float = Field(default=4.0, ge=1, le=5)


class UsageConfig(_Strict):
    """Chat databases (or JSONL exports and usage drops) the quarter's run ingests; glob patterns allowed."""

    databases: list[str] = Field(default_factory=list)
    targets: UsageTargets = Field(default_factory=UsageTargets)


class PublishConfig(_Strict):
    """Where the quarter's published settings go for the chat users: a folder or an http(s) URL (WebDAV PUT)."""

    to: str | None = None  # set: `run` publishes after recommend
    authorization_env: str | None = None  # an environment variable whose value is sent as Authorization on PUT

    @model_validator(mode="after")
    def _where(self) -> PublishConfig:
        check_location("to", self.to)
        return self


class RunConfig(_Strict):
    """What `llamune-eval run` sweeps: models x presets x suites x items x repeats."""

    models: list[str] = Field(default_factory=list)  # empty: every model the engines list
    presets: list[str] = Field(default_factory=lambda: ["balanced", "fast", "creative"])
    suites: list[str] = Field(default_factory=list)  # empty: every suite found
    repeats: int = Field(default=1, ge=1, le=100)
    seed: int = 0
    limit: int = Field(default=0, ge=0)  # items per suite; 0 = all
    suites_dir: Path = Path("suites")
    concurrency: int | None = Field(default=None, ge=1)  # default: the endpoints' own caps
    quarter: str | None = Field(default=None, pattern=QUARTER_PATTERN)  # default: the quarter after today's
    template: Literal["llamune", "llm-jp-eval"] = "llamune"  # JGLUE prompt templates (README: Prompt templates)


class JudgeConfig(_Strict):
    """The judge stage: which models judge, how, and on what scale (`run` judges too when models are set)."""

    models: list[str] = Field(default_factory=list)
    mode: Literal["auto", "single", "reference", "pairwise"] = "auto"
    scale: Literal["auto", 5, 10] = "auto"  # auto: 1-5 for items with an eval aspect (ELYZA style), else 1-10
    rejudge_fraction: float = Field(default=0.1, ge=0, le=1)  # share judged twice, for repeat variance
    # the judge samples every verdict at this temperature, each with its own seed: a re-judgement is an independent
    # draw, so the repeat variance measures the verdicts' noise (0: deterministic, the variance is 0 by construction)
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=400, ge=16)
    human_ratings: Path | None = None  # CSV: sample_key,rating (1-5), imported as the rater "csv:<file name>"
    # a judged suite counts in the decision only when its judge agrees with people: Kendall tau-b's lower bound
    # (at 1 - [recommend] alpha) above min_agreement, on at least min_rated answers (README: "Judging")
    require_checked: bool = True
    min_agreement: float = Field(default=0.2, ge=-1, lt=1)
    min_rated: int = Field(default=30, ge=3)


class RecommendConfig(_Strict):
    """How the quarter's settings are chosen: tiers, the decision rule and the weights of its score (README:
    "The decision rule")."""

    tiers: list[int] = Field(default_factory=lambda: [16, 32, 64])  # GB of memory
    headroom: float = Field(default=0.75, gt=0, le=1)  # share of a tier's memory the models may use
    max_models: int = Field(default=3, ge=1, le=10)
    # memory not measured by an engine: the KV cache's element type for the GGUF estimate (Ollama's
    # OLLAMA_KV_CACHE_TYPE), and the factor on the file's size when not even the file's header can be read
    kv_cache_type: Literal["f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"] = "f16"
    size_factor: float = Field(default=1.2, ge=1)
    # concurrentLimit: models may run together while the main model's TTFT and tokens/s stay within this factor of
    # running alone (measured by the contention check after the decision)
    max_slowdown: float = Field(default=1.15, gt=1)
    model_sizes: dict[str, int] = Field(default_factory=dict)  # bytes, for models no engine lists now
    signing_key: Path | None = None  # Ed25519 private key (PEM) to sign the file
    # the decision rule: the incumbent stays unless a challenger is better by a test or by the margin
    alpha: float = Field(default=ALPHA, gt=0, lt=1)  # family-wise error rate of the tests (Holm)
    margin: float = Field(default=0.05, ge=0, le=1)  # quality lead (0-1) that replaces with enough items
    min_items: int = Field(default=100, ge=1)  # items per counted suite before a quarter may be published
    # the score, in points of benchmark quality (0-1): usage signals count from their neutral 0.5
    rating_weight: float = Field(default=0.2, ge=0)  # users' thumbs up share
    success_weight: float = Field(default=0.2, ge=0)  # success rate on the organisation's task mix
    retry_weight: float = Field(default=0.1, ge=0)  # /retry preference (Bradley-Terry)
    memory_weight: float = Field(default=0.03, ge=0)  # share of the tier's memory left free
    latency_per_doubling: float = Field(default=0.03, ge=0)  # cost of each doubling of the median latency

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "kv_bytes_per_param_token" in data:
                raise ValueError(
                    "kv_bytes_per_param_token is gone: memory is measured by the engines, else estimated from "
                    "the GGUF header (README: Memory); kv_cache_type and size_factor tune the estimates"
                )
            for old in ("quality_weight", "latency_weight"):
                if old in data:
                    raise ValueError(
                        f"{old} is gone: the score is now in points of quality, with "
                        "latency_per_doubling and the usage weights (README: The decision rule)"
                    )
        return data


class ModelOptions(_Strict):
    """Per-model options, keyed by the model's name as its engine lists it (`[models."deepseek-r1:7b"]`)."""

    thinking_budget: int = Field(default=0, ge=0, le=131072)  # tokens a reasoning model may think, beside the cap
    think: bool | Literal["low", "medium", "high"] | None = None  # Ollama's `think`; None: the server's default
    gguf: Path | None = None  # the model's file, when a server holds it: its header gives the memory estimate


class MeasureConfig(_Strict):
    """The measure stage: each configuration's memory and its speed, timed under the same conditions."""

    enabled: bool = True
    probes: int = Field(default=3, ge=1, le=50)  # fixed prompts timed per configuration (and per contention step)
    max_tokens: int = Field(default=32, ge=8, le=1024)  # answer length of a timed request


class SuiteConfig(_Strict):
    """A suite's source: a directory or file in the upstream format, a suite.yaml, or `hf:<id>[:<config>]`."""

    kind: Literal["jcommonsenseqa", "jnli", "jsts", "jsquad", "inhouse"] | None = None
    source: str
    shots: int | None = Field(default=None, ge=0, le=20)
    template: Literal["llamune", "llm-jp-eval"] | None = None  # default: [run] template


class Config(_Strict):
    engines: list[EngineConfig] = Field(default_factory=list)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    paths: PathsConfig = Field(default_factory=PathsConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    suites: dict[str, SuiteConfig] = Field(default_factory=dict)
    models: dict[str, ModelOptions] = Field(default_factory=dict)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    recommend: RecommendConfig = Field(default_factory=RecommendConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)
    usage: UsageConfig = Field(default_factory=UsageConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    presets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: Path | None = Field(default=None, exclude=True)


def _set(tree: dict[str, Any], dotted: list[str], value: Any) -> None:
    node = tree
    for key in dotted[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override: {'.'.join(dotted)} is not a table")
        node = child
    node[dotted[-1]] = value


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare word is a string


def env_overrides(env: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    for name, raw in sorted(env.items()):
        if name.startswith("LLAMUNE_") and "__" in name:
            path = [p.lower() for p in name.removeprefix("LLAMUNE_").split("__")]
            _set(data, path, _parse_env_value(raw))
    kind = env.get("LLAMUNE_ENGINE")
    if kind:
        url = env.get("LLAMUNE_ENGINE_URL")
        data["engines"] = [{"kind": kind, **({"url": url} if url else {})}]
    return data


def _describe(exc: ValidationError, where: str) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) if str(p).isprintable() else repr(p) for p in first["loc"]) or "(top level)"
    got = first.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    more = f"; {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else ""
    return f"{where}: {key}: {first['msg']}{shown}{more}"


def load(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the config: explicit path, else `$LLAMUNE_CONFIG`, else `./llamune.toml`, else defaults."""
    env = dict(os.environ) if env is None else env
    explicit = path or (Path(env["LLAMUNE_CONFIG"]) if env.get("LLAMUNE_CONFIG") else None)
    candidate = explicit or Path(CONFIG_NAME)
    data: dict[str, Any] = {}
    source: Path | None = None
    if candidate.is_file():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{candidate}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{candidate}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
        except OSError as exc:
            raise ConfigError(f"{candidate}: {exc.strerror}") from exc
        source = candidate
    elif explicit is not None:
        raise ConfigError(f"{explicit}: no such config file")
    data = env_overrides(env, data)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(source or "environment"))) from exc
    cfg.source = source
    return cfg
