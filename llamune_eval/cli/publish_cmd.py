"""`llamune-eval publish`: the published settings files into the users' channel (a folder or an http(s) URL)."""

from __future__ import annotations

from pathlib import Path

from llamune_eval.cli._common import fail, load_config, run_async
from llamune_eval.ui import err_console, print_json


def publish(config: Path | None, quarter: str | None, to: str | None, as_json: bool) -> None:
    from llamune_eval.channel.publish import publish_channel

    cfg = load_config(config)
    target = to or cfg.publish.to
    if not target:
        fail("no channel: give --to DIR|URL, or set [publish] to in llamune.toml")
    done = run_async(
        lambda: publish_channel(
            cfg.paths.recommended,
            target,
            quarter=quarter,
            signing_key=cfg.recommend.signing_key,
            authorization_env=cfg.publish.authorization_env,
        )
    )
    if as_json:
        index = done.index.model_dump(by_alias=True) if done.index else None
        print_json({"to": done.to, "status": done.status, "sent": done.sent, "unchanged": done.unchanged,
                    "index": index})  # fmt: skip
        return
    err_console.print(done.describe(), markup=False, highlight=False)
