"""The sweeper and the ledger over in-memory fakes: what a sweep counts as a catch, what it
leaves for the next one, and the ledger's items as DynamoDB stores them (TypeSerializer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore import xform_name

from ict_guard.jobs import JOB_APIS
from ict_guard.ledger import KEY_PREFIX, RemediationLedger
from ict_guard.outcomes import Outcome, Result
from ict_guard.policy import Intent
from ict_guard.reporting import Reporter
from ict_guard.sweeper import Sweeper, SweepIncomplete, SweepSettings
from tests.unit.fakes import FakeAlerts, FakeLogger, FakeMetrics

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


class FakeListing:
    """The List* paginators of a SageMaker client: `running[kind][status]` -> names."""

    def __init__(self, running: dict[str, dict[str, list[str]]]) -> None:
        self.running = running
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, operation: str) -> Any:
        listing = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                listing.calls.append((operation, kwargs))
                api = next(a for a in JOB_APIS.values() if xform_name(a.list_operation) == operation)
                names = listing.running.get(api.short_name, {}).get(kwargs["StatusEquals"], [])
                return [{api.summaries_member: [{api.name_member: n} for n in names]}]

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


def sweeper(listing: FakeListing, guard: FakeGuard, metrics: FakeMetrics) -> Sweeper:
    logger = FakeLogger()
    return Sweeper(
        sagemaker=listing,  # type: ignore[arg-type]
        guard=guard,  # type: ignore[arg-type]
        settings=SweepSettings(max_workers=2),
        logger=logger,  # type: ignore[arg-type]
        reporter=Reporter(alerts=FakeAlerts(), logger=logger, metrics=metrics),  # type: ignore[arg-type]
        region="us-east-1",
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
    report = sweeper(listing, guard, metrics).sweep(account="123456789012", sweep_id="s1", remaining_ms=lambda: 600_000)
    assert sorted(report["caught"]) == [
        "hyper-parameter-tuning-job/hpo",
        "hyper-parameter-tuning-job/owed-hpo",
        "training-job/missed",
    ]
    assert metrics.counts["SweeperCatches"] == 3
    assert ("owed-hpo", "resume", True) in guard.asked  # a stopped tuning job is only resumed
    assert all(busy_is_ok for _, _, busy_is_ok in guard.asked)  # the next sweep backs up a busy job
    # Only running jobs of the window, filtered by SageMaker, the most per page; every active
    # schedule, whatever its age (an update does not change its CreationTime).
    for operation, kwargs in listing.calls:
        assert kwargs["PaginationConfig"] == {"PageSize": 100}
        if operation == "list_monitoring_schedules":
            assert "CreationTimeAfter" not in kwargs and kwargs["StatusEquals"] in ("Pending", "Scheduled")
        else:
            assert kwargs["CreationTimeAfter"] == NOW - dt.timedelta(hours=24)
    assert {operation for operation, _ in listing.calls} == {xform_name(a.list_operation) for a in JOB_APIS.values()}


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
        for assignment in UpdateExpression.removeprefix("SET ").split(", "):
            name, value = (part.strip() for part in assignment.split("="))
            item[ExpressionAttributeNames[name]] = ExpressionAttributeValues[value]


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

    ledger.record_refusal("training-job/j", "refused because", {**request, "Tags": []})
    ledger.settle("training-job/j", "relaunch-refused")
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
