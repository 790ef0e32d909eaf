"""The two prompt template sets: ours, and llm-jp-eval's published layout and shot count (checked on the real
JGLUE data), selectable per suite; the template version keys samples so the two never mix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamune_eval.benchmarks import discover, jcommonsenseqa, jnli, jsquad, jsts
from llamune_eval.benchmarks._templates import LLMJP_PREAMBLE
from llamune_eval.config import load

ROOT = Path(__file__).resolve().parents[2]
JGLUE = ROOT.parent / "shared" / "data" / "jglue"
pytestmark = pytest.mark.skipif(not JGLUE.is_dir(), reason="the shared JGLUE data is not beside the project")


def _blocks(prompt: str) -> list[tuple[str, str]]:
    """(input, answer) pairs of an llm-jp-eval prompt, the item's own last with an empty answer."""
    out = []
    for part in prompt.split("### 入力:\n")[1:]:
        given, _, answer = part.partition("\n### 応答:\n")
        out.append((given, answer.strip()))
    return out


def test_llm_jp_eval_layout_on_real_jcommonsenseqa() -> None:
    suite = jcommonsenseqa.load(str(JGLUE / "jcommonsenseqa"), template="llm-jp-eval")
    train = [json.loads(line) for line in (JGLUE / "jcommonsenseqa" / "train.jsonl").read_text().splitlines()[:4]]
    assert suite.template_version == "llmjp-jcqa-1-4shot" and suite.system is None and suite.few_shot == []
    assert len(suite.items) == 1119
    prompt = suite.items[0].turns[0]
    assert prompt.startswith(LLMJP_PREAMBLE + "\n\n### 指示:\n") and prompt.endswith("### 応答:\n")
    blocks = _blocks(prompt)
    assert [answer for _, answer in blocks] == [str(r["label"]) for r in train] + [""]
    first = train[0]
    assert blocks[0][0] == f"質問：{first['question']}\n選択肢：" + ",".join(f"{i}.{first[f'choice{i}']}"
                                                                          for i in range(5))  # fmt: skip
    assert [m.role for m in suite.messages(suite.items[0])] == ["user"]  # one message, no system prompt


@pytest.mark.parametrize(("module", "name", "version", "items"), [
    (jnli, "jnli", "llmjp-jnli-1-4shot", 2434 - 4),  # no train split here: 4 held apart from valid, not scored
    (jsts, "jsts", "llmjp-jsts-1-4shot", 1457),
    (jsquad, "jsquad", "llmjp-jsquad-1-4shot", 4442 - 4),
])  # fmt: skip
def test_llm_jp_eval_shot_count_on_real_data(module: object, name: str, version: str, items: int) -> None:
    suite = module.load(str(JGLUE / name), template="llm-jp-eval")  # type: ignore[attr-defined]
    assert suite.template_version == version and len(suite.items) == items
    assert len(_blocks(suite.items[0].turns[0])) == 5


def test_our_template_keeps_its_versions() -> None:
    """Ours is the default and its versions are unchanged, so stored quarters stay current."""
    versions = {
        n: m.load(str(ROOT / "suites" / n)).template_version  # type: ignore[attr-defined]
        for n, m in (("jcommonsenseqa", jcommonsenseqa), ("jnli", jnli), ("jsts", jsts), ("jsquad", jsquad))
    }
    assert versions == {"jcommonsenseqa": "jcqa-1-3shot", "jnli": "jnli-1-3shot", "jsts": "jsts-1-3shot",
                        "jsquad": "jsquad-1-0shot"}  # fmt: skip


def test_template_is_chosen_per_run_and_per_suite(tmp_path: Path) -> None:
    env = {"LLAMUNE_RUN__SUITES_DIR": f'"{ROOT / "suites"}"', "LLAMUNE_RUN__TEMPLATE": '"llm-jp-eval"',
           "LLAMUNE_SUITES__JSTS__SOURCE": f'"{JGLUE / "jsts"}"', "LLAMUNE_SUITES__JSTS__TEMPLATE": '"llamune"',
           "LLAMUNE_PATHS__DATA": f'"{tmp_path}"'}  # fmt: skip
    refs = {r.name: r.load() for r in discover(load(env=env))}
    assert refs["jnli"].template == "llm-jp-eval" and refs["jnli"].template_version.startswith("llmjp-")
    assert refs["jsts"].template == "llamune" and refs["jsts"].template_version == "jsts-1-3shot"
