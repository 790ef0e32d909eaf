"""Benchmark suites: JGLUE (JCommonsenseQA, JNLI, JSTS), JSQuAD, and in-house suites, one file per kind; each
kind owns its scoring and its evidence rules (`_rules`)."""

from llamune_eval.benchmarks._rules import Headline, Observed, PairedTest
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError, Task
from llamune_eval.benchmarks.registry import UNAVAILABLE, SuiteRef, discover, load_all, select, task_for

__all__ = [
    "UNAVAILABLE",
    "Headline",
    "Item",
    "Observed",
    "PairedTest",
    "SampleScore",
    "Suite",
    "SuiteError",
    "SuiteRef",
    "Task",
    "discover",
    "load_all",
    "select",
    "task_for",
]
