"""Which suites exist: the four JGLUE-style benchmarks, in-house suites found in the suites folder, and the
configured ones; MARC-ja is named as unavailable rather than left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llamune_eval.benchmarks import inhouse, jcommonsenseqa, jnli, jsquad, jsts
from llamune_eval.benchmarks._suite import Suite, SuiteError, Task
from llamune_eval.benchmarks._templates import Template
from llamune_eval.config import Config

JGLUE: dict[str, Callable[[str, int | None, Template], Suite]] = {
    "jcommonsenseqa": jcommonsenseqa.load,
    "jnli": jnli.load,
    "jsts": jsts.load,
    "jsquad": jsquad.load,
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
    template: Template = "llamune"
    origin: str = "custom"  # sample (shipped), in-house, real (imported) or custom (configured): see `provenance`

    def load(self) -> Suite:
        if self.kind == "inhouse":
            suite = inhouse.load(self.source)
        else:
            suite = JGLUE[self.kind](self.source, self.shots, self.template)
        return suite.model_copy(update={"name": self.name, "data": provenance(suite, self.origin)})


def provenance(suite: Suite, origin: str) -> dict[str, str]:
    """Where a suite's items come from: a JGLUE file whose sha256 is the published one is the real dataset, wherever
    it sits (imported, configured, or copied into suites/); otherwise the origin its location gives."""
    from llamune_eval.data import recognise

    found = recognise(suite.kind, suite.source)
    if found is None:
        return {"origin": "sample" if origin == "real" else origin}
    dataset, digest = found
    return {
        "origin": "real",
        "dataset": f"{dataset.title} {dataset.version}",
        "digest": digest,
        "licence": dataset.licence,
    }


def discover(cfg: Config) -> list[SuiteRef]:
    """Suites in `run.suites_dir` (JGLUE folders by name, in-house `*/suite.yaml`), then `[suites.*]` entries."""
    from llamune_eval.data import CATALOG, data_dir, installed

    refs: dict[str, SuiteRef] = {}
    base = cfg.run.suites_dir
    template = cfg.run.template
    if base.is_dir():
        for name in JGLUE:
            if (base / name).is_dir():
                refs[name] = SuiteRef(name, name, str(base / name), template=template, origin="sample")
        for spec in sorted(base.glob("*/suite.y*ml")):
            refs[spec.parent.name] = SuiteRef(spec.parent.name, "inhouse", str(spec), origin="in-house")
    root = data_dir(cfg)
    for name in installed(root):  # imported real data replaces the samples of the same name
        dataset = CATALOG[name]
        source = root / name if dataset.kind != "inhouse" else root / name / dataset.scored
        refs[name] = SuiteRef(name, dataset.kind, str(source), template=template, origin="real")
    for name, sc in cfg.suites.items():
        kind = sc.kind or (name if name in JGLUE else "inhouse")
        refs[name] = SuiteRef(name, kind, sc.source, sc.shots, sc.template or template)
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
