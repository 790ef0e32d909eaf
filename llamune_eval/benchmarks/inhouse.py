"""In-house suites: a YAML suite file pointing at items in JSON Lines or YAML, or a bare items file.

Items are single-turn (`input`) or multi-turn (`turns`), with an optional `reference` and `eval_aspect`.
ELYZA-tasks-100 (`input`, `output`, `eval_aspect`) and Japanese MT-Bench (`question_id`, `category`, `turns`)
load as they are. Deterministic scorers: exact, regex, contains, choice, json, json_schema; `judge` items wait
for the judge stage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llamune_eval.benchmarks._rules import MeanRules, Observed
from llamune_eval.benchmarks._sources import HF_PREFIX, data_version, load_hf, read_jsonl, read_yaml, require
from llamune_eval.benchmarks._suite import Item, SampleScore, Suite, SuiteError
from llamune_eval.categories import CATEGORIES
from llamune_eval.scoring.metrics import normalize
from llamune_eval.scoring.parse import first_line

SCORERS = ("exact", "regex", "contains", "choice", "json", "json_schema", "judge")
SUITE_KEYS = {
    "name",
    "version",
    "category",
    "description",
    "scoring",
    "default_preset",
    "items",
    "system",
    "max_tokens",
}
# the type each optional field must have (a suite file is hand-written: `max_tokens: lots` must be one clear line)
SPEC_TYPES: dict[str, tuple[type, ...]] = {"name": (str,), "version": (str, int, float), "category": (str,),
                                           "description": (str,), "scoring": (str,), "default_preset": (str,),
                                           "items": (str,), "system": (str,), "max_tokens": (int,)}  # fmt: skip
ITEM_TYPES: dict[str, tuple[type, ...]] = {"id": (str, int), "question_id": (str, int), "eval_aspect": (str,),
                                           "category": (str,), "scoring": (str,), "pattern": (str,),
                                           "ignore_case": (bool,), "input": (str,)}  # fmt: skip


def _check_types(row: dict[str, Any], types: dict[str, tuple[type, ...]], at: str) -> None:
    for key, kinds in types.items():
        value = row.get(key)
        if value is None:
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise SuiteError(f"{at}: field {key!r} should be {names}, got {type(value).__name__} {value!r:.40}")
    if "max_tokens" in types and isinstance(row.get("max_tokens"), int) and row["max_tokens"] < 1:
        raise SuiteError(f"{at}: field 'max_tokens' should be at least 1, got {row['max_tokens']}")


TEMPLATE_VERSION = "inhouse-1"


def _json_value(text: str) -> Any:
    """The first JSON object or array in the answer, tolerating code fences and prose around it."""
    body = re.sub(r"```(?:json)?", "", text)
    decoder = json.JSONDecoder()
    for i, ch in enumerate(body):
        if ch in "[{":
            try:
                return decoder.raw_decode(body[i:])[0]
            except ValueError:
                continue
    raise ValueError("no JSON value in the answer")


def _choice(text: str, choices: list[str]) -> str | None:
    norm = normalize(text)
    hits = [c for c in choices if normalize(c) and normalize(c) in norm]
    if len(hits) == 1:
        return hits[0]
    m = re.match(r"\s*[(（]?([A-Za-zＡ-Ｚ1-9１-９])[)）.．:：]?(?:\s|$)", text)
    if m:
        key = normalize(m.group(1)).upper()
        index = ord(key) - ord("A") if key.isalpha() else int(key) - 1
        if 0 <= index < len(choices):
            return choices[index]
    return None


class InHouse(MeanRules):
    """Pass rate of the deterministic items; a judged item's value is the judges' mean share of the scale, so a
    suite with judge items reports `judge`, the mean of both. Right: passed, or at least 60% of the scale."""

    metric = "pass_rate"
    field = "pass"
    right_at = 0.6

    def value(self, obs: Observed) -> float | None:
        if obs.ok and self.field not in obs.values and "judge" in obs.values:
            return obs.values["judge"]
        return super().value(obs)

    def metric_of(self, observed: Sequence[Observed]) -> str:
        return "judge" if any(o.pending for o in observed) else self.metric

    def score(self, item: Item, outputs: Sequence[str]) -> SampleScore:
        if item.scoring == "judge":
            return SampleScore(pending_judge=True)
        out = outputs[-1]
        refs = item.reference if isinstance(item.reference, list) else [item.reference]
        refs = [str(r) for r in refs if r is not None]
        if item.scoring == "exact":
            answer = first_line(out)
            return SampleScore(values={"pass": float(normalize(answer) in {normalize(r) for r in refs})}, parsed=answer)
        if item.scoring == "contains":
            text = normalize(out)
            return SampleScore(values={"pass": float(all(normalize(r) in text for r in refs))})
        if item.scoring == "regex":
            flags = re.IGNORECASE if item.meta.get("ignore_case") else 0
            m = re.search(item.meta["pattern"], out, flags)
            return SampleScore(values={"pass": float(m is not None)}, parsed=m.group(0) if m else None)
        if item.scoring == "choice":
            picked = _choice(out, item.meta["choices"])
            if picked is None:
                return SampleScore(values={"pass": 0.0}, parse_ok=False)
            return SampleScore(values={"pass": float(picked in refs)}, parsed=picked)
        try:  # json, json_schema
            value = _json_value(out)
        except ValueError:
            return SampleScore(values={"pass": 0.0}, parse_ok=False)
        ok = True
        if item.scoring == "json_schema":
            import jsonschema

            ok = jsonschema.Draft202012Validator(item.meta["schema"]).is_valid(value)
        return SampleScore(values={"pass": float(ok)}, parsed=json.dumps(value, ensure_ascii=False)[:200])


def _item(row: dict[str, Any], at: str, default_scoring: str, n: int) -> Item:
    """One item in any of the three layouts (ours, ELYZA-tasks-100, Japanese MT-Bench)."""
    _check_types(row, ITEM_TYPES, at)
    if "turns" in row:
        turns = require(row, "turns", at, list)
        if not turns or not all(isinstance(t, str) for t in turns):
            raise SuiteError(f"{at}: field 'turns' should be a non-empty list of strings")
    else:
        turns = [require(row, "input", at)]
    reference = row.get("reference", row.get("output"))
    scoring = row.get("scoring") or ("judge" if "output" in row or "question_id" in row else default_scoring)
    if scoring not in SCORERS:
        raise SuiteError(f"{at}: unknown scoring {scoring!r} (one of {', '.join(SCORERS)})")
    meta: dict[str, Any] = {k: row[k] for k in ("category", "ignore_case") if k in row}
    if scoring == "regex":
        pattern = row.get("pattern") or reference
        try:
            re.compile(require({"pattern": pattern}, "pattern", at))
        except re.error as exc:
            raise SuiteError(f"{at}: bad regex {pattern!r}: {exc}") from exc
        meta["pattern"] = pattern
    elif scoring == "choice":
        meta["choices"] = [str(c) for c in require(row, "choices", at, list)]
        if str(reference) not in meta["choices"]:
            raise SuiteError(f"{at}: reference {reference!r} is not one of the choices")
    elif scoring == "json_schema":
        import jsonschema

        meta["schema"] = require(row, "schema", at, dict)
        try:
            jsonschema.Draft202012Validator.check_schema(meta["schema"])
        except jsonschema.SchemaError as exc:
            raise SuiteError(f"{at}: field 'schema' is not a valid JSON Schema: {exc.message[:160]}") from exc
    elif scoring in ("exact", "contains") and reference in (None, "", []):
        raise SuiteError(f"{at}: scoring {scoring!r} needs a reference")
    raw_id = row.get("id", row.get("question_id", n))
    return Item(
        id=str(raw_id), turns=turns, reference=reference, scoring=scoring, eval_aspect=row.get("eval_aspect"), meta=meta
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    if str(path).startswith(HF_PREFIX):
        return load_hf(str(path), "test")
    if path.suffix in (".yaml", ".yml"):
        data = read_yaml(path)
        if not isinstance(data, list):
            raise SuiteError(f"{path}: expected a YAML list of items")
        for n, row in enumerate(data, 1):
            if not isinstance(row, dict):
                raise SuiteError(f"{path}: item {n} should be a mapping")
            row.setdefault("__line__", f"item {n}")
        return data
    return read_jsonl(path)


REFERENCE_CATEGORIES = ("math", "reasoning", "coding")  # MT-Bench grades these against a reference answer


def _mt_bench_references(path: Path, rows: list[dict[str, Any]]) -> None:
    """Japanese MT-Bench as published: beside `question.jsonl`, `reference.jsonl` holds reference answers per
    turn (`{"question_id", "choices": [{"turns": [...]}]}`); the math, reasoning and coding questions get theirs."""
    refs_path = path.with_name("reference.jsonl")
    if path.name != "question.jsonl" or not refs_path.is_file():
        return
    refs: dict[str, list[str]] = {}
    for row in read_jsonl(refs_path):
        choices = row.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            turns = choices[0].get("turns")
            if isinstance(turns, list) and all(isinstance(t, str) for t in turns):
                refs[str(row.get("question_id"))] = turns
    for row in rows:
        if row.get("category") in REFERENCE_CATEGORIES and "reference" not in row:
            found = refs.get(str(row.get("question_id")))
            if found:
                row["reference"] = found


def _where(path: Path | str, row: dict[str, Any]) -> str:
    line = row.get("__line__")
    return f"{path}:{line}" if isinstance(line, int) else f"{path} ({line})" if line else str(path)


def load(source: str) -> Suite:
    """A suite from `suite.yaml`, or a bare items file (JSONL/YAML/hf:id) named after the file."""
    path = Path(source).expanduser() if not source.startswith(HF_PREFIX) else Path(source)
    spec: dict[str, Any] = {}
    if path.name in ("suite.yaml", "suite.yml") or (path.suffix in (".yaml", ".yml") and _is_spec(path)):
        loaded = read_yaml(path)
        if not isinstance(loaded, dict):
            raise SuiteError(f"{path}: expected a mapping with name, version, items")
        unknown = set(loaded) - SUITE_KEYS
        if unknown:
            raise SuiteError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
        _check_types(loaded, SPEC_TYPES, str(path))
        spec = loaded
        items_path = path.parent / str(require(spec, "items", str(path)))
        name = str(require(spec, "name", str(path)))
    else:
        items_path, name = path, path.stem if path.stem not in ("test", "question", "items") else path.parent.name
    rows = _rows(items_path)
    if not rows:
        raise SuiteError(f"{items_path}: no items")
    _mt_bench_references(items_path, rows)
    default_scoring = str(spec.get("scoring", "judge"))
    if default_scoring not in SCORERS:
        raise SuiteError(f"{path}: unknown scoring {default_scoring!r} (one of {', '.join(SCORERS)})")
    items = [_item(r, _where(items_path, r), default_scoring, n) for n, r in enumerate(rows, 1)]
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise SuiteError(f"{items_path}: duplicate item id {dup!r}")
    category = str(spec.get("category", "general"))
    if category not in CATEGORIES:
        raise SuiteError(f"{path}: unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    digest = data_version(rows)  # edited items never mix with old results
    version = f"{spec['version']}-{digest}" if spec.get("version") else digest
    return Suite(
        name=name,
        kind="inhouse",
        version=version,
        template_version=TEMPLATE_VERSION,
        category=category,
        source=str(items_path),
        task=InHouse(),
        items=items,
        system=spec.get("system"),
        default_preset=spec.get("default_preset"),
        max_tokens=spec.get("max_tokens"),
    )


def _is_spec(path: Path) -> bool:
    try:
        return isinstance(read_yaml(path), dict)
    except SuiteError:
        return False
