"""The machine the figures were measured on: CPU model and cores, memory, and the GPUs when `nvidia-smi` answers.

Memory and contention figures are of the operator's machine, not the users'; the file and the report say which
machine that was, so a reader can judge how far they carry.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel, Field


class Gpu(BaseModel):
    name: str
    memory_bytes: int | None = None


class Machine(BaseModel):
    """What the measurements ran on (no host name: the file reaches every user)."""

    cpu: str
    cores: int
    memory_bytes: int | None = None
    gpus: list[Gpu] = Field(default_factory=list)
    os: str = ""

    def describe(self) -> str:
        memory = f"{self.memory_bytes / 2**30:.0f} GiB" if self.memory_bytes else "memory unknown"
        gpus = ", ".join(g.name for g in self.gpus) or "GPU なし"
        return f"{self.cpu} × {self.cores} コア, {memory}, {gpus}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gpus() -> list[Gpu]:
    """NVIDIA GPUs by `nvidia-smi` (none when it is absent or does not answer within 3 s)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        name, _, mib = line.partition(",")
        if name.strip():
            size = int(float(mib)) * 2**20 if mib.strip().replace(".", "", 1).isdigit() else None
            gpus.append(Gpu(name=name.strip(), memory_bytes=size))
    return gpus


def this_machine() -> Machine:
    return Machine(
        cpu=_cpu(),
        cores=os.cpu_count() or 1,
        memory_bytes=_memory(),
        gpus=_gpus(),
        os=f"{platform.system()} {platform.release()}".strip(),
    )
