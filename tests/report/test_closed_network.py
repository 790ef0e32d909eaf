"""The whole default quarter inside a loopback-only network namespace: the embedded engine, the bundled models and
the sample suites are all it needs, and it writes its settings file and report without any other host. (Two suites
and one preset: the closed network is the point, not how many configurations cross it.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llamune_eval import jsonio

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import socket; s = socket.socket(); s.settimeout(3); s.connect(('192.0.2.1', 80))"


def _namespace() -> list[str] | None:
    """`unshare -n` (or, unprivileged, `unshare -rn`) if it can make a namespace with a working loopback."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            ok = subprocess.run([*cmd, "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if ok.returncode == 0:
            return cmd
    return None


@pytest.mark.engine
def test_default_quarter_runs_in_a_loopback_only_namespace(tmp_path: Path, smollm2_path: Path) -> None:
    """`smollm2_path` makes a missing engine or model fail in CI rather than skip."""
    unshare = _namespace()
    if unshare is None:
        pytest.skip("cannot make a network namespace here (unshare -n / -rn and ip link set lo up failed)")
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLAMUNE_", "OLLAMA_"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # no chat database of this machine's user
    env["LLAMUNE_MEASURE__ENABLED"] = "false"  # its children and probes talk to the same loopback engines only
    script = (f'ip link set lo up && "$0" -c "{PROBE}" 2>/dev/null && exit 99; '
              'exec "$0" -m llamune_eval.cli.main run --limit 1 -p fast -s jcommonsenseqa -s extraction '
              '--quarter 2027-Q1 --no-progress --json')  # fmt: skip
    proc = subprocess.run([*unshare, "sh", "-c", script, sys.executable], cwd=tmp_path, capture_output=True,
                          text=True, timeout=900, env=env)  # fmt: skip
    assert proc.returncode != 99, "the namespace reached an outside address"
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = jsonio.loads(proc.stdout)
    status = {s["name"]: s["status"] for s in out["stages"]}
    # one item per suite is too little evidence to publish: a preview, which is never published
    assert status == {"sweep": "done", "judge": "skipped", "usage": "skipped", "measure": "skipped",
                      "recommend": "preview", "publish": "skipped", "report": "done"}  # fmt: skip
    settings = jsonio.loads((tmp_path / "recommended" / "2027-Q1.preview.json").read_bytes())
    assert settings["version"] == "2027-Q1" and settings["preview"] and settings["tiers"]
    assert not (tmp_path / "recommended" / "2027-Q1.json").exists()
    report = (tmp_path / "reports" / "2027-Q1" / "index.html").read_text()
    assert (
        "llamune 四半期評価レポート 2027-Q1" in report and "プレビュー：この設定は llamune に適用されません" in report
    )
    data = jsonio.loads((tmp_path / "reports" / "2027-Q1" / "report.json").read_bytes())
    assert data["counts"]["models"] == 2 and data["counts"]["samples"] == 2 * 2  # suites x models, one preset
