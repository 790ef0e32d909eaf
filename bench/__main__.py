"""Run every benchmark, or those named: `python -m bench engine`."""

from __future__ import annotations

import sys

from bench import (
    channel_overhead,
    chat_overhead,
    engine_overhead,
    fast_path,
    judge_check,
    judge_overhead,
    large_items,
    measure_cost,
    ollama_overhead,
    racing,
    recommend_decide,
    report_render,
    runner_overhead,
    scoring_profiles,
    short_requests,
    usage_overhead,
)

BENCHES = {
    "engine": engine_overhead.main,
    "ollama": ollama_overhead.main,
    "fast": fast_path.main,
    "short": short_requests.main,
    "runner": runner_overhead.main,
    "judge": judge_overhead.main,
    "judgecheck": judge_check.main,
    "chat": chat_overhead.main,
    "channel": channel_overhead.main,
    "usage": usage_overhead.main,
    "report": report_render.main,
    "recommend": recommend_decide.main,
    "racing": racing.main,
    "scoring": scoring_profiles.main,
    "large": large_items.main,
    "measure": measure_cost.main,
}


def main(argv: list[str]) -> None:
    names = argv or list(BENCHES)
    for name in names:
        if name not in BENCHES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        BENCHES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
