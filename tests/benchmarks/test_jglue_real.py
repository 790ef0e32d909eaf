"""The four JGLUE tasks on the real JGLUE v1.3 validation data and the real engine: both scoring profiles stored
for every sample, and the strict JSQuAD F1 equal to an independent implementation of JGLUE's definition."""

from __future__ import annotations

import json
import statistics
import unicodedata
from pathlib import Path

import pytest

from llamune_eval.analysis import Evidence
from llamune_eval.config import Config
from llamune_eval.runner.sweep import Sweep, sweep
from llamune_eval.store.selection import scores_of, suite_facts

ROOT = Path(__file__).resolve().parents[2]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
pytestmark = pytest.mark.skipif(not JGLUE.is_dir(), reason="the shared JGLUE data is not beside the project")


def jglue_f1(prediction: str, gold: str) -> float:
    """JGLUE's JSQuAD character F1, written again from its definition (NFKC, lower-case, whitespace removed,
    trailing 「。」 stripped; multiset character overlap), sharing no code with llamune_eval."""

    def norm(text: str) -> list[str]:
        chars = [c for c in unicodedata.normalize("NFKC", text).lower() if not c.isspace()]
        while chars and chars[-1] == "。":
            chars.pop()
        return chars

    pred, ref = norm(prediction), norm(gold)
    if not pred or not ref:
        return float(pred == ref)
    pool, common = list(ref), 0
    for ch in pred:
        if ch in pool:
            pool.remove(ch)
            common += 1
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.strip().splitlines() if line.strip()), "")


async def test_all_four_tasks_on_real_jglue_store_both_profiles(tmp_path: Path, smollm2_path: Path) -> None:
    cfg = Config.model_validate({
        "engines": [{"kind": "embedded", "models": [{"name": "smol", "path": str(smollm2_path)}], "parallel": 4,
                     "ctx_per_slot": 2048}],
        "paths": {"store": str(tmp_path / "r.duckdb"), "data": str(tmp_path / "no-data")},
        "run": {"suites_dir": str(tmp_path / "none"), "presets": ["fast"]},
        "suites": {name: {"source": str(JGLUE / name)} for name in ("jcommonsenseqa", "jnli", "jsts", "jsquad")},
    })  # fmt: skip
    outcome = await sweep(cfg, Sweep(limit=1))
    with outcome.store as store:
        rows = store.samples()
        assert len(rows) == 4 and all(r.status == "ok" for r in rows)
        scores = scores_of(store, [r.key for r in rows])
        for r in rows:  # every sample carries both profiles
            assert any(k.startswith("lenient.") for k in scores[r.key]), r.suite
            assert "lenient.parse_ok" in scores[r.key]
        squad = [r for r in rows if r.suite == "jsquad"]
        assert len(squad) == 1
        for r in squad:
            answer = first_line(json.loads(r.output)[-1])
            expected = max(jglue_f1(answer, g) for g in json.loads(r.reference))
            assert scores[r.key]["f1"] == pytest.approx(expected, abs=1e-9)
        ev = Evidence.load(store, keys=outcome.keys)
        stat = ev.configs[("smol", "fast")].suites["jsquad"]
        mean = statistics.fmean(max(jglue_f1(first_line(json.loads(r.output)[-1]), g)
                                    for g in json.loads(r.reference)) for r in squad)  # fmt: skip
        assert stat.value == pytest.approx(mean, abs=1e-9)
        assert stat.lenient is not None and stat.lenient >= stat.value - 1e-12  # lenient never reads lower here
        facts = suite_facts(store)
        # configured sources, recognised by their published sha256 as the real JGLUE v1.3 files
        assert {name: (f.data["origin"], f.data["dataset"]) for name, f in facts.items()} == {
            "jcommonsenseqa": ("real", "JCommonsenseQA (JGLUE) v1.3"), "jnli": ("real", "JNLI (JGLUE) v1.3"),
            "jsts": ("real", "JSTS (JGLUE) v1.3"), "jsquad": ("real", "JSQuAD (JGLUE) v1.3")}  # fmt: skip


FIXED = [  # stored-answer shapes seen from real models, against real JSQuAD golds
    ("「東京」", ["東京"]), ("答え：東京都", ["東京都", "東京"]), ("IPhone\n説明", ["iPhone"]),
    ("１９４５年。", ["1945年"]), ("  ", ["東京"]), ("徳川 家康", ["徳川家康"]), ("ｶﾀｶﾅ", ["カタカナ"]),
    ("小笠原諸島の父島", ["小笠原諸島", "父島"]),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "golds"), FIXED)
def test_strict_jsquad_f1_equals_the_independent_definition(answer: str, golds: list[str]) -> None:
    from llamune_eval.benchmarks import Item
    from llamune_eval.benchmarks.jsquad import JSQuAD

    score = JSQuAD().score(Item(id="q", turns=["…"], reference=golds), [answer])
    assert score.values["f1"] == pytest.approx(max(jglue_f1(first_line(answer), g) for g in golds), abs=1e-9)
