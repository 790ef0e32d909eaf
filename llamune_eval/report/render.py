"""The report as one self-contained HTML file: CSS, script, data and SVG charts inline, a Content-Security-Policy
that forbids every request (and any script but our own, by hash), and Jinja's autoescape for all text."""

from __future__ import annotations

import base64
import functools
import hashlib
import math
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup

from llamune_eval.analysis.memory import GIB, tier_budget
from llamune_eval.report import charts
from llamune_eval.report.browser import truncated

ASSETS = Path(__file__).with_name("assets")
TEXT_LIMIT = 4000  # characters of one prompt or answer shown in the HTML; report.json keeps them whole
SECTIONS = (
    ("summary", "概要"),
    ("leaderboard", "リーダーボード"),
    ("speed", "品質と速度"),
    ("heatmap", "ヒートマップ"),
    ("judge", "ジャッジ"),
    ("validation", "ジャッジの検証"),
    ("usage", "利用状況"),
    ("history", "四半期推移"),
    ("samples", "サンプル閲覧"),
)


def _missing(value: Any) -> bool:
    """None or NaN. An undefined value is not a missing figure but a key the data does not have: raised, with
    its name, as StrictUndefined raises it everywhere else."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return value is None or (isinstance(value, float) and math.isnan(value))


def _dash(value: Any) -> Any:
    """Every `{{ value }}` goes through this: a value the data does not have prints as "-", never as "None"."""
    return "-" if value is None else value


def _num(value: Any, digits: int = 3) -> str:
    return "-" if _missing(value) else f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "-" if _missing(value) else f"{100 * value:.1f}%"


def _gb(value: Any) -> str:
    return "-" if _missing(value) else f"{value / 1024**3:.2f} GB"


def _pval(value: Any) -> str:
    if _missing(value):
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _int(value: Any) -> str:
    return "-" if _missing(value) else f"{int(value):,}"


def _ci_bar(ci: list[float | None], value_range: list[float]) -> Markup:
    """A small interval bar on the range the benchmark gives its headline (`Task.value_range`)."""
    lo_range, hi_range = value_range
    low, high = ci
    if low is None or high is None:
        return Markup("")

    def at(v: float) -> float:
        return max(0.0, min(100.0, (v - lo_range) / (hi_range - lo_range) * 100))

    return Markup(f'<span class="ci"><span style="left:{at(low):.1f}%;width:{at(high) - at(low):.1f}%"></span></span>')


def safe_json(value: Any) -> Markup:
    """JSON that cannot end its <script> element or open a comment: <, >, & and line separators escaped."""
    text = orjson.dumps(value).decode()
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(raw, f"\\u{ord(raw):04x}")
    return Markup(text)


def _charts(data: dict[str, Any], headroom: float, tiers: list[int]) -> dict[str, Markup]:
    models = sorted({c["model"] for c in data["configs"]})
    memory = [
        (f"{m['model']} @{m['numCtx']}", m["needBytes"] / 1024**3, (m["sizeBytes"] or 0) / 1024**3)
        for m in data["memory"]
        if m["needBytes"]
    ]
    marks = [(f"{gb} GB", tier_budget(gb, headroom) / GIB) for gb in tiers]  # what fits: analysis.memory.fits
    history = data["history"]
    validation = (data.get("judge") or {}).get("validation") or {}
    points = validation.get("points", [])
    suites = sorted({p["suite"] for p in points})
    return {
        "agreement": charts.agreement(points, suites),
        "residuals": charts.residuals(points, suites),
        "tps": charts.scatter(data["configs"], "tokensPerS", "tokens/s", "paretoTokensPerS", models),
        "ttft": charts.scatter(data["configs"], "ttftS", "TTFT 秒", "paretoTtft", models),
        "memory": charts.bars(memory, "GB", marks),
        "trend": charts.lines(history["quarters"], history["trend"]) if history["previous"] else Markup(""),
    }


ORIGINS = {"real": "実データ", "sample": "サンプル（手書き）", "in-house": "社内スイート", "custom": "独自の設定",
           "unknown": "記録なし"}  # fmt: skip


TEMPLATE_OPTIONS: dict[str, Any] = {"autoescape": True, "trim_blocks": True, "finalize": _dash}


@functools.cache
def _assets() -> tuple[Any, str, str]:
    """The template compiled once per process, and loaded from the bytecode cache when an earlier process compiled
    it; with its stylesheet and script. StrictUndefined: a key the data does not have is an error, not a blank."""
    import jinja2

    from llamune_eval.report.bytecode import bytecode_cache

    named = {k: getattr(v, "__qualname__", v) for k, v in TEMPLATE_OPTIONS.items()}
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ASSETS),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=bytecode_cache(repr(sorted(named.items()))),
        **TEMPLATE_OPTIONS,
    )
    env.filters |= {"num": _num, "pct": _pct, "gb": _gb, "pval": _pval, "int_": _int}
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2"), css, (ASSETS / "report.js").read_text(encoding="utf-8")


def render_html(
    data: dict[str, Any], *, headroom: float = 0.75, tiers: list[int] | None = None, text_limit: int = TEXT_LIMIT
) -> str:
    """The report page for `collect`'s data (every key present: the template reads them strictly)."""
    template, css, js = _assets()
    script_hash = "sha256-" + base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    effects = {(m["model"], c["preset"], c["suite"]): c for m in data["presetEffect"] for c in m["cells"]}
    sources = {x["suite"]: x for x in data["data"]}
    html: str = template.render(
        d=data,
        sections=SECTIONS,
        css=Markup(css),
        js=Markup(js),
        script_hash=script_hash,
        browser_json=safe_json(truncated(data["browser"], text_limit) if text_limit else data["browser"]),
        charts=_charts(data, headroom, tiers or [16, 32, 64]),
        headroom=headroom,
        alpha=data["alpha"],  # the marks' level; difference intervals are at 1 - alpha
        level=f"{1 - data['alpha']:.0%}",
        text_limit=text_limit,
        heat=charts.heat,
        ci_bar=_ci_bar,
        origin_ja=lambda origin: ORIGINS.get(origin, origin),
        effect=lambda m, preset, suite: effects.get((m["model"], preset, suite)),
        source=sources.get,
    )
    return html


def to_json(data: Any) -> str:
    """The report's data as JSON text; orjson writes NaN and infinity as null (JSON has neither)."""
    return orjson.dumps(data, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()


def write_schema(folder: Path) -> Path:
    """`schema.json` (report.json's JSON Schema, `document.json_schema`) in the reports folder, written atomically."""
    from llamune_eval import jsonio
    from llamune_eval.report.document import json_schema

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "schema.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(jsonio.dumps(json_schema(), indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def write(folder: Path, data: dict[str, Any], html: str | None) -> list[Path]:
    """report.json always (the next quarter's trend reads it), index.html when rendered; each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    payload = to_json(data)
    for name, text in (("report.json", payload), ("index.html", html)):
        if text is None:
            continue
        path = folder / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
