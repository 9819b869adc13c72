"""Review 3 of the sweep's cursor (issue 14 item 2): each test shows a running, unencrypted job or
schedule (or owed work) that the cursor design makes no sweep ever look at again. They fail on
b00220b (regression tests now); the fakes are those of tests/unit/test_sweeper_and_ledger.py."""

from __future__ import annotations

import datetime as dt

import pytest

from ict_guard.outcomes import Outcome, Result
from ict_guard.reporting import Reporter
from ict_guard.sweeper import Sweeper, SweepIncomplete, SweepSettings
from tests.unit.fakes import FakeAlerts, FakeLogger, FakeMetrics
from tests.unit.test_sweeper_and_ledger import NOW, FakeGuard, FakeLedger, FakeListing

pytestmark = pytest.mark.unit


def sweeper_at(at: dt.datetime, listing: FakeListing, guard: FakeGuard, ledger: FakeLedger) -> Sweeper:
    logger = FakeLogger()
    return Sweeper(
        sagemaker=listing,  # type: ignore[arg-type]
        guard=guard,  # type: ignore[arg-type]
        settings=SweepSettings(max_workers=1),
        logger=logger,  # type: ignore[arg-type]
        reporter=Reporter(alerts=FakeAlerts(), logger=logger, metrics=FakeMetrics()),  # type: ignore[arg-type]
        region="us-east-1",
        ledger=ledger,  # type: ignore[arg-type]
        clock=lambda: at,
    )


def run(sweeper: Sweeper, remaining_ms=lambda: 600_000) -> dict | None:
    try:
        return sweeper.sweep(account="123456789012", sweep_id="s", remaining_ms=remaining_ms)
    except SweepIncomplete:
        return None


def test_S1_a_schedule_the_first_sweep_could_not_judge_is_never_listed_again() -> None:
    """What a user sees: the guard is deployed into an account whose unencrypted monitoring
    schedule was last changed weeks ago. The first sweep (no cursor) lists every active schedule;
    one DescribeMonitoringSchedule is throttled, so the sweep fails (SweepFailures, Lambda
    retries it). The cursor is "held" at the schedule's *LastModifiedTime* (weeks ago), but the
    next sweep lists schedules changed after max(now - look-back, cursor - 15 min) = now - 24 h:
    the schedule is not listed again, by this sweep or any later one, until someone changes it.
    Its monitoring jobs keep running unencrypted and nothing says so any more (before the change
    every active schedule was listed every sweep). Held times that are older than the look-back
    window protect nothing: a schedule's `since` is compared with a window it can never be in."""
    changed = NOW - dt.timedelta(days=40)
    listing = FakeListing({"monitoring": {"Scheduled": ["churn-dq-hourly"]}}, created={"churn-dq-hourly": changed})
    ledger = FakeLedger()  # the first sweep after the deployment: no cursor
    first = FakeGuard({"churn-dq-hourly": TimeoutError("ThrottlingException (retries exhausted)")})
    assert run(sweeper_at(NOW, listing, first, ledger)) is None  # SweepIncomplete: Lambda retries it

    # Lambda's retry, or the next scheduled sweep: the throttling is over.
    second = FakeGuard({"churn-dq-hourly": Result(Outcome.RELAUNCH, "churn-dq-hourly").as_dict()})
    run(sweeper_at(NOW + dt.timedelta(minutes=15), listing, second, ledger))
    assert [name for name, _, _ in second.asked] == ["churn-dq-hourly"], (
        "the schedule the first sweep could not judge was never listed again"
    )


def test_S2_owed_work_of_an_earlier_release_left_by_the_first_sweep_for_lack_of_time_is_never_asked_again() -> None:
    """What a user sees: after an upgrade, a training job that the earlier release stopped and
    still owes a copy (its ledger item has no `sweep_index`: it is not in SweepIndex) is Stopped.
    Only the first sweep (no cursor) lists stopped jobs for it. That sweep has the whole 24 h
    window to judge (in a busy account, hundreds of running jobs) and the stopped jobs are queued
    *last*; it runs out of time before them and logs "the rest waits for the next sweep". But an
    owed item carries no `since`, so nothing holds the cursor: it is written (a first sweep always
    writes it), and every later sweep has a cursor, so none lists stopped jobs again. The copy is
    never made: the stopped job nobody re-launches, DESIGN.md's worst outcome, silently (no failed
    alert, no SweepFailures)."""
    listing = FakeListing(
        {"training": {"InProgress": ["busy-1", "busy-2"], "Stopped": ["stopped-by-old-release"]}},
    )
    ledger = FakeLedger()  # no cursor; the old release's item is not in the index (owed=[])
    relaunched = Result(Outcome.RESUME, "stopped-by-old-release").as_dict()
    answers = {
        "busy-1": Result(Outcome.NOTHING, "busy-1").as_dict(),
        "busy-2": Result(Outcome.NOTHING, "busy-2").as_dict(),
        "stopped-by-old-release": relaunched,
    }
    first_guard = FakeGuard(answers)
    # Time for the two running jobs only; then less than the reserve (60 s) is left.
    budget = lambda: 600_000 if len(first_guard.asked) < 2 else 30_000  # noqa: E731
    report = run(sweeper_at(NOW, listing, first_guard, ledger), remaining_ms=budget)
    assert report is not None and report["left_for_next_sweep"] == 1
    assert "stopped-by-old-release" not in [name for name, _, _ in first_guard.asked]

    later = FakeGuard(answers)
    run(sweeper_at(NOW + dt.timedelta(minutes=15), listing, later, ledger))
    assert ("stopped-by-old-release", "resume", True) in later.asked, (
        "the owed job left 'for the next sweep' is never asked again"
    )


def test_S6_the_report_names_a_cursor_the_ledger_refused_to_record() -> None:
    """What a user sees: the sweep's log ("sweep finished") and return value say
    `listed_through` = the creation of a job it could not judge, described as "the cursor this
    sweep recorded" (SweepReport). When that job was listed in the overlap (created before the
    stored cursor), the conditional write is refused (never moves back) and advance_sweep_cursor
    returns False, which `_advance` ignores: the report names a cursor that is not the one
    stored. An operator reading the log to see how far back the next sweep lists is misled."""
    cursor = NOW - dt.timedelta(minutes=15)
    late = cursor - dt.timedelta(minutes=5)  # shown by List* only now (the overlap's purpose)
    listing = FakeListing({"training": {"InProgress": ["late"]}}, created={"late": late})
    ledger = FakeLedger(cursor=cursor)
    guard = FakeGuard({"late": TimeoutError("throttled")})
    sweeper = sweeper_at(NOW, listing, guard, ledger)
    reports: list[dict] = []
    original = sweeper._advance

    def spy(report, listed_through):  # type: ignore[no-untyped-def]
        original(report, listed_through)
        reports.append(report.as_dict())

    sweeper._advance = spy  # type: ignore[method-assign]
    assert run(sweeper) is None
    stored = dt.datetime.fromtimestamp(ledger.cursor, dt.UTC).isoformat()
    assert reports[0]["listed_through"] in (None, stored), (
        f"the report says the cursor is {reports[0]['listed_through']}, the ledger keeps {stored}"
    )
