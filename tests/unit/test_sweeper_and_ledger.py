"""The sweeper and the ledger over in-memory fakes: what a sweep counts as a catch, what it
leaves for the next one, and the ledger's items as DynamoDB stores them (TypeSerializer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore import xform_name

from ict_guard.jobs import DEFINITION_APIS, JOB_APIS
from ict_guard.ledger import KEY_PREFIX, OwedJob, RemediationLedger, SweepState
from ict_guard.outcomes import Outcome, Result
from ict_guard.policy import Intent
from ict_guard.reporting import Reporter
from ict_guard.sweeper import LIST_OVERLAP, Sweeper, SweepIncomplete, SweepSettings
from tests.unit.fakes import FakeAlerts, FakeLogger, FakeMetrics

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


class FakeListing:
    """The List* paginators of a SageMaker client: `running[kind][status]` -> names, each created
    at `created.get(name, NOW - 1 h)`; the filters a sweep sends are applied as SageMaker does."""

    def __init__(self, running: dict[str, dict[str, list[str]]], created: dict[str, dt.datetime] | None = None) -> None:
        self.running = running
        self.created = created or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, operation: str) -> Any:
        listing = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                listing.calls.append((operation, kwargs))
                api = next(
                    a
                    for a in (*JOB_APIS.values(), *DEFINITION_APIS.values())
                    if xform_name(a.list_operation) == operation
                )
                time_member = "LastModifiedTime" if api.in_place else "CreationTime"
                after = kwargs.get(f"{time_member}After")
                before = kwargs.get(f"{time_member}Before")
                summaries = []
                for status, names in listing.running.get(api.short_name, {}).items():
                    if kwargs.get("StatusEquals", status) != status:
                        continue
                    for name in names:
                        at = listing.created.get(name, NOW - dt.timedelta(hours=1))
                        if (after is None or at > after) and (before is None or at < before):
                            summaries.append({api.name_member: name, api.status_member: status, time_member: at})
                return [{api.summaries_member: summaries}]

        return Paginator()


class FakeGuard:
    """JobGuard.remediate / resume_if_owed answering from `answers` (name -> result or error)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, bool]] = []

    def _answer(self, ref: Any, purpose: str, busy_is_ok: bool) -> dict[str, Any]:
        self.asked.append((ref.name, purpose, busy_is_ok))
        answer = self.answers[ref.name]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def remediate(self, ref: Any, *, busy_is_ok: bool = False) -> dict[str, Any]:
        return self._answer(ref, "remediate", busy_is_ok)

    def resume_if_owed(self, ref: Any, *, busy_is_ok: bool = False) -> dict[str, Any]:
        return self._answer(ref, "resume", busy_is_ok)


class FakeLedger:
    """RemediationLedger.sweep_state / advance_sweep_cursor, in memory."""

    def __init__(self, owed: list[OwedJob] | None = None, cursor: dt.datetime | None = None) -> None:
        self.owed = owed or []
        self.cursor = cursor.timestamp() if cursor else None

    def sweep_state(self) -> SweepState:
        return SweepState(list(self.owed), self.cursor)

    def advance_sweep_cursor(self, listed_through: float) -> bool:
        if self.cursor is not None and self.cursor >= listed_through:
            return False
        self.cursor = listed_through
        return True


def sweeper(
    listing: FakeListing,
    guard: FakeGuard,
    metrics: FakeMetrics,
    ledger: FakeLedger | None = None,
    settings: SweepSettings | None = None,
) -> Sweeper:
    logger = FakeLogger()
    return Sweeper(
        sagemaker=listing,  # type: ignore[arg-type]
        guard=guard,  # type: ignore[arg-type]
        settings=settings or SweepSettings(max_workers=2),
        logger=logger,  # type: ignore[arg-type]
        reporter=Reporter(alerts=FakeAlerts(), logger=logger, metrics=metrics),  # type: ignore[arg-type]
        region="us-east-1",
        ledger=ledger,  # type: ignore[arg-type]
        clock=lambda: NOW,
    )


