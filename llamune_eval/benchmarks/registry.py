"""Which suites exist: the four JGLUE-style benchmarks, in-house suites found in the suites folder, and the
configured ones; MARC-ja is named as unavailable rather than left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llamune_eval.benchmarks import inhouse, jcommonsenseqa, jnli, jsquad, jsts
from llamune_eval.benchmarks._suite import Suite, SuiteError, Task
from llamune_eval.config import Config

JGLUE: dict[str, tuple[Callable[[str, int], Suite], int]] = {
    "jcommonsenseqa": (jcommonsenseqa.load, 3),
    "jnli": (jnli.load, 3),
    "jsts": (jsts.load, 3),
    "jsquad": (jsquad.load, 0),
}
TASKS: dict[str, Task] = {
    "jcommonsenseqa": jcommonsenseqa.JCommonsenseQA(),
    "jnli": jnli.JNLI(),
    "jsts": jsts.JSTS(),
    "jsquad": jsquad.JSQuAD(),
    "inhouse": inhouse.InHouse(),
}
UNAVAILABLE = {
    "marc-ja": "MARC-ja (JGLUE) is no longer distributed upstream: Amazon withdrew the source reviews, so no data "
    "exists to run it.",
}


@dataclass(frozen=True)
class SuiteRef:
    name: str
    kind: str
    source: str
    shots: int | None = None

    def load(self) -> Suite:
        if self.kind == "inhouse":
            suite = inhouse.load(self.source)
            return suite if suite.name == self.name else suite.model_copy(update={"name": self.name})
        loader, default_shots = JGLUE[self.kind]
        suite = loader(self.source, self.shots if self.shots is not None else default_shots)
        return suite if suite.name == self.name else suite.model_copy(update={"name": self.name})


def discover(cfg: Config) -> list[SuiteRef]:
    """Suites in `run.suites_dir` (JGLUE folders by name, in-house `*/suite.yaml`), then `[suites.*]` entries."""
    refs: dict[str, SuiteRef] = {}
    base = cfg.run.suites_dir
    if base.is_dir():
        for name in JGLUE:
            if (base / name).is_dir():
                refs[name] = SuiteRef(name, name, str(base / name))
        for spec in sorted(base.glob("*/suite.y*ml")):
            refs[spec.parent.name] = SuiteRef(spec.parent.name, "inhouse", str(spec))
    for name, sc in cfg.suites.items():
        kind = sc.kind or (name if name in JGLUE else "inhouse")
        refs[name] = SuiteRef(name, kind, sc.source, sc.shots)
    return list(refs.values())


def select(cfg: Config, names: list[str] | None = None) -> list[SuiteRef]:
    """The suites to run: `names` (or `run.suites`), all found when empty; unknown names are an error."""
    refs = {r.name: r for r in discover(cfg)}
    wanted = names or cfg.run.suites
    if not wanted:
        return list(refs.values())
    out = []
    for name in wanted:
        if name in UNAVAILABLE:
            raise SuiteError(UNAVAILABLE[name])
        if name not in refs:
            raise SuiteError(f"unknown suite {name!r}; known: {', '.join(refs) or 'none'} (see `llamune-eval suites`)")
        out.append(refs[name])
    return out


def load_all(refs: list[SuiteRef]) -> list[Suite]:
    return [ref.load() for ref in refs]


def task_for(kind: str) -> Task:
    """The rules of a stored sample's benchmark kind (unknown kinds are read as in-house suites)."""
    return TASKS.get(kind, TASKS["inhouse"])
