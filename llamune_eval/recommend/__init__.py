"""The quarter's decision: which models each hardware tier runs, in what order, with which parameters."""

from llamune_eval.recommend.quarterly import build, json_schema, seal, write

__all__ = ["build", "json_schema", "seal", "write"]
