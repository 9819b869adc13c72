"""The scheduled sweep: every running job goes through the job guard's own path once more.

CloudTrail delivery to EventBridge is best effort and can lag, the function can be throttled,
and jobs may have started before the guard was deployed. The sweep lists the InProgress training
and tuning jobs created within a look-back window (the List filters run in SageMaker, so a sweep
costs in proportion to the running jobs, not to the account's history) and hands each to
`JobGuard.remediate`: the same decision, the same idempotency record. A job the real-time path
already handled costs one idempotency read; one it missed is remediated and counted as a catch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ict_guard.errors import CopyWaitsForCapacity
from ict_guard.jobs import JOB_APIS, JobKind
from ict_guard.outcomes import Result
from ict_guard.remediation import SWEEP_EVENT_PREFIX, JobGuard, JobRef
from ict_guard.settings import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from botocore.client import BaseClient
    from mypy_boto3_sagemaker import SageMakerClient

    from ict_guard.reporting import Reporter
PAGE_SIZE = 100  # the List* maximum: fewest calls


class SweepIncomplete(Exception):
    """Some jobs could not be handled; they are retried by Lambda and by the next sweep."""


class SweepSettings(BaseModel):
    """The sweep's own settings (template parameters SweepLookbackMinutes, and the worker count),
    validated once from the environment like ict_guard.settings.Settings."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    lookback_minutes: int = Field(24 * 60, ge=15, le=60 * 24 * 30, alias="SWEEP_LOOKBACK_MINUTES")
    max_workers: int = Field(4, ge=1, le=16, alias="SWEEP_MAX_WORKERS")
    # Stop taking new jobs when less than this is left of the invocation: a remediation that
    # has started must have time to finish (the function's client timeouts and retries).
    reserve_ms: int = 60_000

    @property
    def lookback(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.lookback_minutes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SweepSettings:
        """Read SWEEP_LOOKBACK_MINUTES and SWEEP_MAX_WORKERS; every problem named at once."""
        names = {f.alias for f in cls.model_fields.values() if f.alias}
        try:
            return cls.model_validate({k: v for k, v in environ.items() if k in names})
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in error['loc'])}={error.get('input')!r}: {error['msg']}"
                for error in exc.errors()
            ]
            raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


@dataclass
class SweepReport:
    listed: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    caught: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_for_next_sweep: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "outcomes": self.outcomes,
            "caught": self.caught,
            "failed": self.failed,
            "left_for_next_sweep": self.left_for_next_sweep,
        }


