"""`llamune-eval data`: pull from a mirror (the shared JGLUE files stand in for upstream), pack, carry, import,
verify; a tampered bundle is refused and nothing changes; the quarter then runs the real data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from llamune_eval.data import CATALOG, DataError, expand, import_bundle, installed, pack, pull, verify

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jglue"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="the shared JGLUE data is not beside the project")


def _tree(root: Path) -> dict[str, str]:
    """Every file under root with its sha256: what 'nothing changed' is checked against."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JGLUE pulled from the shared mirror on the 'connected' side and packed into one archive."""
    connected = tmp_path_factory.mktemp("connected")
    pulled = pull(expand(["jglue"]), connected, mirror=SHARED)
    assert [m.name for m in pulled] == ["jcommonsenseqa", "jnli", "jsts", "jsquad"]
    out = tmp_path_factory.mktemp("carry") / "jglue.tar.gz"
    pack(connected, [], out)
    return out


def test_pull_checks_every_file_against_the_published_digest(tmp_path: Path) -> None:
    manifests = {m.name: m for m in pull(expand(["jglue"]), tmp_path, mirror=SHARED)}
    jcqa = {f.name: f for f in manifests["jcommonsenseqa"].files}
    assert jcqa["valid.jsonl"].rows == 1119 and jcqa["train.jsonl"].rows == 8939
    assert jcqa["valid.jsonl"].sha256 == CATALOG["jcommonsenseqa"].file("valid.jsonl").sha256
    assert all(f.published for f in jcqa.values())
    assert [f.name for f in manifests["jnli"].files] == ["valid.jsonl"]  # train is optional and absent here
    assert {f.name: f.rows for f in manifests["jsquad"].files} == {"valid.json": 4442}
    assert verify(tmp_path) == []


def test_a_mirror_file_that_is_not_the_published_one_is_refused(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "jsts"
    mirror.mkdir(parents=True)
    lines = (SHARED / "jsts" / "valid.jsonl").read_text(encoding="utf-8").splitlines()
    (mirror / "valid.jsonl").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # one row short
    with pytest.raises(DataError, match=r"jsts/valid.jsonl has sha256 .* \(not JSTS \(JGLUE\) v1.3\)"):
        pull(expand(["jsts"]), tmp_path / "data", mirror=tmp_path / "mirror")
    assert installed(tmp_path / "data") == {}


def test_pull_from_upstream_needs_the_network_to_be_allowed(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="allow_hub"):
        pull(expand(["jsts"]), tmp_path)


def test_pack_then_import_round_trip_offline(bundle: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    imported = import_bundle(closed, bundle)
    assert {m.name for m in imported} == {"jcommonsenseqa", "jnli", "jsts", "jsquad"}
    assert verify(closed) == []
    for name in ("jcommonsenseqa", "jnli", "jsts"):
        assert (closed / name / "valid.jsonl").read_bytes() == (SHARED / name / "valid.jsonl").read_bytes()
    assert (closed / "jsquad" / "valid.json").read_bytes() == (SHARED / "jsquad" / "valid.json").read_bytes()
    manifest = json.loads((closed / "jsts" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["licence"].startswith("CC BY-SA 4.0") and manifest["version"] == "v1.3"


def _tampered(bundle: Path, out: Path, *, fix_manifest: bool = False) -> Path:
    """A copy of the bundle with one JCommonsenseQA label changed; with `fix_manifest` the manifest is edited to
    match, as a careful forger would (then only the published digest can tell)."""
    import io

    with tarfile.open(bundle, "r:gz") as src:
        files = {m.name: (m, src.extractfile(m).read()) for m in src.getmembers()}  # type: ignore[union-attr]
    name = "jcommonsenseqa/valid.jsonl"
    old = files[name][1]
    new = old.replace(b'"label": 1', b'"label": 2', 1)
    assert new != old
    files[name] = (files[name][0], new)
    if fix_manifest:
        manifest = json.loads(files["manifest.json"][1])
        for entry in manifest["datasets"][0]["files"]:
            if entry["name"] == "valid.jsonl":
                entry["sha256"], entry["bytes"] = hashlib.sha256(new).hexdigest(), len(new)
        files["manifest.json"] = (files["manifest.json"][0], json.dumps(manifest).encode())
    with tarfile.open(out, "w:gz") as dst:
        for member, data in files.values():
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


def test_a_tampered_bundle_is_refused_and_nothing_changes(bundle: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    import_bundle(closed, bundle)
    before = _tree(closed)
    bad = _tampered(bundle, tmp_path / "bad.tar.gz")
    with pytest.raises(
        DataError, match=r"jcommonsenseqa/valid.jsonl does not match its manifest.*nothing was installed"
    ):
        import_bundle(closed, bad)
    assert _tree(closed) == before
    assert [p.name for p in closed.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_verify_names_the_damaged_file(bundle: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    import_bundle(closed, bundle)
    target = closed / "jsts" / "valid.jsonl"
    os.chmod(target, 0o644)
    target.write_bytes(target.read_bytes()[:-10])
    problems = verify(closed)
    assert len(problems) == 1 and problems[0].startswith(f"{target}: sha256")


def _cli(*args: str, cwd: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLAMUNE_PATHS__DATA": str(data)}
    return subprocess.run([sys.executable, "-m", "llamune_eval.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_cli_import_list_verify_and_the_one_line_refusal(bundle: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = _tampered(bundle, tmp_path / "bad.tar.gz", fix_manifest=True)
    refused = _cli("data", "import", str(bad), cwd=tmp_path, data=data)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().startswith("error:") and "the published file has" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert installed(data) == {}
    done = _cli("data", "import", str(bundle), cwd=tmp_path, data=data)
    assert done.returncode == 0, done.stderr
    listed = json.loads(_cli("data", "list", "--json", cwd=tmp_path, data=data).stdout)
    rows = {r["name"]: r for r in listed["datasets"]}
    assert rows["jsts"]["installed"] and rows["jsts"]["items"] == 1457 and rows["jsts"]["licence"].startswith("CC")
    assert not rows["elyza-tasks-100"]["installed"]
    assert _cli("data", "verify", cwd=tmp_path, data=data).returncode == 0


def test_the_quarter_runs_imported_data_and_names_it(bundle: Path, tmp_path: Path) -> None:
    from llamune_eval.benchmarks import discover
    from llamune_eval.config import load

    data = tmp_path / "data"
    import_bundle(data, bundle)
    cfg = load(env={"LLAMUNE_PATHS__DATA": str(data), "LLAMUNE_RUN__SUITES_DIR": '"suites"'})
    refs = {r.name: r for r in discover(cfg)}
    suite = refs["jsts"].load()
    assert len(suite.items) == 1457 and suite.data["origin"] == "real"
    assert suite.data["dataset"] == "JSTS (JGLUE) v1.3"
    assert suite.data["digest"] == CATALOG["jsts"].file("valid.jsonl").sha256  # the scored file's sha256
    assert refs["business-writing"].load().data == {"origin": "in-house"}
    assert refs["jnli"].load().data["origin"] == "real"
    sample = {"origin": "sample"}  # the shipped hand-written suite, when no real data is installed
    assert {r.name: r for r in discover(load(env={"LLAMUNE_PATHS__DATA": str(tmp_path / "none")}))}[
        "jsts"].load().data == sample  # fmt: skip