def test_a_sweep_counts_what_it_caught_not_what_was_handled_already() -> None:
    listing = FakeListing(
        {
            "training": {"InProgress": ["missed", "handled", "compliant"]},
            "tuning": {"InProgress": ["hpo"], "Stopped": ["owed-hpo"]},
        }
    )
    guard = FakeGuard(
        {
            "missed": Result(Outcome.RELAUNCH, "missed", details={"created": True}).as_dict(),
            "handled": Result(Outcome.RELAUNCH, "handled", duplicate=True).as_dict(),
            "compliant": Result(Outcome.NOTHING, "compliant").as_dict(),
            "hpo": Result(Outcome.NOTIFY, "hpo").as_dict(),
            "owed-hpo": Result(Outcome.RESUME, "owed-hpo").as_dict(),
        }
    )
    metrics = FakeMetrics()
    ledger = FakeLedger(owed=[OwedJob("hyper-parameter-tuning-job/owed-hpo", "hyper-parameter-tuning-job", "owed-hpo")])
    report = sweeper(listing, guard, metrics, ledger).sweep(
        account="123456789012", sweep_id="s1", remaining_ms=lambda: 600_000
    )
    assert sorted(report["caught"]) == [
        "hyper-parameter-tuning-job/hpo",
        "hyper-parameter-tuning-job/owed-hpo",
        "training-job/missed",
    ]
    assert metrics.counts["SweeperCatches"] == 3
    # The stopped tuning job is owed (the ledger's index and, the first sweep, the stopped
    # listing: once), and only resumed.
    assert report["listed"]["hyper-parameter-tuning-job"] == 1 and report["listed"]["owed"] == 1
    assert [name for name, _, _ in guard.asked].count("owed-hpo") == 1
    assert ("owed-hpo", "resume", True) in guard.asked
    assert all(busy_is_ok for _, _, busy_is_ok in guard.asked)  # the next sweep backs up a busy job
    # The first sweep (no cursor): running jobs of the look-back window, filtered by SageMaker,
    # the most per page; every active schedule, whatever its age, in one listing; no job
    # definitions (every schedule is listed anyway).
    for operation, kwargs in listing.calls:
        assert kwargs["PaginationConfig"] == {"PageSize": 100}
        if operation == "list_monitoring_schedules":
            assert set(kwargs) == {"PaginationConfig"}
        else:
            assert kwargs["CreationTimeAfter"] == NOW - dt.timedelta(hours=24)
            # Running jobs; and, the first sweep only, the stopping and stopped ones, for owed
            # work an earlier release recorded without the index key.
            assert kwargs["StatusEquals"] in ("InProgress", "Stopping", "Stopped")
    statuses = {a.list_operation: (*a.active_statuses[:1], *a.stopped_statuses) for a in JOB_APIS.values()}
    assert sorted(operation for operation, _ in listing.calls) == sorted(
        xform_name(op) for op, listed in statuses.items() for _ in listed
    )
    # Every job judged: the cursor is the sweep's start.
    assert ledger.cursor == NOW.timestamp() and report["listed_through"] == NOW.isoformat()


def test_with_a_cursor_a_sweep_lists_only_what_is_new() -> None:
    """Jobs created before the cursor (less the overlap) are not listed, so not described; every
    active schedule is (there are few, and a judgment of one expires while it runs for months)."""
    cursor = NOW - dt.timedelta(minutes=15)
    listing = FakeListing(
        {
            "training": {"InProgress": ["old-1", "old-2", "new-1"]},
            "monitoring": {"Scheduled": ["changed", "unchanged"], "Stopped": ["stopped"]},
        },
        created={
            "old-1": cursor - dt.timedelta(hours=2),
            "old-2": cursor - LIST_OVERLAP - dt.timedelta(seconds=1),
            "new-1": cursor - dt.timedelta(minutes=1),  # within the overlap: listed again
            "changed": NOW - dt.timedelta(minutes=3),
            "unchanged": cursor - dt.timedelta(days=40),
            "stopped": NOW - dt.timedelta(minutes=3),
        },
    )
    nothing = Result(Outcome.NOTHING).as_dict()
    guard = FakeGuard({"new-1": nothing, "changed": nothing, "unchanged": nothing})
    ledger = FakeLedger(cursor=cursor)
    report = sweeper(listing, guard, FakeMetrics(), ledger).sweep(
        account="1", sweep_id="s", remaining_ms=lambda: 600_000
    )

    assert sorted(name for name, _, _ in guard.asked) == ["changed", "new-1", "unchanged"]
    assert report["listed_since"] == (cursor - LIST_OVERLAP).isoformat()
    calls = dict(listing.calls)
    assert calls["list_training_jobs"]["CreationTimeAfter"] == cursor - LIST_OVERLAP
    assert set(calls["list_monitoring_schedules"]) == {"PaginationConfig"}
    # One call per kind: nothing grows with the jobs already judged; no stopped jobs listed.
    assert len(listing.calls) == len(JOB_APIS)
    assert ledger.cursor == NOW.timestamp()


