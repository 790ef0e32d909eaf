"""The house rules of design/architecture.md, read from the code: which package may import which, and no import
cycles, module or package, imports inside functions included (only `if TYPE_CHECKING:` imports are left out)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "llamune_eval"

# Lowest first. A package may import its own modules and any package of a lower layer, never a peer or above.
LAYERS: list[set[str]] = [
    {"types", "records", "jsonio", "aio", "egress", "categories", "lean_httpx"},  # leaves
    {"settings_evidence", "quarters"},  # the settings file's evidence shape; the quarter arithmetic
    {"config", "settings", "presets"},  # configuration and the shapes the specification gives
    {"store", "scoring", "engines", "data", "channel"},  # services
    {"benchmarks", "rating"},  # suites: items, prompts, a benchmark's scoring rules; people's ratings of answers
    {"analysis", "usage"},  # evidence
    {"runner", "recommend", "report"},  # stages
    {"quarter"},  # the quarter pipeline: the stages in order
    {"ui", "frames", "line_editor"},  # the terminal (and its line editor); the notebook API (DataFrames)
    {"failure", "listing", "lines"},  # what both front ends share: the one-line errors, the models listing,
    # reading a person's lines
    {"cli", "chat"},  # the two front ends, apart
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    return module.split(".")[1]


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every `llamune_eval` module the file imports, with its line; `if TYPE_CHECKING:` blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    me = _module(path)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("llamune_eval."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = me.split(".")[: len(me.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.startswith("llamune_eval"):
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    yield (candidate if _exists(candidate) else base), node.lineno


def _exists(module: str) -> bool:
    path = ROOT.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        edges = graph.setdefault(_module(path), {})
        for target, line in _imports(path):
            if target != "llamune_eval" and _exists(target):
                edges.setdefault(target, line)
    return graph


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for m in _graph() if m.count(".")}
    assert packages <= set(LAYER), sorted(packages - set(LAYER))


def test_no_package_imports_a_peer_or_one_above_it() -> None:
    wrong = []
    for module, edges in _graph().items():
        if not module.count("."):
            continue
        mine = _package(module)
        for target, line in edges.items():
            theirs = _package(target)
            if theirs != mine and LAYER.get(theirs, -1) >= LAYER.get(mine, -1):
                wrong.append(f"{module.replace('.', '/')}.py:{line} imports {target}")
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules_or_packages() -> None:
    graph = _graph()
    modules = {m: {t for t in edges if t != m and not m.startswith(f"{t}.")} for m, edges in graph.items()}
    packages: dict[str, set[str]] = {}
    for module, targets in modules.items():
        if module.count("."):
            packages.setdefault(_package(module), set()).update(
                _package(t) for t in targets if t.count(".") and _package(t) != _package(module)
            )
    assert (_cycles(modules), _cycles(packages)) == ([], [])


def test_the_rules_read_real_imports() -> None:
    """The walk sees lazy imports and leaves TYPE_CHECKING ones out (a test of the test)."""
    graph = _graph()
    assert "llamune_eval.engines" in graph["llamune_eval.chat.session_cmd"]  # imported inside run_chat
    assert "llamune_eval.store.results" in graph["llamune_eval.runner.execute"]
