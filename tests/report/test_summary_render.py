"""The report rendered under StrictUndefined for every shape its data takes: a published settings file with full
evidence, an older preview with most evidence keys missing, no settings file, an altered one, no judge and no
usage. Each page is read for its figures, model names and Japanese labels."""

from __future__ import annotations

import copy
import html as html_text
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest

from fixtures.synth import synthesize
from llamune_eval.config import Config
from llamune_eval.recommend.shapes import PublishedSettings
from llamune_eval.report import collect, render_html
from llamune_eval.report.render import _assets
from llamune_eval.report.summary import summary_section
from llamune_eval.store.results import Store
from tests.report import _settings

QUARTER = "2026-Q4"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("summary")
    cfg = Config.model_validate({"paths": {"store": str(tmp / "s.duckdb"), "reports": str(tmp / "reports"),
                                           "recommended": str(tmp / "none")}})  # fmt: skip
    synthesize(cfg.paths.store, 1200)
    with Store(cfg.paths.store) as store:
        return collect(store, cfg, QUARTER)


def _page(data: dict[str, Any], folder: Path, **changes: Any) -> tuple[dict[str, Any], str]:
    """The report with the summary read from `folder` (as `collect` reads it) and other sections replaced."""
    mine = copy.deepcopy(data) | {"summary": summary_section(folder, QUARTER)} | changes
    return mine["summary"], render_html(mine)


def _text(html: str, section: str) -> str:
    """One section's text, the markup between cells reduced to `|` (a row reads as one line), entities decoded."""
    found = re.search(rf'<section class="panel" id="{section}">(.*?)</section>', html, re.S)
    assert found is not None
    return html_text.unescape(re.sub(r"\s*(<[^>]+>\s*)+", "|", found.group(1)))


def test_the_template_reads_strictly() -> None:
    """A mistyped key is an error, not a blank; a None prints as "-"."""
    template = _assets()[0]
    env = template.environment
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError, match="valeu"):
        env.from_string("{{ row.valeu }}").render(row={"value": 0.5})
    with pytest.raises(jinja2.UndefinedError, match="valeu"):  # a filter does not swallow it either
        env.from_string("{{ row.valeu | num }}").render(row={"value": 0.5})
    assert env.from_string("{{ row.value }}/{{ row.value | num }}").render(row={"value": None}) == "-/-"
    assert env.from_string("{{ row.value | num(2) }}").render(row={"value": 0.5}) == "0.50"


def test_full_evidence(data: dict[str, Any], tmp_path: Path) -> None:
    settings = _settings.full()
    PublishedSettings.model_validate(settings)  # the shape `recommend` publishes, not a guess at it
    _settings.write(tmp_path, settings, f"{QUARTER}.json")
    summary, html = _page(data, tmp_path)
    assert summary["error"] is None and summary["signed"] is True and summary["tiers"][0]["evidence"]["main"]
    text = _text(html, "summary")
    assert "α=0.05" in text and "倍になるごとに 0.03" in text and "各スイート 100 問以上" in text
    assert "（business-writing は対象外：採点待ち）" in text and "対象スイート：jnli、jsts" in text
    assert "、署名あり" in text and "実行順：qwen2.5:7b → gemma2:9b（同時実行 2）" in text
    assert "|1|qwen2.5:7b|main|balanced|temperature=0.7, top_p=0.9, max_tokens=1024|" in text
    assert "|判定|交代：挑戦者が有意に優位|現行|llama3.1:8b:balanced（2026-Q3）|挑戦者|qwen2.5:7b:balanced|" in text
    assert ("qwen2.5:7b:balanced：品質 0.712、総合点 0.846、応答時間の中央値 1.23 秒（モデル全体 1.50 秒）、"
            "品質と速度のパレート最適") in text  # fmt: skip
    assert "パレート最適|qwen2.5:7b:balanced、gemma2:9b:fast|" in text
    assert "gemma2:9b:fast：メインの誤答 25 問の 40.0% に正答" in text
    assert "qwen2.5:7b 6.00 GB、gemma2:9b 7.00 GB（使える量 12.00 GB）" in text
    assert "検定（qwen2.5:7b:balanced 対 llama3.1:8b:balanced、Holm 補正）" in text
    assert "|jnli 品質|mcnemar|300|0.062|[0.021, 0.103]|<0.001|<0.001|qwen2.5:7b:balanced|" in text
    assert "|応答時間|sign-flip|300|0.100|-|0.200|-|参考：速度は総合点にだけ効く|" in text
    assert "品質の差 0.062（95% 区間 0.021〜0.103）、基準 0.05、設問数は十分（必要：jnli 1,234）" in text
    assert "|qwen2.5:7b:balanced|0.712|+0.020|+0.031|-0.004|+0.012|-0.015|0.846|" in text
    assert "|gemma2:9b:fast|0.690|+0.000|+0.000|+0.000|+0.000|+0.000|0.700|" in text  # parts it lacks: 0
    assert "候補外：llama3.1:70b:balanced（needs 40.0 GB, over 12.0 GB）" in text
    assert "|jnli|0.810|[0.750, 0.860]|300|1,234|" in text
    assert "判定に使った利用データ（2026-Q3、1,500 件）" in text
    assert "|qwen2.5:7b|900|80|10|0.889|0.944|0.610|" in text
    assert "|qwen2.5:7b|coding → precise|" in text
    assert (
        "前四半期（2026-Q3）からの変更|16GB: llama3.1:8b → qwen2.5:7b|新規モデル：qwen2.5:7b|廃止モデル：なし|" in text
    )
    assert "性能：品質 +6.2pt" in text and "プレビュー" not in text