@pytest.mark.parametrize(
    ("answer", "judged"),
    [
        (TimeoutError("throttled"), False),
        (Result(Outcome.IN_PROGRESS_ELSEWHERE, "held").as_dict(), False),
        (Result(Outcome.NOTHING, "held").as_dict(), True),
        (Result(Outcome.LEAVE_TO_PARENT, "held").as_dict(), True),
    ],
)
def test_a_job_not_judged_holds_the_cursor_at_its_creation(answer: Any, judged: bool) -> None:
    created = NOW - dt.timedelta(minutes=40)
    listing = FakeListing(
        {"training": {"InProgress": ["held", "fine"]}}, created={"held": created, "fine": NOW - dt.timedelta(minutes=1)}
    )
    guard = FakeGuard({"held": answer, "fine": Result(Outcome.NOTHING, "fine").as_dict()})
    ledger = FakeLedger()
    try:
        sweeper(listing, guard, FakeMetrics(), ledger).sweep(account="1", sweep_id="s", remaining_ms=lambda: 600_000)
    except SweepIncomplete:
        assert not judged
    assert ledger.cursor == (NOW if judged else created).timestamp()


def test_jobs_left_for_lack_of_time_hold_the_cursor() -> None:
    created = NOW - dt.timedelta(minutes=30)
    listing = FakeListing({"training": {"InProgress": ["a", "b"]}}, created={"a": created, "b": NOW})
    ledger = FakeLedger()
    sweeper(listing, FakeGuard({}), FakeMetrics(), ledger).sweep(account="1", sweep_id="s", remaining_ms=lambda: 30_000)
    assert ledger.cursor == created.timestamp()


def test_the_windows_list_again_the_jobs_whose_judgment_expired() -> None:
    """A judgment lives as long as its idempotency record (24 h): with a look-back window longer
    than that, the older part of it is listed in full each sweep; with the default (24 h) only
    what is new."""
    listing, guard = FakeListing({}), FakeGuard({})
    cursor = NOW - dt.timedelta(minutes=15)
    default = sweeper(listing, guard, FakeMetrics())
    assert default.windows(NOW, None) == [(NOW - dt.timedelta(hours=24), None)]
    assert default.windows(NOW, cursor) == [(cursor - LIST_OVERLAP, None)]
    # A cursor older than the look-back window: the window is the limit.
    assert default.windows(NOW, NOW - dt.timedelta(days=3)) == [(NOW - dt.timedelta(hours=24), None)]
    long = sweeper(listing, guard, FakeMetrics(), settings=SweepSettings(lookback_minutes=3 * 24 * 60))
    assert long.windows(NOW, cursor) == [
        (cursor - LIST_OVERLAP, None),
        (NOW - dt.timedelta(days=3), NOW - dt.timedelta(hours=24) + dt.timedelta(seconds=1)),
    ]


def test_one_failing_job_fails_the_sweep_at_the_end_after_the_others() -> None:
    listing = FakeListing({"training": {"InProgress": ["a", "broken", "b"]}})
    guard = FakeGuard(
        {
            "a": Result(Outcome.STOP, "a").as_dict(),
            "broken": TimeoutError("x"),
            "b": Result(Outcome.STOP, "b").as_dict(),
        }
    )
    with pytest.raises(SweepIncomplete, match="training-job/broken"):
        sweeper(listing, guard, FakeMetrics()).sweep(account="1", sweep_id="s", remaining_ms=lambda: 600_000)
    assert sorted(name for name, _, _ in guard.asked) == ["a", "b", "broken"]


def test_a_sweep_short_of_time_leaves_the_rest_for_the_next() -> None:
    listing = FakeListing({"training": {"InProgress": ["a", "b"]}})
    metrics = FakeMetrics()
    report = sweeper(listing, FakeGuard({}), metrics).sweep(account="1", sweep_id="s", remaining_ms=lambda: 30_000)
    assert report["left_for_next_sweep"] == 2 and metrics.counts["SweepJobsLeftForNextSweep"] == 2


