"""The run pipeline: plan the sweep, skip what the store already has, generate, score, store, summarise."""

from llamune_eval.runner.execute import RunStats, execute
from llamune_eval.runner.leaderboard import LeaderboardRow, leaderboard
from llamune_eval.runner.plan import Unit, build_plan, sample_key

__all__ = ["LeaderboardRow", "RunStats", "Unit", "build_plan", "execute", "leaderboard", "sample_key"]
