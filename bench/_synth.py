"""A results store filled with synthetic but realistically shaped samples, for the report benchmark and for report
tests that need more than a real engine can produce in a test's time (tens of thousands of samples, a previous
quarter, outputs carrying markup). Written through the store's own journal, as a run would write it."""

from __future__ import annotations

import json
import random
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from llamune_eval.store.results import SampleRecord, Store

SUITES = (  # name, kind, category, share of items
    ("jcommonsenseqa", "jcommonsenseqa", "commonsense", 0.25),
    ("jnli", "jnli", "nli", 0.2),
    ("jsts", "jsts", "similarity", 0.15),
    ("jsquad", "jsquad", "reading", 0.2),
    ("business-writing", "inhouse", "business-writing", 0.1),
    ("extraction", "inhouse", "extraction", 0.1),
)
PRESETS = {"balanced": 0.7, "fast": 0.0, "creative": 1.2}
WRITING = "拝啓 時下ますますご清栄のこととお慶び申し上げます。さて、先日ご依頼いただきました件につきまして、"


def _answer(kind: str, rng: random.Random, right: bool) -> tuple[str, dict[str, float], str]:
    if kind == "jcommonsenseqa":
        return str(rng.randint(0, 4)), {"correct": float(right)}, "選択肢"
    if kind == "jnli":
        return rng.choice(["entailment", "contradiction", "neutral"]), {"correct": float(right)}, "ラベル"
    if kind == "jsts":
        gold = round(rng.uniform(0, 5), 1)
        pred = round(min(5.0, max(0.0, gold + rng.gauss(0, 0.6 if right else 1.8))), 1)
        return f"{pred}", {"pred": pred, "gold": gold}, str(pred)
    if kind == "jsquad":
        f1 = 1.0 if right else rng.choice([0.0, 0.4])
        return "東京都千代田区" if right else "大阪", {"em": float(f1 == 1.0), "f1": f1}, "抽出"
    text = WRITING * rng.randint(2, 6)
    return text, {} if kind == "inhouse" and rng.random() < 0.5 else {"pass": float(right)}, ""


def synthesize(path: Path, samples: int, *, models: int = 4, seed: int = 0, when: datetime | None = None,
               extra_outputs: dict[int, str] | None = None, skill_shift: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """`samples` samples over `models` models x 3 presets x 6 suites; returns what was written."""
    rng = random.Random(seed)
    names = [f"model-{chr(97 + i)}:{1 + i}b" for i in range(models)]
    configs = [(m, p) for m in names for p in PRESETS]
    per_config = max(1, samples // len(configs))
    created = when or datetime(2026, 11, 1)
    store = Store(path)
    run_id = f"synth{seed}"
    facts = {
        m: {
            "name": m,
            "engine": "embedded",
            "endpoint": "",
            "size_bytes": (1 + i) * 700_000_000,
            "parameter_count": (1 + i) * 1_000_000_000,
            "quantization": "Q4_K_M",
        }
        for i, m in enumerate(names)
    }
    store.begin_run(run_id, {}, [], {"models": names, "presets": list(PRESETS), "model_facts": facts},
                    per_config * len(configs), 0)  # fmt: skip
    writer = store.writer()
    judgements = store.judgement_writer()
    count = 0
    extra = extra_outputs or {}
    for ci, (model, preset) in enumerate(configs):
        skill = 0.45 + 0.1 * names.index(model) - (0.08 if preset == "creative" else 0) + skill_shift
        for n in range(per_config):
            suite, kind, category = _pick(n, per_config)
            item = f"{n}"
            item_rng = random.Random(zlib.crc32(f"{suite}/{item}/{seed}".encode()))  # same items every process
            right = item_rng.random() < skill + rng.uniform(-0.1, 0.1)
            text, scores, parsed = _answer(kind, rng, right)
            if count in extra:
                text = extra[count]
            judge = kind == "inhouse" and not scores
            key = f"{seed}-{ci}-{suite}-{n}"
            row = {
                "key": key, "run_id": run_id, "suite": suite, "suite_version": "1", "template_version": "t1",
                "kind": kind, "category": category, "item_id": item, "model": model, "model_digest": f"d{model}",
                "engine": "embedded", "endpoint": "http://127.0.0.1:1", "preset": preset,
                "params": json.dumps({"temperature": PRESETS[preset], "max_tokens": 256, "num_ctx": 4096}),
                "repeat": 0, "seed": 0, "prompt": json.dumps([f"{suite} の設問 {n}：次の文を読んで答えてください。"
                                                            + "文脈" * item_rng.randint(20, 120)], ensure_ascii=False),
                "output": json.dumps([text], ensure_ascii=False), "reference": json.dumps("正解例"),
                "finish_reason": "stop", "prompt_tokens": 200, "completion_tokens": max(1, len(text) // 2),
                "ttft_s": 0.05 * (1 + names.index(model)) * rng.uniform(0.8, 1.2),
                "latency_s": 0.5 * (1 + names.index(model)) * rng.uniform(0.8, 1.2),
                "tokens_per_s": 80 / (1 + names.index(model)) * rng.uniform(0.9, 1.1), "attempts": 1,
                "status": "ok" if rng.random() > 0.002 else "error", "parsed": parsed, "parse_ok": True,
                "pending_judge": judge, "created_at": created + timedelta(seconds=count),
            }  # fmt: skip
            if row["status"] == "error":
                row |= {"error_kind": "timeout", "error": "read timed out after 120 s"}
            writer.put(SampleRecord(row, scores))
            if judge:
                store_judgement(judgements, key, row, right, created, count)
            count += 1
    judgements.file.close()
    writer.close()  # moves both journals into DuckDB
    store.end_run(run_id, "finished")
    store.close()
    return {"samples": count, "models": names, "presets": list(PRESETS)}


def _pick(n: int, total: int) -> tuple[str, str, str]:
    edge = 0.0
    for name, kind, category, share in SUITES:
        edge += share
        if n < edge * total:
            return name, kind, category
    return SUITES[-1][:3]


def store_judgement(writer: Any, key: str, row: dict[str, Any], right: bool, created: datetime, n: int) -> None:
    overall = 8.0 if right else 3.0
    writer.put_row({"key": f"j-{key}", "run_id": "synth-judge", "mode": "single", "suite": row["suite"],
                    "item_id": row["item_id"], "repeat": 0, "sample_key": key, "model": row["model"],
                    "preset": row["preset"], "position": "", "judge_model": "judge-x", "judge_family": "x",
                    "model_family": "y", "template_version": "judge-1", "scale": 10, "trial": 0, "raw": "[[8]]",
                    "ok": True, "overall": overall, "criteria": "{}", "answer_chars": 100, "latency_s": 0.2,
                    "created_at": created + timedelta(seconds=n)})  # fmt: skip
