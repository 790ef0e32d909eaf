"""The run pipeline: plan the sweep, skip what the store already has, generate, score, store; the quarter's stages.

The leaderboard and comparisons read the stored evidence and live in `llamune_eval.analysis`."""

from llamune_eval.runner.execute import RunStats, execute
from llamune_eval.runner.plan import Unit, build_plan, sample_key

__all__ = ["RunStats", "Unit", "build_plan", "execute", "sample_key"]
