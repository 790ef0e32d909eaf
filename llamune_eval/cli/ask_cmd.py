"""`llamune-eval ask`: one streamed answer with its timings."""

from __future__ import annotations

import sys
from pathlib import Path

from llamune_eval.cli._common import load_config, run_async
from llamune_eval.types import ChatResult, Message, Restart, SamplingParams
from llamune_eval.ui import err_console, print_json


async def _ask(
    config: Path | None, prompt: str, model: str | None, system: str | None, params: SamplingParams, quiet: bool
) -> ChatResult:
    from llamune_eval.engines import EmbeddedBackend, open_engine
    from llamune_eval.ui import prepare_embedded

    cfg = load_config(config)
    async with open_engine(cfg) as engine:
        for backend in engine.backends:
            if isinstance(backend, EmbeddedBackend):
                for problem in prepare_embedded(backend):
                    err_console.print(f"[yellow]warning:[/] {problem}")
        if model is None:
            listed = await engine.list_models()
            if not listed:
                raise RuntimeError("no models available: configure an engine in llamune.toml (see README)")
            model = listed[0].name
        messages = ([Message(role="system", content=system)] if system else []) + [Message(role="user", content=prompt)]

        status = err_console.status(f"waiting for {model}…", spinner="dots")
        spinning = [not quiet and err_console.is_terminal]
        if spinning[0]:
            status.start()  # until the first token: an embedded model may take seconds to load

        def on_token(text: str) -> None:
            if spinning[0]:
                status.stop()
                spinning[0] = False
            if not quiet:
                sys.stdout.write(text)
                sys.stdout.flush()

        def on_restart(event: Restart) -> None:
            if not quiet:
                err_console.print(f"\n[yellow]retrying ({event.error}); the answer restarts:[/]")

        try:
            return await engine.chat(model, messages, params, on_token=on_token, on_restart=on_restart)
        finally:
            if spinning[0]:
                status.stop()


def ask(
    config: Path | None, prompt: str, model: str | None, system: str | None, params: SamplingParams, as_json: bool
) -> None:
    result = run_async(lambda: _ask(config, prompt, model, system, params, as_json))
    if as_json:
        print_json(result)
        return
    sys.stdout.write("\n")
    rate = f"{result.tokens_per_s:.1f} tok/s" if result.tokens_per_s else "- tok/s"
    ttft = f"{result.ttft_s:.2f}s" if result.ttft_s is not None else "-"
    err_console.print(
        f"[dim]{result.model} @ {result.endpoint} · {result.completion_tokens} tokens · TTFT {ttft} · "
        f"{result.latency_s:.2f}s · {rate} · {result.finish_reason.value}[/]"
    )
    for name, why in result.unsupported_params.items():
        err_console.print(f"[yellow]warning:[/] {name} not applied: {why}")
