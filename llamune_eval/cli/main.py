"""`llamune-eval`: the operator's quarterly toolkit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from llamune_eval.cli._common import main_wrapper
from llamune_eval.cli.data_cmd import data_app
from llamune_eval.cli.models_cmd import models_command

app = typer.Typer(
    name="llamune-eval",
    help="Evaluate local LLMs in a closed network and curate the quarter's recommended settings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
engine_app = typer.Typer(help="Run the embedded llama.cpp engine.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")
usage_app = typer.Typer(help="Usage of the chat runtime: ingest its databases, print the UsageMetrics.")
app.add_typer(usage_app, name="usage")
app.add_typer(data_app, name="data")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml or $LLAMUNE_CONFIG).")
]


app.command("models")(models_command)  # the listing is shared with `llamune models` (listing.py)


@app.command()
def ask(
    prompt: Annotated[str, typer.Argument(help="The question.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name (default: the first listed).")] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    temperature: Annotated[float | None, typer.Option(help="0.0-2.0")] = None,
    top_p: Annotated[float | None, typer.Option(help="0.0-1.0")] = None,
    top_k: Annotated[int | None, typer.Option()] = None,
    max_tokens: Annotated[int, typer.Option()] = 256,
    repeat_penalty: Annotated[float | None, typer.Option()] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop sequence (repeatable).")] = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """One prompt to one model, streamed, with its timings: the smoke test of an engine."""
    from llamune_eval.cli.ask_cmd import ask as do_ask
    from llamune_eval.types import SamplingParams

    params = SamplingParams(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        repeat_penalty=repeat_penalty,
        seed=seed,
        stop=tuple(stop or ()),
    )
    do_ask(config, prompt, model, system, params, as_json)


def _quarter(value: str | None) -> str | None:
    if value is None:
        return None
    from llamune_eval.types import QUARTER_PATTERN  # here: the CLI starts without pydantic

    if not re.fullmatch(QUARTER_PATTERN, value):
        raise typer.BadParameter(f"{value!r} is not YYYY-Qn")
    return value


QuarterOpt = Annotated[
    str | None, typer.Option(help="YYYY-Qn (default: [run] quarter, else the next one).", callback=_quarter)
]
SuiteOpt = Annotated[list[str] | None, typer.Option("--suite", "-s", help="Suite name (repeatable; default: all).")]
ModelOpt = Annotated[list[str] | None, typer.Option("--model", "-m", help="Model name (repeatable; default: all).")]
PresetOpt = Annotated[list[str] | None, typer.Option("--preset", "-p", help="Preset name (repeatable).")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="DuckDB results file (default: llamune.duckdb).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
PreviewOpt = Annotated[
    bool, typer.Option("--preview", help="Write recommended/<quarter>.preview.json, which llamune never applies.")
]
ReviseOpt = Annotated[
    bool, typer.Option("--revise", help="If the quarter is published with another decision, publish a revision.")
]


@app.command()
def suites(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List the suites that can be run: kind, items, metric, source (and MARC-ja, which cannot)."""
    from llamune_eval.cli.suites_cmd import show_suites

    show_suites(config, as_json)


