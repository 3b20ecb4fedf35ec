"""The Dockerfiles cannot be built here (no base image can be pulled), so this checks what
they must get right, and runs their entrypoint script for real against the serving app."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import CPU

ROOT = Path(__file__).resolve().parents[2]
CLOUDS = {"aws": ("sagemaker", 8080), "gcp": ("vertex", 8080), "azure": ("azureml", 5001)}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = path.read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_dockerfile_essentials(cloud: str) -> None:
    contract, port = CLOUDS[cloud]
    path = ROOT / "providers" / cloud / "serving" / "Dockerfile"
    stage = final_stage(instructions(path))
    ops = {op: [args for o, args in stage if o == op] for op in {op for op, _ in stage}}
    base = ops["FROM"][0]
    assert base.startswith("nvidia/cuda:12.") and "cudnn-runtime" in base  # CUDA runtime base
    assert str(port) in ops["EXPOSE"][0].split()
    (user,) = ops["USER"]
    assert user not in ("root", "0")  # non-root
    run = " ".join(ops["RUN"])
    assert "install-gpu.sh" in run and "gpu" in run and "python3.11" in run
    (entry,) = ops["ENTRYPOINT"]
    assert entry.startswith("[")  # exec form: SIGTERM reaches the server
    assert contract in entry and "entrypoint.sh" in entry
    env = " ".join(ops["ENV"])
    assert f"FAKEWATCH_SERVE_CONTRACT={contract}" in env
    if cloud == "aws":
        assert ops["CMD"] == ['["serve"]']  # SageMaker runs `docker run <image> serve`
    for copied in (a for a in ops["COPY"] if "providers/" in a):
        for src in copied.split()[:-1]:
            assert (ROOT / src).is_file(), src


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_install_script_swaps_in_the_cuda_onnxruntime(cloud: str) -> None:
    script = (ROOT / "providers" / cloud / "serving" / "install-gpu.sh").read_text()
    assert "uninstall -y onnxruntime" in script
    assert "--force-reinstall" in script and "onnxruntime-gpu==" in script
    assert "CUDAExecutionProvider" in script  # the build fails without a CUDA-capable ORT
    subprocess.run(
        ["sh", "-n", str(ROOT / "providers" / cloud / "serving" / "install-gpu.sh")], check=True
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sagemaker_entrypoint_accepts_the_serve_argument(cnn_manifest: Path) -> None:
    """What SageMaker runs: ``entrypoint.sh sagemaker serve`` — here with this venv's
    Python first on PATH, as the image puts /opt/fakewatch/bin first."""
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "FAKEWATCH_MODEL_MANIFEST": str(cnn_manifest),
        "FAKEWATCH_SERVE_PROVIDERS": CPU[0],
        "FAKEWATCH_SERVE_PORT": str(port),
    }
    script = ROOT / "providers" / "aws" / "serving" / "entrypoint.sh"
    cmd = f"sh {shlex.quote(str(script))} sagemaker serve --log-level warning"
    proc = subprocess.Popen(shlex.split(cmd), env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)  # exec'd: the signal reaches Python, not a shell
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
