"""Figure 6: the scheduled sweeper's calls and time with a long history (completed jobs) and a
number of running jobs, on the embedded AWS in-process.

The sweeper is `functions/sweeper/app.py` (DESIGN.md's contract: `lambda_handler(event, context)`
for scheduled events), configured from template.yaml's `SweeperFunction`. Until it exists the
figure says so. Each size runs in a fresh account: the completed jobs are seeded straight into
moto's backend, the running ones are compliant (encrypted, no VPC), so the sweep's cost is the
cost of looking. Three scheduled sweeps, 15 minutes apart as template.yaml's SweepSchedule runs
them (the sweeper's clock is moved on; the jobs' times are SageMaker's): the first meets every
running job for the first time; the second finds none new (the cursor the first one left); the
third finds `NEW_JOBS` created since the second.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.account import ACCOUNT, REGION, LambdaContext, embedded_account
from bench.calls import CallLog, CallRecorder
from bench.stats import Summary

SWEEPER_FUNCTION = "SweeperFunction"
SWEEP_INTERVAL = timedelta(minutes=15)  # template.yaml, SweepSchedule's default rate
NEW_JOBS = 10

Handler = Callable[[Any, Any], Any]


@dataclass
class SweepRun:
    log: CallLog
    seconds: float
    result: Any


@dataclass
class SweepSize:
    completed: int
    in_progress: int
    first: list[SweepRun] = field(default_factory=list)
    again: list[SweepRun] = field(default_factory=list)  # none new
    with_new: list[SweepRun] = field(default_factory=list)  # NEW_JOBS new

    @staticmethod
    def calls(runs: list[SweepRun]) -> Summary:
        return Summary.of([len(r.log.guard_calls) for r in runs])

    @staticmethod
    def seconds(runs: list[SweepRun]) -> Summary:
        return Summary.of([r.seconds for r in runs])

    @staticmethod
    def by_operation(runs: list[SweepRun]) -> str:
        counts = Counter(c.label() for c in runs[0].log.guard_calls)
        return ", ".join(
            f"{label} x{n}" for label, n in sorted(counts.items(), key=lambda kv: -kv[1])
        )


@dataclass
class SweeperResult:
    completed: int
    repeats: int
    sizes: list[SweepSize] = field(default_factory=list)


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ict-guard-sweep"],
        "detail": {},
    }


def measure_sweeper(
    *,
    completed: int = 10_000,
    in_progress: tuple[int, ...] = (0, 50, 500),
    repeats: int = 3,
    handler: Handler | None = None,
    function: str = SWEEPER_FUNCTION,
) -> SweeperResult:
    if handler is None:
        from functions.sweeper.app import lambda_handler as handler
    result = SweeperResult(completed, repeats)
    for running in in_progress:
        size = SweepSize(completed, running)
        for _ in range(repeats):
            first, again, with_new = _sweep_fresh_account(handler, function, completed, running)
            size.first.append(first)
            size.again.append(again)
            size.with_new.append(with_new)
        result.sizes.append(size)
    return result


def _sweep_fresh_account(
    handler: Handler, function: str, completed: int, running: int
) -> tuple[SweepRun, SweepRun, SweepRun]:
    from sandbox import template as sam_template
    from sandbox.environment import DEPLOYED_PARAMETERS

    recorder = CallRecorder()
    with embedded_account(recorder) as account:
        account.seed_completed_training_jobs(completed)
        # Running for an hour: none of them is new to the second sweep (LIST_OVERLAP is 15 min).
        account.seed_in_progress_training_jobs(
            running, created=datetime.now(UTC) - timedelta(hours=1)
        )
        resolved = {
            "ALERT_TOPIC_ARN": account.env.topic_arn,
            "IDEMPOTENCY_TABLE_NAME": account.env.table_name,
        }
        variables = sam_template.function_environment(
            account.env.template, function, resolved, DEPLOYED_PARAMETERS
        )
        saved = {key: os.environ.get(key) for key in variables}
        os.environ.update(variables)
        _clear_runtime_caches()
        try:
            from ict_guard.runtime import sweeper_runtime

            now = datetime.now(UTC)
            runs = []
            for index in range(3):
                at = now + index * SWEEP_INTERVAL
                if index == 2:  # created between the second sweep and this one
                    account.seed_in_progress_training_jobs(
                        NEW_JOBS, start=running, created=at - SWEEP_INTERVAL / 2
                    )
                sweeper_runtime().sweeper._clock = lambda at=at: at
                with recorder.window() as log:
                    start = time.perf_counter()
                    answer = handler(scheduled_event(), LambdaContext())
                    seconds = time.perf_counter() - start
                runs.append(SweepRun(log, seconds, answer))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _clear_runtime_caches()
    return runs[0], runs[1], runs[2]


def _clear_runtime_caches() -> None:
    """A fresh container per account: every cached runtime factory of ict_guard.runtime."""
    from ict_guard import runtime

    for value in vars(runtime).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear) and getattr(value, "__module__", None) == runtime.__name__:
            clear()
