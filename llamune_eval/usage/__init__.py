"""Usage of the chat runtime, in DuckDB: ingest from chat databases (or JSONL exports) and the UsageMetrics."""

from llamune_eval.usage.ingest import IngestResult, ingest
from llamune_eval.usage.metrics import usage_metrics

__all__ = ["IngestResult", "ingest", "usage_metrics"]
