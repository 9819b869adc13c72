"""The scheduled sweep: every job the real-time path may have missed goes through its own path
(`JobGuard.remediate`: the same decision, the same idempotency record). It costs what is new, not
what runs (README, "Sweeper"):

- a cursor in the ledger (`listed_through`): a sweep lists only the running jobs created since
  (less LIST_OVERLAP); it moves to the sweep's start, or to the creation of the earliest job it
  could not judge;
- the part of the look-back window older than a judgment lives (`record_lifetime`), when there is
  one, is listed in full;
- every active schedule, every sweep: there are few, a judgment of one expires while it runs for
  months, and one is judged per configuration (so a repeat costs a Describe and a record read);
- owed work comes from the ledger's sparse index (`RemediationLedger.sweep_state`, the same Query
  that reads the cursor), whatever the job's age or status; the first sweep (no cursor) also asks
  the stopped jobs of the window, and writes no cursor until it has judged each of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ict_guard.errors import CopyWaitsForCapacity
from ict_guard.jobs import JOB_APIS, JobApi, JobKind
from ict_guard.outcomes import Outcome, Result
from ict_guard.remediation import SWEEP_EVENT_PREFIX, JobGuard, JobRef
from ict_guard.settings import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from botocore.client import BaseClient
    from mypy_boto3_sagemaker import SageMakerClient

    from ict_guard.ledger import RemediationLedger
    from ict_guard.reporting import Reporter
PAGE_SIZE = 100  # the List* maximum: fewest calls
# SageMaker's List* may show a job some time after its Create* answered (eventually consistent,
# like other AWS list operations; no figure is published): each sweep lists again the jobs
# created this long before the cursor, one sweep interval. Those already judged cost one
# idempotency read each, never a Describe.
LIST_OVERLAP = dt.timedelta(minutes=15)


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
    # What the listing covered: jobs created (schedules changed) after `listed_since`, ISO 8601,
    # or every running job when None; and the cursor this sweep recorded.
    listed_since: str | None = None
    listed_through: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    caught: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    left_for_next_sweep: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Listed:
    """One item of a sweep's work: the job; whether it is owed work (from the ledger, or a stopped
    job the first sweep asks) and only to be finished (`resume`); the time the cursor may not pass
    until it is judged (None: listed by every sweep, or kept by the ledger); and whether it is a
    stopped job only a first sweep asks, which holds back the cursor's first write."""

    ref: JobRef
    owed: bool = False
    resume: bool = False
    since: dt.datetime | None = None
    first_sweep: bool = False


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
        ledger: RemediationLedger | None = None,
        record_lifetime: dt.timedelta = dt.timedelta(hours=24),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._sagemaker = sagemaker
        self._guard = guard
        self._settings = settings
        self._logger = logger
        self._reporter = reporter
        self._region = region
        self._ledger = ledger
        self._record_lifetime = record_lifetime
        self._clock = clock

    def windows(self, now: dt.datetime, cursor: dt.datetime | None) -> list[tuple[dt.datetime, dt.datetime | None]]:
        """The creation-time windows (after, before) a sweep lists at `now`: since the cursor (less
        LIST_OVERLAP) within the look-back window, and, when the look-back window is longer than
        a judgment lives, its part whose records may have expired."""
        oldest = now - self._settings.lookback
        if cursor is None:
            return [(oldest, None)]
        start = max(oldest, cursor - LIST_OVERLAP)
        windows: list[tuple[dt.datetime, dt.datetime | None]] = [(start, None)]
        expired_before = min(start, now - self._record_lifetime)
        if expired_before > oldest:
            # One second past the boundary: the List* filters are "after" and "before".
            windows.append((oldest, expired_before + dt.timedelta(seconds=1)))
        return windows

    def listed(
        self, api: JobApi, *, after: dt.datetime | None, before: dt.datetime | None = None
    ) -> Iterator[tuple[str, dt.datetime | None]]:
        """(name, CreationTime) of the resources of `api` in one of its active statuses created
        in the window; every active one when `after` is None.

        One List* call per page: a kind with one active status filters it in SageMaker
        (StatusEquals), one with several (a schedule's Pending and Scheduled) here, so that each
        kind costs one page when nothing is new."""
        # The List* operation is chosen per kind at run time: botocore's generic paginator, not
        # the stubs' one-per-operation-name overloads.
        client: BaseClient = self._sagemaker
        filters: dict[str, Any] = {}
        if after is not None:
            filters["CreationTimeAfter"] = after
        if before is not None:
            filters["CreationTimeBefore"] = before
        statuses = api.active_statuses
        if len(statuses) == 1:
            filters["StatusEquals"] = statuses[0]
        pages = client.get_paginator(xform_name(api.list_operation)).paginate(
            PaginationConfig={"PageSize": PAGE_SIZE}, **filters
        )
        for page in pages:
            for summary in page.get(api.summaries_member, []):
                if api.status_member in summary and summary[api.status_member] not in statuses:
                    continue
                yield summary[api.name_member], summary.get("CreationTime")

    def sweep(self, *, account: str, sweep_id: str, remaining_ms: Callable[[], int]) -> dict[str, Any]:
        report = SweepReport()
        started = self._clock()
        state = self._ledger.sweep_state() if self._ledger is not None else None
        cursor = dt.datetime.fromtimestamp(state.cursor, dt.UTC) if state and state.cursor is not None else None
        windows = self.windows(started, cursor)
        report.listed_since = None if cursor is None else windows[0][0].isoformat()
        event_id = f"{SWEEP_EVENT_PREFIX}{sweep_id}"

        def ref(kind: JobKind, name: str) -> JobRef:
            return JobRef.for_job(kind, name, account=account, region=self._region, event_id=event_id)

        # Parents first (JOB_APIS is in that order: schedules, AutoML, tuning, training,
        # processing): the jobs they launch are remediated through them, and by the time those
        # are listed the parent's outcome is already recorded.
        work: list[Listed] = []
        seen: set[str] = set()
        for kind, api in JOB_APIS.items():
            found: list[tuple[str, dt.datetime | None]]
            if api.in_place:
                found = [(name, None) for name, _ in self.listed(api, after=None)]
            else:
                found = [item for after, before in windows for item in self.listed(api, after=after, before=before)]
            for name, since in found:
                self._add(work, seen, Listed(ref(kind, name), since=since or (None if api.in_place else started)))
            report.listed[kind.value] = sum(1 for item in work if item.ref.kind == kind.value)
        # Owed work (a copy or an alert a run that died still owed), from the ledger's index.
        # A kind updated in place goes through `remediate` (its RESUME decision comes from the
        # ledger, as when it is listed); a job through `resume_if_owed`. One listed already is not
        # handed over twice.
        kinds = {k.value for k in JOB_APIS}
        owed = [ref(JobKind(o.kind), o.name) for o in (state.owed if state else []) if o.kind in kinds]
        for owed_ref in owed:
            self._add(work, seen, Listed(owed_ref, owed=True, resume=not owed_ref.api.in_place))
        if cursor is None:
            # The first sweep (after deployment or an upgrade) also asks the stopped jobs of the
            # window: ledger items an earlier release wrote carry no index key.
            for kind, api in JOB_APIS.items():
                for status in api.stopped_statuses:
                    single = replace(api, active_statuses=(status,))
                    for name, _ in self.listed(single, after=windows[0][0]):
                        self._add(work, seen, Listed(ref(kind, name), owed=True, resume=True, first_sweep=True))
        report.listed["owed"] = sum(1 for item in work if item.owed)
        self._logger.info("sweep listed jobs", extra={"listed": report.listed, "since": report.listed_since})

        unjudged: list[Listed] = []
        pending = iter(work)
        with ThreadPoolExecutor(max_workers=self._settings.max_workers) as pool:
            running: dict[Future[dict[str, Any]], Listed] = {}
            while True:
                while len(running) < self._settings.max_workers and remaining_ms() > self._settings.reserve_ms:
                    item = next(pending, None)
                    if item is None:
                        break
                    handle = self._guard.resume_if_owed if item.resume else self._guard.remediate
                    running[pool.submit(handle, item.ref, busy_is_ok=True)] = item
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    if not self._record(report, item, future):
                        unjudged.append(item)
        left = list(pending)
        report.left_for_next_sweep = len(left)
        unjudged += left
        if any(item.first_sweep for item in unjudged):
            # A stopped job only a first sweep asks: no cursor yet, so the next sweep asks again.
            self._logger.warning("first sweep incomplete: the next one lists the whole window again")
        elif work or cursor is None:
            self._advance(report, min([started, *(item.since for item in unjudged if item.since is not None)]))
        # else nothing was listed: the cursor stays, and the next sweep's listing from it holds
        # only jobs created since, which it must list anyway (one write saved per quiet sweep).

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

    @staticmethod
    def _add(work: list[Listed], seen: set[str], item: Listed) -> None:
        if item.ref.key not in seen:
            seen.add(item.ref.key)
            work.append(item)

    def _advance(self, report: SweepReport, listed_through: dt.datetime) -> None:
        """Record the cursor: every job created before `listed_through` is judged. A failure to
        write it costs the next sweep a wider listing, nothing else: logged, not raised."""
        if self._ledger is None:
            return
        try:
            moved = self._ledger.advance_sweep_cursor(listed_through.timestamp())
        except Exception:
            self._logger.exception("could not record the sweep's cursor; the next sweep lists more")
            return
        if moved:  # else a later cursor is kept (never moved back): the report names none
            report.listed_through = listed_through.isoformat()

    def _record(self, report: SweepReport, item: Listed, future: Future[dict[str, Any]]) -> bool:
        """Count one job's result; whether it is judged (the cursor may pass it)."""
        ref = item.ref
        try:
            result = Result.from_dict(future.result())
        except CopyWaitsForCapacity:
            # Stopped by the guard, its copy waits for the instances the original still holds:
            # the ledger's index keeps it for the next sweep (not an earlier release's item).
            report.outcomes["waiting-for-capacity"] = report.outcomes.get("waiting-for-capacity", 0) + 1
            return not item.first_sweep
        except Exception:
            # One job's trouble does not stop the sweep; it is raised at the end (Lambda retries
            # the sweep; every job already handled meets its idempotency record).
            self._logger.exception("sweep could not handle a job", extra={"job": ref.key})
            report.failed.append(ref.key)
            return False
        name = result.outcome.value
        report.outcomes[name] = report.outcomes.get(name, 0) + 1
        if result.acted and not result.duplicate:
            # Each catch is an event the real-time path missed (or had not handled yet).
            report.caught.append(ref.key)
            self._logger.warning(
                "sweep caught a job the real-time path missed", extra={"job": ref.key, "outcome": name}
            )
        if item.owed and result.outcome is Outcome.NOT_FOUND and self._ledger is not None:
            # Owed work of a resource that is gone (a schedule deleted meanwhile): nothing can be
            # owed to it any more, and an item left owed would cost a Describe every sweep.
            try:
                self._ledger.settle(ref.key, Outcome.NOT_FOUND.value)
            except Exception:
                self._logger.exception("could not settle the owed work of a job that is gone", extra={"job": ref.key})
        # Held by another run, which may still fail: judged only once that run (or a later sweep)
        # has an outcome.
        return result.outcome is not Outcome.IN_PROGRESS_ELSEWHERE

    def _count(self, name: str, value: int) -> None:
        self._reporter.count(name, value)