@app.command("run")
def run_command(
    suite: SuiteOpt = None,
    model: ModelOpt = None,
    preset: PresetOpt = None,
    limit: Annotated[int, typer.Option(help="Items per suite (0 = all).")] = 0,
    repeats: Annotated[int, typer.Option(help="Repeats per item, each with its own seed (0 = config).")] = 0,
    concurrency: Annotated[int | None, typer.Option(help="Requests in flight (default: the endpoints' caps).")] = None,
    store: StoreOpt = None,
    quarter: QuarterOpt = None,
    sweep_only: Annotated[bool, typer.Option("--sweep-only", help="Only generate and score samples.")] = False,
    plan: Annotated[
        bool, typer.Option("--plan", help="Say what the run would send and how long it would take; send nothing else.")
    ] = False,
    race: Annotated[
        bool, typer.Option("--race", help="Stop configurations once the decision no longer needs them.")
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option(metavar="6h|20000", help="Fit the run in a time or a request count (races the configurations)."),
    ] = None,
    preview: PreviewOpt = False,
    revise: ReviseOpt = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The whole quarter: suites x models x presets -> judge -> usage ingest -> recommend -> report. Resumable:
    the same command again continues where a killed run stopped."""
    from llamune_eval.cli.run_cmd import run as do_run

    do_run(
        config,
        {
            "suite": suite or [],
            "model": model or [],
            "preset": preset or [],
            "limit": limit,
            "repeats": repeats,
            "concurrency": concurrency,
            "store": store,
            "progress": progress,
            "json": as_json,
            "quarter": quarter,
            "sweep_only": sweep_only,
            "plan": plan,
            "race": race,
            "budget": budget,
            "preview": preview,
            "revise": revise,
        },
    )


@app.command()
def results(
    suite: SuiteOpt = None,
    model: ModelOpt = None,
    preset: PresetOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the leaderboard again from the store (each suite's newest version)."""
    from llamune_eval.cli.run_cmd import results as do_results

    do_results(
        config, {"suite": suite or [], "model": model or [], "preset": preset or [], "store": store, "json": as_json}
    )


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or jsonl.")] = "parquet",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export every stored sample with its scores (one column per metric)."""
    from llamune_eval.cli.run_cmd import export as do_export

    do_export(config, fmt, out, store, force)


@app.command("judge")
def judge_command(
    judge: Annotated[list[str] | None, typer.Option("--judge", "-j", help="Judge model (repeatable: a panel).")] = None,
    mode: Annotated[str, typer.Option(help="auto, single, reference or pairwise (default: config).")] = "",
    all_samples: Annotated[bool, typer.Option("--all", help="Also judge in-house answers already scored.")] = False,
    store: StoreOpt = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Grade stored answers with local judge models (resumable) and print the judge's reliability."""
    from llamune_eval.cli.judge_cmd import judge as do_judge

    do_judge(config, judge or [], mode, all_samples, store, progress, as_json)


@app.command("rate")
def rate_command(
    suite: Annotated[list[str] | None, typer.Option("--suite", "-s", help="Judged suite to rate (repeatable).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Answers for this rater, those already rated included.")] = 50,
    rater: Annotated[str | None, typer.Option(help="The rater's name (default: the login name).")] = None,
    overlap: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the n shown to every rater (their own agreement).")
    ] = 0.2,
    quarter: Annotated[
        str | None, typer.Option(help="YYYY-Qn (default: [run] quarter or the next).", callback=_quarter)
    ] = None,
    import_file: Annotated[
        Path | None, typer.Option("--import", help="Import ratings: another store's export, or sample_key,rating.")
    ] = None,
    export_file: Annotated[Path | None, typer.Option("--export", help="Write every stored rating as CSV.")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Rate stored answers of the judged suites, blind, to check the judge against people (q stops; the next
    run continues)."""
    from llamune_eval.cli.rate_cmd import rate

    rate(config, suite or [], n, rater, overlap, quarter, store, import_file, export_file)


@app.command("measure")
def measure_command(
    quarter: Annotated[str, typer.Option(help="YYYY-Qn, e.g. 2026-Q1.", callback=_quarter)],
    contention: Annotated[
        bool, typer.Option(help="Also run the contention check of the models the current decision chose.")
    ] = True,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure each configuration's memory and speed under the same conditions (resumable), and the contention
    check behind concurrentLimit."""
    from llamune_eval.cli.measure_cmd import measure

    measure(config, quarter, store, contention, as_json)


@app.command("recommend")
def recommend_command(
    quarter: Annotated[str, typer.Option(help="YYYY-Qn, e.g. 2026-Q1.", callback=_quarter)],
    out: Annotated[Path | None, typer.Option(help="Folder of recommended settings (default: [paths]).")] = None,
    preview: PreviewOpt = False,
    revise: ReviseOpt = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide the quarter's settings per hardware tier from the evidence and publish recommended/<quarter>.json."""
    from llamune_eval.cli.recommend_cmd import recommend

    recommend(config, quarter, out, store, preview, revise, as_json)


@app.command("publish")
def publish_command(
    quarter: Annotated[
        str | None,
        typer.Option(help="Only this quarter's files (YYYY-Qn; default: every published file).", callback=_quarter),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="DIR|URL", help="The channel (default: [publish] to).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the settings files into the users' channel: files first, index.json last; never a preview."""
    from llamune_eval.cli.publish_cmd import publish

    publish(config, quarter, to, as_json)


@app.command("report")
def report_command(
    quarter: QuarterOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html (index.html and report.json) or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder (default: reports/<quarter>); - for JSON on stdout.")
    ] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write the quarter's comparison report: one self-contained HTML file (no network requests) and its data."""
    from llamune_eval.cli.report_cmd import report

    if fmt not in ("html", "json"):
        raise typer.BadParameter(f"{fmt!r}: choose html or json", param_hint="--format")
    report(config, quarter, fmt, out, store)


@app.command("compare")
def compare_command(
    a: Annotated[str, typer.Argument(help="model[:preset]")],
    b: Annotated[str, typer.Argument(help="model[:preset]")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two configurations on the same stored items: differences, intervals, Holm-corrected p-values."""
    from llamune_eval.cli.run_cmd import compare as do_compare

    do_compare(config, a, b, store, as_json)


@usage_app.callback(invoke_without_command=True)
def usage_report(
    ctx: typer.Context,
    quarter: Annotated[str | None, typer.Option(help="YYYY-Qn (default: all time).")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the UsageMetrics: per model, per task category, feedback, /retry adoption."""
    if ctx.invoked_subcommand is not None:
        return
    from llamune_eval.cli.usage_cmd import report

    report(config, quarter, store, as_json)


@usage_app.command("ingest")
def usage_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Chat databases (SQLite) or JSONL exports of their events.")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read chat-runtime usage into the store; re-ingesting adds only new events."""
    from llamune_eval.cli.usage_cmd import ingest_paths

    ingest_paths(config, paths, store)


@engine_app.command("serve")
def engine_serve(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Bundled model name or GGUF path (repeatable).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the first model; the next models take the following ports.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you mean it).")] = "127.0.0.1",
    parallel: Annotated[int, typer.Option(help="Parallel slots per model.")] = 4,
    ctx: Annotated[int, typer.Option(help="Context tokens per slot.")] = 4096,
    threads: Annotated[int | None, typer.Option(help="CPU threads per model (default: all cores).")] = None,
) -> None:
    """Serve models with the embedded engine in the foreground (OpenAI-compatible), for other tools."""
    from llamune_eval.cli.engine_cmd import serve

    serve(model or [], port, host, parallel, ctx, threads)


def run() -> None:
    """The console script. Once the command is done the process ends without tearing the interpreter down
    (freeing every module and object costs 0.1 s after a quarter's run, 4 % of a 1,000-item run on a fast engine):
    stdout and stderr are flushed and the atexit handlers run first, and every file and store a command opens is
    closed before it returns. With another thread still running, the ordinary exit waits for it."""
    code: int = 0
    try:
        main_wrapper(app)
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise
        code = exc.code or 0
    _leave(code)


def _leave(code: int) -> None:
    import atexit
    import contextlib
    import os
    import sys
    import threading

    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`): nothing more can be said there
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
