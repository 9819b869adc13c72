"""The sweep costs what is new (issue 14): through the real handlers on the embedded AWS, a job
judged by an earlier sweep is not listed, described or looked up again while it runs; one the
sweep could not judge is listed again; a job definition created again while its events were lost
has the schedules that run it judged (every active schedule is judged every sweep)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from moto.sagemaker.models import sagemaker_backends

from functions.sweeper.app import lambda_handler as sweeper_handler
from ict_guard.clone import relaunch_name
from ict_guard.jobs import JOB_APIS
from ict_guard.runtime import job_guard_runtime, sweeper_runtime
from ict_guard.sweeper import LIST_OVERLAP, SweepIncomplete
from sandbox import monitoring_extension
from tests.integration.test_sweeper import ACCOUNT, REGION, SCHEDULED, lose_events

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _fresh_sweeper() -> Iterator[None]:
    sweeper_runtime.cache_clear()
    yield
    sweeper_runtime.cache_clear()


def sweep_at(lambda_context, minutes_from_now: float, sweep_id: str) -> dict:
    """One scheduled sweep whose clock reads `minutes_from_now` (the schedule runs every 15)."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_from_now)
    sweeper_runtime().sweeper._clock = lambda: at
    return sweeper_handler({**SCHEDULED, "id": sweep_id}, lambda_context)


def record_calls() -> Counter[str]:
    """Every call the sweeper's and the job guard's clients make, by operation."""
    calls: Counter[str] = Counter()
    clients = job_guard_runtime().clients
    for client in (clients.sagemaker, clients.dynamodb):
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def test_a_sweep_with_nothing_new_lists_and_reads_nothing_per_job(sandbox, lambda_context):
    for i in range(6):
        sandbox.create_training_job(f"fine-{i}", encrypted=True, vpc=False)
    sandbox.create_training_job("lost-1")
    lose_events(sandbox)
    first = sweep_at(lambda_context, 20, "sweep-1")
    assert first["caught"] == ["training-job/lost-1"] and first["listed_since"] is None
    lose_events(sandbox)  # the guard's own copy's event

    calls = record_calls()
    second = sweep_at(lambda_context, 35, "sweep-2")

    assert second["listed_since"] == (dt.datetime.fromisoformat(first["listed_through"]) - LIST_OVERLAP).isoformat()
    assert second["caught"] == [] and set(second["listed"].values()) == {0}
    # One List* per kind, one Query of the ledger's index; not one Describe*, ListTags or
    # idempotency read for the 7 running jobs judged before.
    expected = Counter({api.list_operation: 1 for api in JOB_APIS.values()})
    expected["Query"] = 1
    assert calls == expected  # nothing listed: the cursor is not even written


def test_a_job_the_sweep_failed_on_holds_the_cursor_and_is_listed_again(sandbox, configure, lambda_context):
    runtime = configure()
    sandbox.create_training_job("flaky")
    lose_events(sandbox)
    failures = {"left": 1}

    def fail_first_stop(**kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("injected")

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", fail_first_stop)
    with pytest.raises(SweepIncomplete):
        sweep_at(lambda_context, 20, "sweep-1")
    # Held at the job's creation, not at the sweep's start: the next sweep lists it again.
    created = sandbox.describe("flaky")["CreationTime"]
    cursor = job_guard_runtime().guard.ledger.sweep_state().cursor
    assert cursor == pytest.approx(created.timestamp(), abs=0.01)

    sweeper_runtime.cache_clear()
    second = sweep_at(lambda_context, 35, "sweep-2")
    assert second["caught"] == ["training-job/flaky"]
    assert relaunch_name("flaky") in sandbox.training_job_names()


def test_a_definition_created_again_while_its_events_were_lost_is_caught_by_the_sweep(sandbox, lambda_context):
    from tests.integration.test_schedule_remediation import DATA_QUALITY, SCHEDULE

    sandbox.create_data_quality_job_definition("churn-dq", encrypted=True, vpc=False)
    sandbox.create_monitoring_schedule("churn-dq-hourly", definition="churn-dq")
    # Changed an hour ago: outside the overlap, so only the new definition can bring it back.
    store = monitoring_extension._store(sagemaker_backends[ACCOUNT][REGION])
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    for schedule in store.schedules.values():
        schedule.creation_time = schedule.last_modified_time = an_hour_ago
    lose_events(sandbox)
    first = sweeper_handler(SCHEDULED, lambda_context)
    assert first["caught"] == [] and first["listed"]["monitoring-schedule"] == 1

    sandbox.sagemaker.delete_data_quality_job_definition(JobDefinitionName="churn-dq")
    sandbox.create_data_quality_job_definition("churn-dq", encrypted=False, vpc=False)
    lose_events(sandbox)  # the definition's Create event never arrives
    sweeper_runtime.cache_clear()
    second = sweeper_handler({**SCHEDULED, "id": "sched-2"}, lambda_context)

    assert second["caught"] == ["monitoring-schedule/churn-dq-hourly"]
    runs = sandbox.describe_kind(SCHEDULE, "churn-dq-hourly")["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    assert sandbox.describe_kind(DATA_QUALITY, runs)["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert [(a["action"], a["resource"]["name"]) for a in sandbox.alerts()] == [
        ("encrypted_in_place", "churn-dq-hourly")
    ]


def test_a_job_the_real_time_path_judged_costs_the_sweep_one_record_read_not_a_describe(sandbox, lambda_context):
    """A job created just before a sweep is listed again (the overlap), but its judgment is the
    real-time path's idempotency record: no Describe*, no ListTags (the decision reads the event
    path sends with its lock are not sent for a sweep)."""
    sandbox.create_training_job("seen-small-1", instance_count=1)  # unencrypted, below the minimum
    sandbox.create_training_job("seen-small-2", instance_count=1)
    assert len(sandbox.deliver()) == 2  # the real-time path judges both (ignored)
    calls = record_calls()
    report = sweep_at(lambda_context, 0, "sweep-1")
    assert report["listed"]["training-job"] == 2 and report["caught"] == []
    assert report["outcomes"] == {"nothing": 2}
    assert calls["DescribeTrainingJob"] == calls["ListTags"] == 0
    assert calls["PutItem"] == 2  # one idempotency read (a conditional put) per job