def test_old_partial_evidence(data: dict[str, Any], tmp_path: Path) -> None:
    """Keys an older release did not write show as "-" or leave their block out; nothing raises."""
    _settings.write(tmp_path, _settings.old(), f"{QUARTER}.preview.json")
    summary, html = _page(data, tmp_path)
    assert summary["preview"] is True and summary["usageEvidence"] is None and summary["bestPresets"] == {}
    assert summary["tiers"][1]["evidence"]["main"] is None and summary["rule"]["quality_weight"] == 1.0
    text = _text(html, "summary")
    assert (
        "プレビュー：この設定は llamune に適用されません。証拠不足（jnli 40 問。公開には各スイート 50 問以上）。"
        in text
    )
    assert "α=0.1" in text and "倍になるごとに -。" in text and "、署名あり" not in text
    assert "|1|mixtral:8x7b|main|-|temperature=0.7" in text  # no preset in the file
    assert text.count("|判定|") == 1  # the 32 GB tier has no evidence: its settings only
    assert "|判定|-：-|現行|なし（-）|挑戦者|-|" in text
    assert "llama3.1:8b:balanced：品質 0.650、総合点 -、応答時間の中央値 2.00 秒（モデル全体 - 秒）|" in text
    assert "|パレート最適|-|" in text and "（使える量 -）" in text and "クロスチェック" not in text
    assert "|検定（" not in text and "品質の差" not in text and "候補外" not in text
    assert "判定に使った利用データ" not in text and "最良プリセット" not in text
    assert "前四半期（-）からの変更|新規モデル：なし|廃止モデル：なし|性能：品質 +3pt、速度 10%向上|" in text


def test_no_settings_file_and_an_altered_one(data: dict[str, Any], tmp_path: Path) -> None:
    summary, html = _page(data, tmp_path / "missing")
    assert summary["tiers"] == [] and summary["rule"]["alpha"] is None
    expected = f"{tmp_path / 'missing' / QUARTER}.json がありません（`llamune-eval recommend --quarter {QUARTER}`）"
    assert f"推奨設定はまだありません：{expected}" in _text(html, "summary")
    path = _settings.write(tmp_path, _settings.full(), f"{QUARTER}.json")
    path.write_text(path.read_text(encoding="utf-8").replace("0.7123", "0.9123"), encoding="utf-8")
    summary, html = _page(data, tmp_path)
    assert summary["error"] == f"{path}: digest does not match the content (altered or truncated); refused"
    assert "altered or truncated" in _text(html, "summary") and "0.912" not in html


def test_judge_and_usage_present_or_not(data: dict[str, Any], tmp_path: Path) -> None:
    figures = data["judge"]["figures"]
    assert data["usage"] is None  # synthetic: no chat usage
    _, html = _page(data, tmp_path)
    judge = _text(html, "judge")
    assert "ジャッジ：judge-x" in judge and f"|判定数|{figures['judgements']:,}|保存された判定|" in judge
    assert "利用データがありません" in _text(html, "usage")
    row = next(r for s in data["leaderboard"] for r in s["rows"] if r["vsBest"]["worse"])
    assert f"▼ {row['vsBest']['diff']:.3f}（p=" in _text(html, "leaderboard")
    _, html = _page(data, tmp_path, judge=None)
    assert "ジャッジによる採点はまだありません" in _text(html, "judge") and "判定数" not in html
