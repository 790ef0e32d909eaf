"""The run pipeline: plan the sweep, skip what the store already has, generate, score, store; judge the answers.

Import the modules themselves (`runner.plan`, `runner.execute`, ...): this init imports nothing, so reaching one
stage does not load every engine and benchmark. The leaderboard and comparisons live in `llamune_eval.analysis`."""
