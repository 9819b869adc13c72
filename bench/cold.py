"""Figure 3: cold start. A fresh Python process imports the handler and handles one stop-path
event, against a fresh process that imports boto3 and makes the same calls with bare clients
(the guard's calls, recorded once and replayed for another job). Both talk to one moto server
(`ThreadedMotoServer`, with the project's SageMaker extension) in this process, through
AWS_ENDPOINT_URL; each run gets its own job, so every run stops a running job.

The children get a Lambda-like environment (LAMBDA_TASK_ROOT, AWS_EXECUTION_ENV, the function's
variables from template.yaml), so that Powertools and the X-Ray SDK behave as in Lambda. The
guard runs twice per round: with X-Ray tracing active as deployed (`Tracing: Active`; segments go
to a UDP port where no daemon listens) and with tracing disabled.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.account import BASE_ENVIRONMENT, REGION, patched_environ, template
from bench.calls import CallRecorder
from bench.replay import Recording
from bench.stats import Summary

_START = """import time
started, cpu_started = time.perf_counter(), time.process_time()
import json, sys
"""

GUARD_CHILD = (
    _START
    + """
from functions.job_guard.app import lambda_handler
imported = time.perf_counter()


class Context:
    function_name = "ict-guard-job-guard"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ict-guard-job-guard"
    aws_request_id = "3b1f5a52-0d5e-4c41-9d6c-3c1c1f0c0001"

    def get_remaining_time_in_millis(self):
        return 120000


with open(sys.argv[1]) as f:
    event = json.load(f)
result = lambda_handler(event, Context())
done, cpu_done = time.perf_counter(), time.process_time()
import os
own = [m for n, m in list(sys.modules.items()) if n.split(".")[0] in ("ict_guard", "functions")]
cached = sorted(m.__name__ for m in own if getattr(m, "__cached__", None) and os.path.exists(m.__cached__))
with open(sys.argv[2], "w") as f:
    json.dump({"import": imported - started, "total": done - started, "cpu": cpu_done - cpu_started,
               "outcome": result.get("outcome"), "modules": sorted(sys.modules),
               "own_modules": len(own), "own_cached": cached}, f)
"""
)

BARE_CHILD = (
    _START
    + """
import boto3
imported = time.perf_counter()
with open(sys.argv[1]) as f:
    calls = json.load(f)
clients = {}
for service, method, params in calls:
    if service not in clients:
        clients[service] = boto3.client(service)
    getattr(clients[service], method)(**params)
done, cpu_done = time.perf_counter(), time.process_time()
with open(sys.argv[2], "w") as f:
    json.dump({"import": imported - started, "total": done - started, "cpu": cpu_done - cpu_started,
               "outcome": "replayed", "modules": sorted(sys.modules)}, f)
