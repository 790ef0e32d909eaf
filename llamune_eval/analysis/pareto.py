"""The Pareto front, once. Each caller brings its own axes: the decision weighs merit against the model's median
latency, the report's charts quality against a configuration's tokens/s and TTFT."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
Axes = tuple[float | None, float | None]


def front(points: Sequence[T], axes: Callable[[T], Axes]) -> list[T]:
    """The points no other point beats on both axes (higher is better on both: negate a cost). A point missing an
    axis is never on the front."""
    known = [(p, a) for p in points if None not in (a := axes(p))]

    def beats(o: Axes, c: Axes) -> bool:
        (ox, oy), (cx, cy) = o, c
        assert ox is not None and oy is not None and cx is not None and cy is not None
        return ox >= cx and oy >= cy and (ox > cx or oy > cy)

    return [p for p, a in known if not any(beats(o, a) for _, o in known)]