class FakeDynamoDB:
    """put_item / get_item / update_item ("SET #0 = :0, ...") on one table, in memory."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, TableName: str, Item: dict[str, Any]) -> None:
        self.items[Item["id"]["S"]] = dict(Item)

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get(Key["id"]["S"])
        return {"Item": dict(item)} if item else {}

    def update_item(
        self,
        TableName: str,
        Key: dict[str, Any],
        UpdateExpression: str,
        ExpressionAttributeNames: dict[str, str],
        ExpressionAttributeValues: dict[str, Any],
    ) -> None:
        item = self.items.setdefault(Key["id"]["S"], dict(Key))
        assignments, _, removed = UpdateExpression.removeprefix("SET ").partition(" REMOVE ")
        for assignment in assignments.split(", "):
            name, value = (part.strip() for part in assignment.split("="))
            item[ExpressionAttributeNames[name]] = ExpressionAttributeValues[value]
        for name in filter(None, removed.split(", ")):
            item.pop(ExpressionAttributeNames[name], None)


def test_the_ledger_keeps_the_request_the_refusal_and_the_settlement() -> None:
    db = FakeDynamoDB()
    ledger = RemediationLedger(db, "table", clock=lambda: 1_700_000_000)  # type: ignore[arg-type]
    request = {
        "TrainingJobName": "j-enc-1",
        "HyperParameters": {"lr": "0.1"},
        "ResourceConfig": {"VolumeSizeInGB": 1.5},
    }
    ledger.record("training-job/j", Intent.RELAUNCH, request)
    stored = db.items[KEY_PREFIX + "training-job/j"]
    # DynamoDB's own types, as boto3's TypeSerializer writes them; the request as JSON text.
    assert stored["intent"] == {"S": "relaunch"} and stored["settled"] == {"BOOL": False}
    assert stored["expiration"] == {"N": str(1_700_000_000 + 30 * 24 * 3600)}
    entry = ledger.lookup("training-job/j")
    assert entry is not None and entry.relaunch_request == request and not entry.settled

    assert stored["sweep_index"] == {"S": "owed"}  # owed work, in the sweep's index

    ledger.record_refusal("training-job/j", "refused because", {**request, "Tags": []})
    ledger.settle("training-job/j", "relaunch-refused")
    assert "sweep_index" not in db.items[KEY_PREFIX + "training-job/j"]  # settled: out of the index
    entry = ledger.lookup("training-job/j")
    assert entry is not None and entry.settled and entry.outcome == "relaunch-refused"
    assert entry.refusal == "refused because" and entry.relaunch_request == {**request, "Tags": []}
    assert ledger.lookup("training-job/other") is None


def test_sweep_settings_come_from_the_environment_and_name_every_problem() -> None:
    from ict_guard.settings import ConfigurationError

    settings = SweepSettings.from_env({"SWEEP_LOOKBACK_MINUTES": "90", "SWEEP_MAX_WORKERS": "8", "OTHER": "x"})
    assert settings.lookback == dt.timedelta(minutes=90) and settings.max_workers == 8
    with pytest.raises(ConfigurationError) as raised:
        SweepSettings.from_env({"SWEEP_LOOKBACK_MINUTES": "5", "SWEEP_MAX_WORKERS": "many"})
    assert "SWEEP_LOOKBACK_MINUTES" in str(raised.value) and "SWEEP_MAX_WORKERS" in str(raised.value)


def test_a_large_request_is_stored_compressed_and_read_back_whole() -> None:
    db = FakeDynamoDB()
    ledger = RemediationLedger(db, "table")  # type: ignore[arg-type]
    request = {"TrainingJobName": "big-enc-1", "HyperParameters": {f"p{i}": "x" * 2000 for i in range(100)}}
    ledger.record("training-job/big", Intent.RELAUNCH, request)
    stored = db.items[KEY_PREFIX + "training-job/big"]
    assert "B" in stored["relaunch_request_z"] and len(stored["relaunch_request_z"]["B"]) < 50_000
    entry = ledger.lookup("training-job/big")
    assert entry is not None and entry.relaunch_request == request


def test_a_request_too_large_for_the_ledger_is_refused_before_the_stop() -> None:
    import os

    from ict_guard.jobs import TRAINING_API
    from ict_guard.preflight import preflight
    from tests.unit.fakes import MODEL

    incompressible = {f"p{i}": os.urandom(1200).hex() for i in range(400)}  # ~480 KB compressed
    request = {"TrainingJobName": "huge-enc-1", "HyperParameters": incompressible}
    assert "ledger-item-size" in {r.rule for r in preflight(TRAINING_API, request, MODEL)}
