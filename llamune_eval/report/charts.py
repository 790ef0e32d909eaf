"""Charts drawn as inline SVG on the server: they need no script and no library, print well, and every label
passes through `escape`, so a model name cannot inject markup."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563")
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 380, 56, 150, 16, 44


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def heat(unit: float | None) -> str:
    """Background for a 0..1 value: red (poor) through yellow to green (good); grey when missing."""
    if unit is None:
        return "#e5e7eb"
    hue = 120 * max(0.0, min(1.0, unit))
    return f"hsl({hue:.0f}, 70%, {88 - 18 * abs(unit - 0.5):.0f}%)"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}" if abs(v) >= 1 else f"{v:.2f}"


def _frame(
    x_lo: float, x_hi: float, y_lo: float, y_hi: float, x_label: str, y_label: str, x_ticks: bool = True
) -> list[str]:
    parts = [
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" height="{H - PAD_T - PAD_B}" '
        'fill="#fff" stroke="#cbd5e1"/>'
    ]
    for t in _ticks(x_lo, x_hi) if x_ticks else []:
        x = _sx(t, x_lo, x_hi)
        parts.append(
            f'<line x1="{x:.1f}" y1="{H - PAD_B}" x2="{x:.1f}" y2="{H - PAD_B + 4}" stroke="#64748b"/>'
            f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{_fmt(t)}</text>'
        )
    for t in _ticks(y_lo, y_hi):
        y = _sy(t, y_lo, y_hi)
        parts.append(
            f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" stroke="#f1f5f9"/>'
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>'
        )
    parts.append(f'<text x="{(PAD_L + W - PAD_R) / 2}" y="{H - 8}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(
        f'<text transform="translate(14 {(PAD_T + H - PAD_B) / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    return parts


def _sx(v: float, lo: float, hi: float) -> float:
    return PAD_L + (v - lo) / (hi - lo or 1) * (W - PAD_L - PAD_R)


def _sy(v: float, lo: float, hi: float) -> float:
    return H - PAD_B - (v - lo) / (hi - lo or 1) * (H - PAD_T - PAD_B)


def _span(values: Sequence[float], floor_zero: bool = True) -> tuple[float, float]:
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    lo = min(0.0, lo) if floor_zero else lo
    pad = (hi - lo) * 0.08 or 0.1
    return lo, hi + pad


def scatter(points: list[dict[str, Any]], x: str, x_label: str, front_flag: str, models: list[str]) -> Markup:
    """Quality (y) against a speed figure (x), one colour per model, the Pareto front as a dashed line."""
    ok = [p for p in points if p.get(x) is not None and p.get("quality") is not None]
    if not ok:
        return Markup('<p class="muted">速度か品質のデータがありません。</p>')
    x_lo, x_hi = _span([p[x] for p in ok])
    y_lo, y_hi = 0.0, max(1.0, max(p["quality"] for p in ok))
    parts = _frame(x_lo, x_hi, y_lo, y_hi, x_label, "品質（スイート平均, 0–1）")
    front = sorted((p for p in ok if p.get(front_flag)), key=lambda p: p[x])
    if len(front) > 1:
        path = " ".join(f"{_sx(p[x], x_lo, x_hi):.1f},{_sy(p['quality'], y_lo, y_hi):.1f}" for p in front)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0f172a" stroke-dasharray="5 4"/>')
    for p in ok:
        cx, cy = _sx(p[x], x_lo, x_hi), _sy(p["quality"], y_lo, y_hi)
        c = colour(models.index(p["model"]) if p["model"] in models else 0)
        ring = ' stroke="#0f172a" stroke-width="2"' if p.get(front_flag) else ' stroke="#fff"'
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{c}"{ring}><title>{escape(p["label"])}: '
            f"品質 {p['quality']:.3f}, {escape(x_label)} {p[x]:.3g}</title></circle>"
            f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" class="pt">{escape(p["preset"])}</text>'
        )
    parts += _legend(models)
    return _svg(parts, f"品質と{x_label}")


def _legend(names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        y = PAD_T + 8 + i * 18
        out.append(
            f'<rect x="{W - PAD_R + 10}" y="{y - 8}" width="10" height="10" fill="{colour(i)}"/>'
            f'<text x="{W - PAD_R + 24}" y="{y + 1}">{escape(name)}</text>'
        )
    return out


def _svg(parts: list[str], title: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def bars(rows: list[tuple[str, float, float | None]], unit_label: str, marks: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars (label, value, secondary value drawn lighter underneath), with vertical reference marks."""
    if not rows:
        return Markup('<p class="muted">データがありません。</p>')
    hi = max([v for _, v, _ in rows] + [m for _, m in marks if m <= max(v for _, v, _ in rows) * 4] + [1e-9]) * 1.1
    height = 30 + 26 * len(rows)
    left, right = 190, W - 40
    parts = []
    for label, at in marks:
        if at <= hi:
            x = left + at / hi * (right - left)
            parts.append(
                f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{height - 18}" stroke="#94a3b8" '
                f'stroke-dasharray="3 3"/><text x="{x:.1f}" y="{height - 4}" text-anchor="middle" '
                f'class="pt">{escape(label)}</text>'
            )
    for i, (label, value, under) in enumerate(rows):
        y = 10 + i * 26
        if under is not None:
            parts.append(
                f'<rect x="{left}" y="{y}" width="{under / hi * (right - left):.1f}" height="18" fill="#bfdbfe"/>'
            )
        parts.append(
            f'<rect x="{left}" y="{y + 5}" width="{value / hi * (right - left):.1f}" height="8" '
            f'fill="{colour(i)}"/><text x="{left - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<text x="{left + value / hi * (right - left) + 6:.1f}" y="{y + 13}">'
            f"{value:.2f} {escape(unit_label)}</text>"
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="メモリ" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def lines(quarters: list[str], series: dict[str, list[float | None]]) -> Markup:
    """One line per model over the quarters (gaps where a model was not evaluated)."""
    values = [v for s in series.values() for v in s if v is not None]
    if not values or not quarters:
        return Markup('<p class="muted">比較できる四半期がありません。</p>')
    y_lo, y_hi = 0.0, max(1.0, max(values))
    n = len(quarters)
    parts = _frame(0, max(n - 1, 1), y_lo, y_hi, "四半期", "品質（共通スイート平均）", x_ticks=False)
    for i, q in enumerate(quarters):
        x = _sx(i, 0, max(n - 1, 1))
        parts.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" text-anchor="middle">{escape(q)}</text>')
    names = list(series)
    for k, name in enumerate(names):
        pts = [(i, v) for i, v in enumerate(series[name]) if v is not None]
        coords = [f"{_sx(i, 0, max(n - 1, 1)):.1f},{_sy(v, y_lo, y_hi):.1f}" for i, v in pts]
        if len(coords) > 1:
            parts.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="{colour(k)}" stroke-width="2"/>')
        for (i, v), xy in zip(pts, coords, strict=True):
            cx, cy = xy.split(",")
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="4" fill="{colour(k)}"><title>{escape(name)} '
                f"{escape(quarters[i])}: {v:.3f}</title></circle>"
            )
    parts += _legend(names)
    return _svg(parts, "四半期ごとの品質")


