"""`llamune-eval data`: the real datasets as one portable, checked bundle (list, pull, pack, import, verify).

Heavy imports stay inside the commands so `--help` stays lean."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

data_app = typer.Typer(
    help="Real datasets (JGLUE v1.3, ELYZA-tasks-100, Japanese MT-Bench): list, pull, pack, import, verify.",
    no_args_is_help=True,
)
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: ./llamune.toml or $LLAMUNE_CONFIG).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Names = Annotated[list[str] | None, typer.Argument(help="Datasets (`jglue` = its four tasks); default: all.")]


def _root(config: Path | None) -> Path:
    from llamune_eval.cli._common import load_config
    from llamune_eval.data import data_dir

    return data_dir(load_config(config))


@data_app.command("list")
def data_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Known datasets with licence, items, sha256 of the scored file, and whether they are installed."""
    from rich.table import Table

    from llamune_eval.data import CATALOG, installed
    from llamune_eval.ui import console, print_json

    root = _root(config)
    have = installed(root)
    rows: list[dict[str, Any]] = []
    for d in CATALOG.values():
        scored = d.file(d.scored)
        manifest = have.get(d.name)
        rows.append(
            {
                "name": d.name,
                "title": d.title,
                "version": d.version,
                "licence": d.licence,
                "kind": d.kind,
                "items": scored.rows,
                "sha256": scored.sha256,
                "homepage": d.homepage,
                "installed": manifest is not None,
                "digest": manifest.digest() if manifest else None,
                "path": str(root / d.name) if manifest else None,
            }
        )
    if as_json:
        print_json({"data_dir": str(root), "datasets": rows})
        return
    table = Table(title=f"Datasets (installed in {root})", title_justify="left")
    for col in ("dataset", "version", "items", "licence", "sha256 (scored file)", "installed"):
        table.add_column(col, justify="right" if col == "items" else "left")
    for r in rows:
        table.add_row(
            r["name"],
            r["version"],
            str(r["items"] or "-"),
            r["licence"],
            (r["sha256"] or "upstream publishes none")[:16],
            "yes" if r["installed"] else "no",
        )
    console.print(table)
    console.print("Licences travel with the data: anything derived from CC BY-SA data stays CC BY-SA.")


@data_app.command("pull")
def data_pull(
    names: Names = None,
    source: Annotated[Path | None, typer.Option("--from", help="A local mirror folder instead of upstream.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Fetch datasets from upstream (needs [network] allow_hub) or a mirror folder, checked against the
    published sha256, into the data folder."""
    from llamune_eval import egress
    from llamune_eval.cli._common import load_config
    from llamune_eval.data import data_dir, expand, pull
    from llamune_eval.ui import console, err_console

    cfg = load_config(config)
    egress.install()  # the same guard as every command: only the datasets' own hosts, and only with allow_hub
    egress.offline_env(cfg.network.allow_hub)
    done = pull(
        expand(names or []),
        data_dir(cfg),
        mirror=source,
        allow_network=cfg.network.allow_hub,
        progress=lambda what: err_console.print(f"pulling {what}", highlight=False),
    )
    for m in done:
        console.print(
            f"{m.name}: {sum(f.rows or 0 for f in m.files)} rows in {len(m.files)} file(s), "
            f"digest {m.digest()[:16]} ({m.licence})",
            highlight=False,
        )


@data_app.command("pack")
def data_pack(
    out: Annotated[Path, typer.Option("--out", "-o", help="The bundle to write (tar.gz).")],
    names: Names = None,
    config: ConfigOpt = None,
) -> None:
    """Write installed datasets as one bundle with a manifest, to carry into the closed network."""
    from llamune_eval.data import pack
    from llamune_eval.ui import console

    bundle = pack(_root(config), names or [], out)
    console.print(f"{out}: {', '.join(m.name for m in bundle.datasets)}", highlight=False)


@data_app.command("import")
def data_import(
    source: Annotated[Path, typer.Argument(help="A bundle (tar.gz) or an unpacked bundle folder.")],
    config: ConfigOpt = None,
) -> None:
    """Install a bundle: every checksum verified first; a mismatch installs nothing."""
    from llamune_eval.data import import_bundle
    from llamune_eval.ui import console

    root = _root(config)
    for m in import_bundle(root, source):
        console.print(
            f"{m.name} {m.version}: installed in {root / m.name} (digest {m.digest()[:16]}, {m.licence})",
            highlight=False,
        )


@data_app.command("verify")
def data_verify(names: Names = None, config: ConfigOpt = None) -> None:
    """Re-hash every installed file against its manifest; exit 1 on any difference."""
    from llamune_eval.cli._common import fail
    from llamune_eval.data import installed, verify
    from llamune_eval.ui import console

    root = _root(config)
    problems = verify(root, names or [])
    if problems:
        fail(f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    checked = names or list(installed(root))
    console.print(f"verified: {', '.join(checked) or 'nothing installed'} ({root})", highlight=False)
