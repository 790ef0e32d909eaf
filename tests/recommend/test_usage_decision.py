"""Usage reaches the decision: with benchmarks that do not separate two models, the one users rate far higher wins
the tier, first quarter or against an incumbent, and the evidence says why."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.chat.db import Answer, ChatDB
from llamune_eval.config import Config
from llamune_eval.recommend import build, publish
from llamune_eval.usage import ingest
from tests.recommend._store import MODELS, fill, listed

SAME = MODELS["A"]  # both models right on the same 80% of the items, equally fast


def _chat_db(path: Path, ratings: dict[str, int], n: int = 30) -> Path:
    """A chat database written by the runtime's own storage: `n` answers per model, each rated as given."""
    db = ChatDB(path)
    for model, rating in ratings.items():
        sid = db.create_session(model)
        for turn in range(1, n + 1):
            db.add_message(sid, turn, "user", f"質問 {turn}")
            mid = db.add_message(sid, turn, "assistant", "回答", model=model, preset="settings")
            db.record_usage(sid, mid, "main", Answer(model=model, preset="settings", latency_s=1.0,
                                                     category="business-writing"))  # fmt: skip
            db.rate(mid, rating, None)
    db.close()
    return path


def test_users_rating_decides_what_benchmarks_cannot(tmp_path: Path) -> None:
    cfg = Config()
    out = tmp_path / "recommended"
    chat = _chat_db(tmp_path / "chat.sqlite", {"A": -1, "B": 1})
    with fill(tmp_path / "r.duckdb", {"A": SAME, "B": SAME}) as store:
        before = build(store, cfg, "2027-Q1", listed(), out)
        assert before["tiers"][0]["executionOrder"][0] == "A"  # no usage yet: a tie, broken by name
        ingest(store, [chat])
        data = build(store, cfg, "2027-Q1", listed(), out)
    ev = next(t for t in data["evidence"]["tiers"] if t["memoryGB"] == 16)
    assert data["tiers"][0]["executionOrder"][0] == "B" and ev["main"]["config"] == "B:general"
    by = {c["config"]: c for c in ev["candidates"]}
    assert by["B:general"]["components"]["rating"] > 0.9 > 0.1 > by["A:general"]["components"]["rating"]
    assert by["A:general"]["quality"] == by["B:general"]["quality"] == 0.8
    gap = by["B:general"]["score"] - by["A:general"]["score"]
    assert abs(gap - cfg.recommend.rating_weight * (31 / 32 - 1 / 32)) < 1e-9  # (up + 1) / (up + down + 2)
    for c in by.values():  # the evidence shows each part's contribution, and they add up to the score
        assert abs(sum(c["contributions"].values()) - c["score"]) < 1e-12
    assert abs(by["B:general"]["contributions"]["rating"] - cfg.recommend.rating_weight * (31 / 32 - 0.5)) < 1e-12
    usage = data["evidence"]["usage"]
    assert usage["period"] == "all" or usage["period"].startswith("20")
    assert usage["models"]["B"]["up"] == 30 and usage["models"]["A"]["down"] == 30


def test_users_rating_replaces_an_incumbent_and_the_evidence_says_why(tmp_path: Path) -> None:
    cfg = Config()
    out = tmp_path / "recommended"
    with fill(tmp_path / "old.duckdb", {"A": SAME}) as store:
        publish(out, build(store, cfg, "2026-Q4", listed(), out), None)
    chat = _chat_db(tmp_path / "chat.sqlite", {"A": -1, "B": 1})
    with fill(tmp_path / "r.duckdb", {"A": SAME, "B": SAME}) as store:
        ingest(store, [chat])
        data = build(store, cfg, "2027-Q1", listed(), out)
    ev = next(t for t in data["evidence"]["tiers"] if t["memoryGB"] == 16)["decision"]
    assert (ev["incumbent"], ev["challenger"], ev["outcome"]) == ("A:general", "B:general", "replaced")
    tests = {t["name"]: t for t in ev["tests"]}
    assert tests["jnli"]["pHolm"] == 1.0 and tests["jnli"]["favours"] is None  # benchmarks do not separate them
    assert tests["usage:rating"]["favours"] == "B:general" and tests["usage:rating"]["pHolm"] < 1e-6
    assert tests["usage:rating"]["test"] == "Fisher exact" and tests["latency"]["inFamily"] is False
    assert "usage:rating" in ev["reason"] and ev["reason"].startswith("B:general に交代")
    assert any(c.startswith("16GB: メイン A:general → B:general") for c in data["update"]["changes"])