"""
)

# What Lambda's python3.13 runtime sets besides the function's own variables (the values are
# this bench's; the X-Ray trace header is a fixed sampled one).
LAMBDA_RUNTIME_ENVIRONMENT = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/ict-guard-job-guard",
    "_HANDLER": "app.lambda_handler",
}
TRACING_ACTIVE = {
    "POWERTOOLS_TRACE_DISABLED": "false",
    "_X_AMZN_TRACE_ID": (
        "Root=1-6745f000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}
TRACING_DISABLED = {"POWERTOOLS_TRACE_DISABLED": "true"}

GUARD_TRACED = "guard, X-Ray tracing active (as deployed)"
GUARD_UNTRACED = "guard, tracing disabled"
BARE = "bare boto3, same calls"
VARIANTS = (GUARD_TRACED, GUARD_UNTRACED, BARE)


@dataclass
class ChildRun:
    variant: str
    inside: float  # first line of the script to the handler's return: imports + one event
    imported: float  # first line to the end of the imports
    cpu: float  # the process's CPU time over `inside` (the server's work, in the parent, left out)
    wall: float  # process start to exit, seen from the parent (interpreter start-up included)
    outcome: str
    modules: list[str]
    own_modules: int = 0  # the guard's own modules (ict_guard.*, functions.*) the process imported
    own_cached: list[str] = field(default_factory=list)  # ... of which loaded from a .pyc cache


@dataclass
class ColdResult:
    repeats: int
    calls: int = 0
    sequence: list[str] = field(default_factory=list)
    runs: dict[str, list[ChildRun]] = field(default_factory=dict)
    error: str | None = None
    # Import time by top-level package (`python -X importtime`, self times summed), one run each.
    imports: dict[str, dict[str, float]] = field(default_factory=dict)
    # The guard's own modules (ict_guard.*, functions.*) in the as-deployed run, self times.
    own_modules: dict[str, float] = field(default_factory=dict)

    def import_table(self, variant: str, top: int = 12) -> list[tuple[str, float, float]]:
        """(package, ms in the variant, ms in the bare process), largest difference first."""
        guard, bare = self.imports.get(variant, {}), self.imports.get(BARE, {})
        rows = [
            (name, guard.get(name, 0.0), bare.get(name, 0.0)) for name in set(guard) | set(bare)
        ]
        rows.sort(key=lambda row: row[2] - row[1])
        return rows[:top]

    def summary(self, variant: str, attribute: str = "inside") -> Summary:
        return Summary.of([getattr(r, attribute) for r in self.runs[variant]])

    def ratios(self, variant: str, attribute: str = "inside") -> Summary:
        """Per round: the variant's time over the bare process's time in the same round."""
        return Summary.of(
            [
                getattr(g, attribute) / getattr(b, attribute)
                for g, b in zip(self.runs[variant], self.runs[BARE], strict=True)
            ]
        )

    def own_bytecode(self) -> tuple[int, int]:
        """(own modules loaded from a bytecode cache, own modules) in the as-deployed runs: the
        deployed layer has no cache (uploaded as-is, and /opt is read-only), so every own module
        is compiled from source on a cold start; a cache left in the working tree hides that."""
        runs = self.runs.get(GUARD_TRACED) or []
        if not runs:
            return 0, 0
        return max(len(r.own_cached) for r in runs), max(r.own_modules for r in runs)

    def extra_modules(self, variant: str) -> list[str]:
        """Top-level packages the guard's process imported that the bare one did not."""
        guard = {m.split(".")[0] for m in self.runs[variant][0].modules}
        bare = {m.split(".")[0] for m in self.runs[BARE][0].modules}
        return sorted(m for m in guard - bare if not m.startswith("_"))


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from sandbox import sagemaker_extension

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sagemaker_extension.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def measure_cold(
    *,
    repeats: int = 15,
    warmup: bool = True,
    profile_imports: bool = True,
    variants: tuple[str, ...] = VARIANTS,
) -> ColdResult:
    """`repeats` measured rounds of `variants` (after one unmeasured round with `warmup`), then,
    with `profile_imports`, one `-X importtime` run of each process."""
    if BARE not in variants:
        raise ValueError("the bare process is the baseline of every ratio")
    result = ColdResult(repeats, runs={v: [] for v in variants})
    with (
        moto_server() as endpoint,
        patched_environ({"AWS_ENDPOINT_URL": endpoint}),
        tempfile.TemporaryDirectory() as tmp,
    ):
        from sandbox.environment import provision

        session = boto3.session.Session(region_name=REGION)
        env = provision(session, template())
        function_environment = env.function_environment(REMEDIATION_MODE="stop")
        user = session.client("sagemaker")
        sqs = session.client("sqs")
        queue = env.target_queue_urls["JobGuardFunction"]

        def start_job(name: str) -> dict[str, Any]:
            from sandbox.environment import training_job_request

            user.create_training_job(**training_job_request(env, name, vpc=False))
            return _receive_one(sqs, queue, name)

        recording = _record_stop_path(env, function_environment, start_job)
        result.calls = len(recording)
        result.sequence = [f"{service}:{method}" for service, method, _, _ in recording.calls]

        base = {
            **os.environ,
            **BASE_ENVIRONMENT,
            **LAMBDA_RUNTIME_ENVIRONMENT,
            **function_environment,
            "AWS_ENDPOINT_URL": endpoint,
            # As in Lambda, where the code is read-only: no process leaves a bytecode cache for
            # the next one (a cache written by the warm-up round would hide the compile time).
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        environments = {
            GUARD_TRACED: {**base, **TRACING_ACTIVE},
            GUARD_UNTRACED: {**base, **TRACING_DISABLED},
            BARE: {**base, **TRACING_DISABLED},
        }
        scripts = {GUARD_TRACED: GUARD_CHILD, GUARD_UNTRACED: GUARD_CHILD, BARE: BARE_CHILD}
        first = 0 if warmup else 1  # round 0 warms the OS file cache and is not measured
        for round_index in range(first, repeats + 1):
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                # As long as the recording's name: payloads cut to a limit stay within it.
                name = f"cold-{round_index:02d}-{VARIANTS.index(variant)}"
                event = start_job(name)
                arguments = Path(tmp) / f"{name}.json"
                if variant == BARE:
                    arguments.write_text(json.dumps(recording.to_json({"job": name})))
                else:
                    arguments.write_text(json.dumps(event))
                run = _run_child(
                    variant,
                    scripts[variant],
                    environments[variant],
                    arguments,
                    Path(tmp) / f"{name}.out",
                )
                _drain(sqs, queue)
                if round_index:
                    result.runs[variant].append(run)
        for variant in variants if profile_imports else ():
            name = f"cold-ip-{VARIANTS.index(variant)}"
            event = start_job(name)
            arguments = Path(tmp) / f"{name}.json"
            arguments.write_text(
                json.dumps(recording.to_json({"job": name}) if variant == BARE else event)
            )
            result.imports[variant], own = _import_profile(
                scripts[variant], environments[variant], arguments, Path(tmp) / f"{name}.out"
            )
            if variant == GUARD_TRACED:
                result.own_modules = own
            _drain(sqs, queue)
    return result


_OWN_PACKAGES = ("ict_guard", "functions")


def _import_profile(
    script: str, environment: dict[str, str], arguments: Path, output: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """Milliseconds of import time (self times, `python -X importtime`) per top-level package,
    and per module of the guard's own packages."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, str(arguments), str(output)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        timeout=120,
    )
    totals: dict[str, float] = {}
    own: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|", 2)
        module = name.strip()
        package = module.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1000
        if package in _OWN_PACKAGES:
            own[module] = int(self_us) / 1000
    return totals, own


def _record_stop_path(env: Any, function_environment: dict[str, str], start_job: Any) -> Recording:
    """The guard's calls for one stop-path event, recorded in this process against the server."""
    from bench.account import LambdaContext
    from functions.job_guard.app import lambda_handler
    from ict_guard.ledger import KEY_PREFIX
    from ict_guard.runtime import job_guard_runtime

    recorder = CallRecorder(env.table_name, KEY_PREFIX)
    with patched_environ(function_environment), recorder.installed():
        job_guard_runtime.cache_clear()
        try:
            event = start_job("cold-rc-0")
            with recorder.window() as log:
                lambda_handler(event, LambdaContext())
        finally:
            job_guard_runtime.cache_clear()
    if not any(c.operation == "StopTrainingJob" for c in log.guard_calls):
        raise AssertionError(f"the stop path did not stop: {log.sequence()}")
    return Recording.of(log.guard_calls, {"job": "cold-rc-0"})


def _run_child(
    variant: str, script: str, environment: dict[str, str], arguments: Path, output: Path
) -> ChildRun:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", script, str(arguments), str(output)],
        env=environment,
        stdout=subprocess.DEVNULL,  # the handler's logs and metrics
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(
            f"{variant}: child failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    data = json.loads(output.read_text())
    return ChildRun(
        variant,
        data["total"],
        data["import"],
        data["cpu"],
        wall,
        str(data["outcome"]),
        data["modules"],
        data.get("own_modules", 0),
        data.get("own_cached", []),
    )


def _receive_one(sqs: Any, queue: str, name: str) -> dict[str, Any]:
    for _ in range(50):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if (event.get("detail", {}).get("requestParameters") or {}).get(
                "trainingJobName"
            ) == name:
                return event
        time.sleep(0.01)
    raise AssertionError(f"no event for {name} reached JobGuardFunction's queue")


def _drain(sqs: Any, queue: str) -> None:
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