class Sweeper:
    def __init__(
        self,
        *,
        sagemaker: SageMakerClient,
        guard: JobGuard,
        settings: SweepSettings,
        logger: Logger,
        reporter: Reporter,
        region: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sagemaker = sagemaker
        self._guard = guard
        self._settings = settings
        self._logger = logger
        self._reporter = reporter
        self._region = region
        self._clock = clock

    def running_jobs(self, kind: JobKind, status: str = "InProgress") -> Iterator[str]:
        """Names of the jobs of `kind` in `status` created within the look-back window (of every
        schedule in `status`)."""
        api = JOB_APIS[kind]
        since = self._clock() - self._settings.lookback
        # The List* operation is chosen per kind at run time: botocore's generic paginator, not
        # the stubs' one-per-operation-name overloads.
        client: BaseClient = self._sagemaker
        # A schedule lives for months and an UpdateMonitoringSchedule does not change its
        # CreationTime: every active schedule is listed (there are few), each costing a Describe
        # and an idempotency read once judged in its configuration (JobGuard.remediate).
        window = {} if api.in_place else {"CreationTimeAfter": since}
        pages = client.get_paginator(xform_name(api.list_operation)).paginate(
            StatusEquals=status,
            PaginationConfig={"PageSize": PAGE_SIZE},
            **window,
        )
        for page in pages:
            for summary in page.get(api.summaries_member, []):
                yield summary[api.name_member]

    def sweep(self, *, account: str, sweep_id: str, remaining_ms: Callable[[], int]) -> dict[str, Any]:
        report = SweepReport()
        # Parents first (JOB_APIS is in that order: AutoML, tuning, training, processing): the jobs
        # they launch are remediated through them, and by the time those are listed the parent's
        # outcome is already recorded.
        refs = []
        for kind in JOB_APIS:
            names = [name for status in JOB_APIS[kind].active_statuses for name in self.running_jobs(kind, status)]
            report.listed[kind.value] = len(names)
            refs += [
                JobRef.for_job(
                    kind, name, account=account, region=self._region, event_id=f"{SWEEP_EVENT_PREFIX}{sweep_id}"
                )
                for name in names
            ]
        # A tuning job the guard stopped whose run died before the copy (Lambda's retries spent):
        # its ledger entry is still owed. SageMaker's state-change event resumes it when the stop
        # completes; the sweep makes up for a lost event.
        # The same for a training job whose copy waited for the instances its stopping original
        # held (ResourceLimitExceeded) until Lambda's retries ran out.
        work: list[tuple[JobRef, bool]] = [(ref, False) for ref in refs]
        for kind in (k for k, api in JOB_APIS.items() if api.stopped_statuses):
            stopped = [name for status in JOB_APIS[kind].stopped_statuses for name in self.running_jobs(kind, status)]
            report.listed[f"stopped-{kind.value}"] = len(stopped)
            work += [
                (
                    JobRef.for_job(
                        kind, name, account=account, region=self._region, event_id=f"{SWEEP_EVENT_PREFIX}{sweep_id}"
                    ),
                    True,
                )
                for name in stopped
            ]
        self._logger.info("sweep listed jobs", extra={"listed": report.listed})

        pending = iter(work)
        with ThreadPoolExecutor(max_workers=self._settings.max_workers) as pool:
            running: dict[Future[dict[str, Any]], JobRef] = {}
            while True:
                while len(running) < self._settings.max_workers and remaining_ms() > self._settings.reserve_ms:
                    item = next(pending, None)
                    if item is None:
                        break
                    ref, resume = item
                    handle = self._guard.resume_if_owed if resume else self._guard.remediate
                    running[pool.submit(handle, ref, busy_is_ok=True)] = ref
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._record(report, running.pop(future), future)
        report.left_for_next_sweep = sum(1 for _ in pending)

        self._count("SweepJobsListed", sum(report.listed.values()))
        self._count("SweeperCatches", len(report.caught))
        if report.left_for_next_sweep:
            self._logger.warning("sweep ran out of time; the rest waits for the next sweep", extra=report.as_dict())
            self._count("SweepJobsLeftForNextSweep", report.left_for_next_sweep)
        if report.failed:
            self._count("SweepFailures", len(report.failed))
            raise SweepIncomplete(f"{len(report.failed)} job(s) could not be handled: {', '.join(report.failed[:10])}")
        self._logger.info("sweep finished", extra=report.as_dict())
        return report.as_dict()

    def _record(self, report: SweepReport, ref: JobRef, future: Future[dict[str, Any]]) -> None:
        try:
            result = Result.from_dict(future.result())
        except CopyWaitsForCapacity:
            # Stopped by the guard, its copy waits for the instances the original still holds:
            # the next sweep (which lists stopping and stopped jobs) finishes it.
            report.outcomes["waiting-for-capacity"] = report.outcomes.get("waiting-for-capacity", 0) + 1
            return
        except Exception:
            # One job's trouble does not stop the sweep; it is raised at the end (Lambda retries
            # the sweep; every job already handled meets its idempotency record).
            self._logger.exception("sweep could not handle a job", extra={"job": ref.key})
            report.failed.append(ref.key)
            return
        name = result.outcome.value
        report.outcomes[name] = report.outcomes.get(name, 0) + 1
        if result.acted and not result.duplicate:
            # Each catch is an event the real-time path missed (or had not handled yet).
            report.caught.append(ref.key)
            self._logger.warning(
                "sweep caught a job the real-time path missed", extra={"job": ref.key, "outcome": name}
            )

    def _count(self, name: str, value: int) -> None:
        self._reporter.count(name, value)