def _cloud(
    points: list[dict[str, Any]],
    suites: list[str],
    axes: tuple[str, str, str, str],  # x key, y key, x label, y label
    spans: tuple[tuple[float, float], tuple[float, float]],
    guide: tuple[tuple[float, float], tuple[float, float]],  # a dashed line between two points of the data
    tip: Callable[[dict[str, Any]], str],
    title: str,
) -> Markup:
    """One dot per point, coloured by its suite, with a dashed guide line."""
    (x_lo, x_hi), (y_lo, y_hi) = spans
    parts = _frame(x_lo, x_hi, y_lo, y_hi, axes[2], axes[3])
    (ax, ay), (bx, by) = guide
    parts.append(f'<line x1="{_sx(ax, x_lo, x_hi):.1f}" y1="{_sy(ay, y_lo, y_hi):.1f}" x2="{_sx(bx, x_lo, x_hi):.1f}" '
                 f'y2="{_sy(by, y_lo, y_hi):.1f}" stroke="#94a3b8" stroke-dasharray="4 4"/>')  # fmt: skip
    for p in points:
        c = colour(suites.index(p["suite"]) if p["suite"] in suites else 0)
        parts.append(
            f'<circle cx="{_sx(p[axes[0]], x_lo, x_hi):.1f}" cy="{_sy(p[axes[1]], y_lo, y_hi):.1f}" r="4" '
            f'fill="{c}" fill-opacity="0.7"><title>{escape(tip(p))}</title></circle>'
        )
    parts += _legend(suites)
    return _svg(parts, title)


def agreement(points: list[dict[str, Any]], suites: list[str]) -> Markup:
    """The judge (y) against people (x) per rated answer, both on 0..1 of the scale, one colour per suite, with
    the diagonal where they agree."""
    if not points:
        return Markup('<p class="muted">人手評価とジャッジの両方がある回答はまだありません。</p>')
    axes = ("people", "judge", "人手評価（尺度比 0–1）", "ジャッジ（尺度比 0–1）")

    def tip(p: dict[str, Any]) -> str:
        return f"{p['suite']}: 人 {p['people']:.2f}, ジャッジ {p['judge']:.2f}"

    return _cloud(points, suites, axes, ((0, 1), (0, 1)), ((0, 0), (1, 1)), tip, "ジャッジと人手評価")


def residuals(points: list[dict[str, Any]], suites: list[str]) -> Markup:
    """The judge's residual (judge - people, 0..1 of the scale) against the answer's length: a rising cloud is a
    judge that rewards length more than people do."""
    if not points:
        return Markup("")
    x_lo, x_hi = _span([p["chars"] for p in points])
    axes = ("chars", "residual", "回答の長さ（文字）", "ジャッジ − 人（尺度比）")

    def tip(p: dict[str, Any]) -> str:
        return f"{p['suite']}: {p['chars']} 文字, 差 {p['residual']:+.2f}"

    return _cloud(
        points, suites, axes, ((x_lo, x_hi), (-1, 1)), ((x_lo, 0), (x_hi, 0)), tip, "ジャッジの差と回答の長さ"
    )
