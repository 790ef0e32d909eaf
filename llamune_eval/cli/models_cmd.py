"""`llamune-eval models` (the listing itself is shared with `llamune models`: `llamune_eval/listing.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def models_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models every configured engine serves: size, quantization, context, loaded, memory."""
    from llamune_eval.listing import show_models

    show_models(config, as_json)
