"""The evidence: one typed view of the stored samples (selection, per-benchmark values, intervals, paired tests,
quality, speed, memory, power) that `results`, `compare`, `recommend` and the report all read."""

from llamune_eval.analysis.evidence import ConfigStat, Evidence, SuiteStat
from llamune_eval.analysis.leaderboard import LeaderboardRow, leaderboard
from llamune_eval.analysis.pairs import (
    SuiteComparison,
    compare_configs,
    latency_test,
    quality_difference,
    significant,
)

__all__ = [
    "ConfigStat",
    "Evidence",
    "LeaderboardRow",
    "SuiteComparison",
    "SuiteStat",
    "compare_configs",
    "latency_test",
    "leaderboard",
    "quality_difference",
    "significant",
]
