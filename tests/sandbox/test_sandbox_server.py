"""`make sandbox` (sandbox/server.py): the embedded AWS as a process of its own, on a free
loopback port, seeded; `ict-guard scan` against it from another process, as a user runs it;
Ctrl-C ends it. Every wait is bounded."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90  # seconds: two workers and three other engineers share two cores


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exported(lines: list[str]) -> dict[str, str]:
    """The environment the printed `export` lines set (what `eval` would do)."""
    import shlex

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for line in lines:
        words = shlex.split(line.strip())
        if words[:1] == ["export"]:
            for word in words[1:]:
                key, _, value = word.partition("=")
                env[key] = value.replace("$PATH", os.environ.get("PATH", ""))
    return env


@pytest.fixture
def server() -> Iterator[dict[str, Any]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                pytest.fail("the sandbox ended before it was ready:\n" + "\n".join(seen))
            seen.append(line)
            if line.startswith("ready"):
                break
        yield {"port": port, "process": process, "output": seen, "lines": lines}
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_scan_against_the_sandbox_from_another_process_then_ctrl_c(server, tmp_path):
    port, output = server["port"], server["output"]
    assert f"http://127.0.0.1:{port}" in output[0]
    env = exported(output)
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"  # loopback only

    scan = subprocess.run(
        [sys.executable, "-m", "ict_guard_cli", "--json", "scan"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert scan.returncode == 1, scan.stderr  # findings
    document = json.loads(scan.stdout)
    found = {row["name"]: row["state"] for row in document["jobs"]["unencrypted"]}
    assert found == {
        "resnet-ddp": "running-unencrypted",
        "hpo-a": "running-unencrypted",
        "exempt-benchmark": "exempt",
        "churn-features": "running-unencrypted",
        "churn-automl": "running-unencrypted",
        "churn-dq-hourly": "running-unencrypted",  # judged by the job definition it runs
    }
    assert document["cloudtrail"]["ok"] is True
    assert document["errors"] == []
    pipeline_findings = {f["resource"] for f in document["findings"] if f["check"] == "pipelines"}
    assert "pipeline/churn-training/TrainChurnModel" in pipeline_findings

    server["process"].send_signal(signal.SIGINT)
    assert server["process"].wait(timeout=30) == 0
    rest = []
    while (line := server["lines"].get(timeout=10)) is not None:
        rest.append(line)
    assert "sandbox stopped" in rest


def test_a_port_in_use_is_one_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sandbox.server", "--port", str(port)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: port {port} on 127.0.0.1 is in use")
