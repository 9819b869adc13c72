"""The calls the guard sends together (ict_guard/overlap.py), under the faults that split them.

Round 1 sends the decision's reads (Describe*, ListTags) with the Powertools idempotency lock; in
`stop` mode round 2 sends the ledger's intent with the Stop*. Each fault below hits one side of a
pair while the other succeeds, with Lambda's retries above (sandbox.lambda_service)."""

from __future__ import annotations

import pytest

from ict_guard.runtime import job_guard_runtime
from sandbox.faults import Fault

pytestmark = pytest.mark.integration

ATTEMPTS = 5  # ict_guard.aws.RETRY_CONFIG


@pytest.fixture
def stop_mode(guard, monkeypatch):
    for key, value in guard.env.function_environment(REMEDIATION_MODE="stop").items():
        monkeypatch.setenv(key, value)
    job_guard_runtime.cache_clear()
    return guard


def _ledger_items(guard, name: str) -> list[dict]:
    dynamodb = guard.session.client("dynamodb")
    return [
        item
        for item in dynamodb.scan(TableName=guard.env.table_name)["Items"]
        if item["id"]["S"].startswith("ict-guard-ledger#") and item["id"]["S"].endswith("/" + name)
    ]


@pytest.mark.parametrize("read", ["DescribeTrainingJob", "ListTags"])
def test_a_read_failing_while_the_lock_succeeded_releases_the_lock_for_the_retry(guard, faults, read):
    # Every attempt of the first run's read fails; the lock, sent with it, was taken. Powertools
    # deletes the record of a run that raises, so Lambda's retry takes the lock and remediates.
    injector = faults(rate=0.0).script(read, *[Fault.SERVER_ERROR] * ATTEMPTS)
    guard.create_training_job("read-failed", vpc=False)
    (invocation,) = guard.deliver()
    assert invocation.attempts == 2 and invocation.result["outcome"] == "relaunch", invocation.result
    assert injector.injected[("sagemaker", read, Fault.SERVER_ERROR)] == ATTEMPTS
    assert len(guard.training_job_names()) == 2
    assert [a["action"] for a in guard.alerts()] == ["relaunched"]


def test_a_duplicate_while_the_reads_ran_discards_them(guard):
    # The same event twice: the second run's reads go out with its lock, which finds the first
    # run's record COMPLETED; it answers the first outcome and acts on nothing it read.
    guard.create_training_job("delivered-twice", vpc=False)
    (first,) = guard.deliver()
    again = guard.function.invoke(first.event)
    assert again.result["duplicate"] is True and again.result["outcome"] == first.result["outcome"]
    assert len(guard.training_job_names()) == 2
    assert [a["action"] for a in guard.alerts()] == ["relaunched"]


def test_a_lost_answer_to_the_lock_sent_with_the_reads_still_stops_the_job(guard, faults):
    # The lock's PutItem takes effect and its answer is lost: botocore's retry meets the record
    # (a held lock), raised as JobBusy; the reads sent with it are discarded, nothing is done, and
    # Lambda's retry (or the dead-letter queue) takes over, as before the reads overlapped it.
    faults(rate=0.0).script("PutItem", Fault.READ_TIMEOUT)
    guard.create_training_job("lock-lost", vpc=False)
    (invocation,) = guard.deliver()
    status = guard.describe("lock-lost")["TrainingJobStatus"]
    assert invocation.dead_lettered or status in ("Stopping", "Stopped"), (invocation.result, status)


def test_stop_mode_records_the_intent_before_the_stop_and_settles_it(stop_mode):
    stop_mode.create_training_job("plain-stop", vpc=False)
    (invocation,) = stop_mode.deliver()
    assert invocation.result["outcome"] == "stop"
    (item,) = _ledger_items(stop_mode, "plain-stop")
    assert item["intent"]["S"] == "stop" and item["settled"]["BOOL"] is True
    assert [a["action"] for a in stop_mode.alerts()] == ["stopped"]


def test_stop_mode_a_ledger_write_failing_stops_nothing_and_the_retry_stops_and_alerts_once(stop_mode, faults):
    # The lock's PutItem (round 1) goes through; every attempt of the intent's PutItem fails. The
    # intent goes before the stop (its alert is owed afterwards): nothing is stopped, nothing
    # alerted; Lambda's retry records, stops and alerts once.
    faults(rate=0.0).script("PutItem", None, *[Fault.SERVER_ERROR] * ATTEMPTS)
    stop_mode.create_training_job("intent-lost", vpc=False)
    (invocation,) = stop_mode.deliver()
    assert invocation.attempts == 2 and invocation.result["outcome"] == "stop", invocation.result
    assert stop_mode.describe("intent-lost")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert stop_mode.tags("intent-lost")["ict-guard:remediation"] == "stopped"
    assert [a["action"] for a in stop_mode.alerts()] == ["stopped"]
    (item,) = _ledger_items(stop_mode, "intent-lost")
    assert item["settled"]["BOOL"] is True


def test_stop_mode_a_run_that_loses_its_alerts_after_the_stop_is_alerted_stopped_by_the_retry(stop_mode, faults):
    # SNS down for the first run after its stop took effect: its alert and its failed alert are
    # lost. The retry finds the intent recorded and the job stopped: the guard's stop, alerted
    # `stopped` (HIGH), never a stopped job without an alert, never `notified`.
    faults(rate=0.0).script("Publish", *[Fault.SERVER_ERROR] * (2 * ATTEMPTS))  # its alert, its failed alert
    stop_mode.create_training_job("all-lost", vpc=False)
    (invocation,) = stop_mode.deliver()
    assert stop_mode.describe("all-lost")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert invocation.attempts == 2 and not invocation.dead_lettered, invocation.result
    actions = [a["action"] for a in stop_mode.alerts()]
    assert actions == ["stopped"], actions


def test_stop_mode_a_lost_answer_to_the_stop_with_the_intent_recorded_is_the_guards_stop(stop_mode, faults):
    # The stop takes effect and its answer is lost; botocore's retry meets a Stopping job, which
    # right after the guard's own stop is taken as that stop: the run goes on to its alert.
    faults(rate=0.0).script("StopTrainingJob", Fault.READ_TIMEOUT)
    stop_mode.create_training_job("stop-lost", vpc=False)
    (invocation,) = stop_mode.deliver()
    assert invocation.attempts == 1 and invocation.result["outcome"] == "stop", invocation.result
    (item,) = _ledger_items(stop_mode, "stop-lost")
    assert item["settled"]["BOOL"] is True
    assert [a["action"] for a in stop_mode.alerts()] == ["stopped"]
