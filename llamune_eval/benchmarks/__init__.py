"""Benchmark suites: JGLUE (JCommonsenseQA, JNLI, JSTS), JSQuAD, and in-house suites, one file per kind."""

from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError, Task
from llamune_eval.benchmarks.registry import UNAVAILABLE, SuiteRef, discover, load_all, select

__all__ = [
    "UNAVAILABLE",
    "Item",
    "SampleScore",
    "Suite",
    "SuiteError",
    "SuiteRef",
    "Task",
    "discover",
    "load_all",
    "select",
]
