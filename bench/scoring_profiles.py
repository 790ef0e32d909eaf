"""Scoring both profiles, and carrying the real data in, on the full JGLUE v1.3 validation data.

1. Scoring: every one of the 9,452 validation items (JCommonsenseQA, JNLI, JSTS, JSQuAD) answered in four
   shapes real models produce (the bare label, a sentence around it, a prefixed answer, a wrong answer), scored
   under both profiles (what a run does per sample). Baseline, measured in the same run: one profile scored the
   way the code did before profiles existed (one reader, one SampleScore; JSQuAD's exact match and F1 as two
   passes). Goal: both profiles under 2x one.
2. Data: `data pull --from` the shared files, `data pack`, `data import` (every file hashed twice and checked).
   Baseline: extracting the same bundle with `tarfile`, unchecked. Goal: import under 3x the bare extraction.

Needs `../shared/data/jglue/` beside the project (skips otherwise).
"""

from __future__ import annotations

import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jglue"


def _answers(kind: str, item: Any) -> list[str]:
    if kind == "jcommonsenseqa":
        right = str(item.reference)
        return [right, f"答えは{right}です。", f"答え：{right}", str((item.reference + 1) % 5)]
    if kind == "jnli":
        return [item.reference, f"{item.reference}（理由つき）", "矛盾しない", "neutral"]
    if kind == "jsts":
        return [f"{item.reference:.1f}", f"類似度は{item.reference:.1f}です", "5点中3点", "わかりません"]
    gold = item.reference[0]
    return [gold, f"「{gold}」", f"答え：{gold}です", "不明"]


def _best(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def scoring() -> None:
    from llamune_eval.benchmarks import SampleScore, jcommonsenseqa, jnli, jsquad, jsts
    from llamune_eval.scoring.metrics import char_f1, exact_match, lenient_normalize
    from llamune_eval.scoring.parse import first_line

    loaders = {"jcommonsenseqa": jcommonsenseqa, "jnli": jnli, "jsts": jsts, "jsquad": jsquad}
    work = []
    for kind, module in loaders.items():
        suite = module.load(str(SHARED / kind))
        work += [(suite.task, kind, item, _answers(kind, item)) for item in suite.items]

    def label(value: object, reference: object) -> SampleScore:
        return SampleScore(values={"correct": float(value == reference)}, parse_ok=value is not None)

    def span(answer: str, golds: list[str]) -> SampleScore:
        return SampleScore(values={"em": exact_match(answer, golds, lenient_normalize),
                                   "f1": char_f1(answer, golds, lenient_normalize)}, parsed=answer)  # fmt: skip

    lenient_only = {
        "jcommonsenseqa": lambda item, a: label(jcommonsenseqa.lenient_index(a, item.meta["choices"]), item.reference),
        "jnli": lambda item, a: label(jnli.lenient_label(a), item.reference),
        "jsts": lambda item, a: SampleScore(values={"pred": jsts.lenient_number(a) or 0.0, "gold": item.reference}),
        "jsquad": lambda item, a: span(first_line(a), item.reference),
    }

    def both() -> None:
        for task, _, item, answers in work:
            for a in answers:
                task.score(item, [a]).stored()

    def one() -> None:
        for _, kind, item, answers in work:
            for a in answers:
                lenient_only[kind](item, a)

    n = sum(len(w[3]) for w in work)
    baseline, ours = _best(one), _best(both)
    print(f"scoring {len(work):,} JGLUE v1.3 validation items x 4 answer shapes ({n:,} answers)")
    print(f"  baseline (one profile, as before):         {baseline:.2f} s  ({n / baseline:,.0f} answers/s)")
    print(f"  both profiles, stored values:              {ours:.2f} s  ({n / ours:,.0f} answers/s)  ratio "
          f"{ours / baseline:.2f}  goal < 2.0: {'met' if ours / baseline < 2.0 else 'MISSED'}")  # fmt: skip


def data() -> None:
    from llamune_eval.data import expand, import_bundle, pack, pull

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pulled = _best(lambda: pull(expand(["jglue"]), root / "connected", mirror=SHARED), 1)
        bundle = root / "jglue.tar.gz"
        packed = _best(lambda: pack(root / "connected", [], bundle), 1)

        def bare() -> None:
            with tarfile.open(bundle, "r:gz") as tar:
                tar.extractall(root / "bare", filter="data")

        baseline = _best(bare)
        ours = _best(lambda: import_bundle(root / "closed", bundle))
        size = bundle.stat().st_size
    print(f"JGLUE v1.3 bundle ({size / 1e6:.1f} MB): pull --from {pulled:.2f} s, pack {packed:.2f} s")
    print(f"  baseline (tarfile extract, unchecked):     {baseline:.2f} s")
    print(f"  data import (hashed and checked twice):    {ours:.2f} s  ratio {ours / baseline:.2f}  goal < 3.0: "
          f"{'met' if ours / baseline < 3.0 else 'MISSED'}")  # fmt: skip


def main() -> None:
    if not SHARED.is_dir():
        print(f"scoring: skipped ({SHARED} not found)")
        return
    scoring()
    data()


if __name__ == "__main__":
    main()
