"""Stands in for xllamacpp while a test not marked `engine` runs (tests/conftest.py puts this folder first on
PYTHONPATH): an embedded engine child started by such a test, in process or through the CLI, fails at once."""

raise ImportError("llama.cpp was started by a test not marked engine: mark it (see tests/conftest.py)")
