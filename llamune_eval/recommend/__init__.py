"""The quarter's decision: which models each hardware tier runs, in what order, with which parameters, and why."""

from llamune_eval.recommend.publish import PublishedError, decide_and_publish, json_schema, publish, seal
from llamune_eval.recommend.quarterly import build

__all__ = ["PublishedError", "build", "decide_and_publish", "json_schema", "publish", "seal"]
