"""The Pareto front and 0-1 scaling, once: the decision's main-configuration choice and the report's quality/speed
charts draw the same front."""

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


def scale(value: float, low: float, high: float, *, when_equal: float) -> float:
    """`value` min-max scaled to 0..1 between `low` and `high` (`when_equal` when they coincide)."""
    return (value - low) / (high - low) if high > low else when_equal
