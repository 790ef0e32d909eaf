"""`llamune.toml` loading: defaults, environment overrides, and one clear error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamune_eval.config import ConfigError, load


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "llamune.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load(env={})
    assert cfg.engines == [] and cfg.timeouts.read == 120 and cfg.retry.attempts == 3
    assert cfg.source is None


def test_full_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        [[engines]]
        kind = "ollama"
        urls = ["http://10.0.0.5:11434", "http://10.0.0.6:11434"]
        max_concurrency = 2

        [[engines]]
        kind = "embedded"
        models = ["smollm2:135m", { name = "mine", path = "/models/mine.gguf" }]
        parallel = 2

        [timeouts]
        connect = 2
        read = 30
        total = 300

        [network]
        allow_hosts = ["gpu-box.internal"]
        """,
    )
    cfg = load(path, env={})
    assert cfg.engines[0].endpoint_urls() == ["http://10.0.0.5:11434", "http://10.0.0.6:11434"]
    assert cfg.engines[1].models[1].name == "mine"  # type: ignore[union-attr]
    assert (cfg.timeouts.connect, cfg.timeouts.read, cfg.timeouts.total) == (2, 30, 300)
    assert cfg.source == path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[[engines]]\nkind = "olama"\n', "engines.0.kind"),
        ("[timeouts]\nread = -1\n", "timeouts.read"),
        ("[timeouts]\nreed = 3\n", "timeouts.reed"),
        ('[[engines]]\nkind = "openai"\n', "needs url"),
        ("[network\n", "llamune.toml"),
        ('[[engines]]\nkind = "embedded"\nurl = "http://x"\n', "remove url"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(_write(tmp_path, text), env={})
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_environment_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, "[timeouts]\nread = 30\n")
    env = {"LLAMUNE_TIMEOUTS__READ": "5.5", "LLAMUNE_RETRY__ATTEMPTS": "7", "LLAMUNE_ENGINE": "openai",
           "LLAMUNE_ENGINE_URL": "http://127.0.0.1:8080"}  # fmt: skip
    cfg = load(path, env=env)
    assert cfg.timeouts.read == 5.5 and cfg.retry.attempts == 7
    assert cfg.engines[0].kind == "openai" and cfg.engines[0].url == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError, match=r"retry\.attempts"):
        load(path, env={"LLAMUNE_RETRY__ATTEMPTS": "many"})


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "absent.toml", env={})
