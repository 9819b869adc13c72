"""The scheduled sweeper: running jobs whose events were lost are remediated through the job
guard's own path, exactly once, and counted; handled jobs cost no second remediation."""

from __future__ import annotations

import json
import time

import pytest

from functions.job_guard.app import lambda_handler
from functions.sweeper.app import lambda_handler as sweeper_handler
from ict_guard import remediation
from ict_guard.clone import relaunch_name
from ict_guard.runtime import job_guard_runtime, sweeper_runtime
from ict_guard.sweeper import SweepIncomplete
from sandbox import sagemaker_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
SCHEDULED = {
    "version": "0",
    "id": "sched-1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-11-26T10:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {},
}


@pytest.fixture(autouse=True)
def _fresh_sweeper():
    sweeper_runtime.cache_clear()
    yield
    sweeper_runtime.cache_clear()


def lose_events(sandbox):
    """Drop what the rules delivered: the CloudTrail events never reached the function."""
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    while messages := sandbox.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def emf_records(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


def test_a_lost_event_is_caught_by_the_next_sweep(sandbox, lambda_context, capsys):
    sandbox.create_training_job("lost-1")
    sandbox.create_training_job("fine-1", encrypted=True, vpc=False)
    lose_events(sandbox)

    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["listed"] == {  # every kind running, and the work the ledger says is owed
        "monitoring-schedule": 0,
        "automl-job": 0,
        "hyper-parameter-tuning-job": 0,
        "training-job": 2,
        "processing-job": 0,
        "owed": 0,
    }
    assert report["caught"] == ["training-job/lost-1"]
    assert relaunch_name("lost-1") in sandbox.training_job_names()
    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched" and alert["event_id"].startswith("sweep:")
    assert any("scheduled sweep" in note for note in alert["notes"])
    sweep_metrics = [r for r in emf_records(capsys) if "SweeperCatches" in r]
    assert sweep_metrics and sweep_metrics[-1]["SweeperCatches"] in (1.0, [1.0])


def test_jobs_the_real_time_path_handled_are_not_remediated_again(sandbox, lambda_context):
    sandbox.create_training_job("seen-1")
    sandbox.deliver()
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]

    report = sweeper_handler(SCHEDULED, lambda_context)
    # The original is Stopped now, so only its encrypted copy is running; the copy was seen too.
    # The first sweep asks the stopped original whether a copy is still owed: none is.
    assert report["listed"]["training-job"] == 1 and report["caught"] == []
    assert report["listed"]["owed"] == 1
    assert report["outcomes"] == {"repair-security-groups": 1, "nothing-owed": 1}
    # Later sweeps read owed work from the ledger's index: nothing (its item is settled).
    sweeper_runtime.cache_clear()
    again = sweeper_handler({**SCHEDULED, "id": "sched-2"}, lambda_context)
    assert again["listed"]["owed"] == 0 and again["caught"] == []
    assert sandbox.alerts() == []
    assert len(sandbox.training_job_names()) == 2


def test_finished_and_old_jobs_are_not_listed(sandbox, lambda_context, monkeypatch):
    monkeypatch.setenv("SWEEP_LOOKBACK_MINUTES", "15")
    sandbox.create_training_job("done-1")
    sagemaker_extension.complete_training_job(ACCOUNT, REGION, "done-1")
    lose_events(sandbox)
    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["listed"] == {  # every kind running, and the work the ledger says is owed
        "monitoring-schedule": 0,
        "automl-job": 0,
        "hyper-parameter-tuning-job": 0,
        "training-job": 0,
        "processing-job": 0,
        "owed": 0,
    }


def test_a_tuning_job_and_its_training_jobs_are_remediated_once(sandbox, lambda_context):
    sandbox.create_tuning_job("sweep-hpo")
    for i in range(3):
        child = f"sweep-hpo-00{i}-deadbeef"
        sandbox.create_training_job(child)
        sagemaker_extension.attach_to_tuning_job(ACCOUNT, REGION, child, "sweep-hpo")
    lose_events(sandbox)
    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["caught"] == ["hyper-parameter-tuning-job/sweep-hpo"]
    assert report["outcomes"] == {"relaunch": 1, "leave-to-parent": 3}
    # Stopped and copied in one run: the copy cannot warm-start from it, so nothing waits.
    assert sandbox.tuning_job_names() == sorted(["sweep-hpo", relaunch_name("sweep-hpo", 32)])
    assert len(sandbox.training_job_names()) == 3
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]


def test_a_sweep_that_runs_out_of_time_leaves_the_rest_to_the_next(sandbox, lambda_context, monkeypatch):
    for i in range(3):
        sandbox.create_training_job(f"late-{i}")
    lose_events(sandbox)
    lambda_context.remaining_ms = 30_000  # below the reserve: nothing new is started
    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["left_for_next_sweep"] == 3 and report["caught"] == []
    lambda_context.remaining_ms = 120_000
    sweeper_runtime.cache_clear()
    assert len(sweeper_handler(SCHEDULED, lambda_context)["caught"]) == 3


def test_one_failing_job_does_not_stop_the_sweep_and_is_raised_at_the_end(sandbox, configure, inject, lambda_context):
    runtime = configure()
    sandbox.create_training_job("ok-a")
    sandbox.create_training_job("ok-b")
    lose_events(sandbox)
    failures = {"left": 1}

    def fail_first_stop(**kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("injected")

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", fail_first_stop)
    with pytest.raises(SweepIncomplete):
        sweeper_handler(SCHEDULED, lambda_context)
    # The other job was remediated; the failed one is finished by the retry (idempotent).
    sweeper_runtime.cache_clear()
    report = sweeper_handler(SCHEDULED, lambda_context)
    assert not report["failed"]
    assert {relaunch_name("ok-a"), relaunch_name("ok-b")} <= set(sandbox.training_job_names())


def test_listing_cost_follows_running_jobs_not_history(sandbox, configure, lambda_context):
    runtime = configure()
    calls = []
    runtime.clients.sagemaker.meta.events.register(
        "before-call.sagemaker.ListTrainingJobs", lambda **_: calls.append(1)
    )
    sandbox.create_training_job("run-1", encrypted=True, vpc=False)
    lose_events(sandbox)
    sweeper_handler(SCHEDULED, lambda_context)
    quiet = len(calls)
    for i in range(250):
        sandbox.create_training_job(f"history-{i}", encrypted=True, vpc=False)
        sagemaker_extension.complete_training_job(ACCOUNT, REGION, f"history-{i}")
    lose_events(sandbox)
    calls.clear()
    sweeper_runtime.cache_clear()
    sweeper_handler(SCHEDULED, lambda_context)
    # The first sweep: one page of running jobs, and one each of stopping and stopped ones (owed
    # work); later sweeps one page (owed work from the ledger's index). The 250 completed jobs of
    # the history cost nothing.
    assert (quiet, len(calls)) == (3, 1)


def test_a_copy_owed_after_a_crash_is_made_up_for_by_the_sweep(sandbox, configure, inject, lambda_context, monkeypatch):
    class Crash(BaseException):
        pass

    runtime = configure()
    inject(runtime.clients.sagemaker, "CreateHyperParameterTuningJob", Crash(), times=1)
    sandbox.create_tuning_job("owed-hpo")
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    (message,) = sandbox.sqs.receive_message(QueueUrl=url)["Messages"]
    sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    lambda_context.remaining_ms = 1  # the crashed run's lock expires at once
    with pytest.raises(Crash):
        lambda_handler(json.loads(message["Body"]), lambda_context)
    lambda_context.remaining_ms = 120_000
    assert sandbox.tuning_tags("owed-hpo")["ict-guard:remediation"] == "relaunch-pending"
    lose_events(sandbox)  # Lambda's retries and SageMaker's Stopped state change never arrive
    # The next sweep comes minutes later: the run that recorded the intent is long over.
    later = time.time() + remediation.RESUME_AFTER_SECONDS
    monkeypatch.setattr(job_guard_runtime().guard, "_clock", lambda: later)

    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["listed"]["owed"] == 1  # from the ledger's index, not a listing of stopped jobs
    assert report["caught"] == ["hyper-parameter-tuning-job/owed-hpo"]
    assert relaunch_name("owed-hpo", 32) in sandbox.tuning_job_names()
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]
    # The next sweep finds nothing more owed.
    sweeper_runtime.cache_clear()
    assert sweeper_handler(SCHEDULED, lambda_context)["caught"] == []


def test_two_overlapping_sweeps_remediate_each_job_once(sandbox, lambda_context):
    """Without reserved concurrency a sweep can overlap the next one (a sweep longer than the
    schedule, or Lambda's retry of a failed sweep). Two sweeps in two containers (each with its
    own clients and Powertools wiring, as Lambda would run them) meet the same jobs at the same
    time: the idempotency record lets one of them remediate each job, the other finds it
    in progress elsewhere or done. Each job is re-launched once, with one alert."""
    import dataclasses
    import threading
    import time

    from ict_guard.runtime import job_guard_runtime

    names = [f"overlap-{i}" for i in range(6)]
    for name in names:
        sandbox.create_training_job(name)
    lose_events(sandbox)

    runtimes = []
    for _ in range(2):  # two containers: nothing cached is shared
        sweeper_runtime.cache_clear()
        job_guard_runtime.cache_clear()
        runtimes.append(sweeper_runtime())
    assert runtimes[0].sweeper is not runtimes[1].sweeper
    # Hold the first sweep inside each stop, so that the second meets jobs it is remediating.
    first_sagemaker = runtimes[0].sweeper._sagemaker
    first_sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", lambda **_: time.sleep(0.2))

    start = threading.Barrier(2)
    reports: list[dict] = [{}, {}]
    errors: list[BaseException] = []

    def sweep(index: int) -> None:
        context = dataclasses.replace(lambda_context, aws_request_id=f"sweep-{index}")
        start.wait()
        try:
            reports[index] = runtimes[index].handle({**SCHEDULED, "id": f"sched-{index}"}, context)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    job_guard_runtime.cache_clear()

    assert errors == []
    copies = [relaunch_name(name) for name in names]
    assert sandbox.training_job_names() == sorted(names + copies)
    for name in names:
        assert sandbox.describe(name)["TrainingJobStatus"] in {"Stopping", "Stopped"}
    alerts = sandbox.alerts()
    assert sorted(a["resource"]["name"] for a in alerts) == sorted(names), [
        (a["resource"]["name"], a["action"], a.get("event_id")) for a in alerts
    ]
    assert {a["action"] for a in alerts} == {"relaunched"}
    # Each job was caught (remediated, not replayed from the record) by exactly one sweep.
    caught = [key for r in reports for key in r["caught"]]
    assert sorted(caught) == sorted(f"training-job/{name}" for name in names), reports
    # The two sweeps really overlapped: at least one met a job the other was remediating.
    assert sum(r["outcomes"].get("in-progress-elsewhere", 0) for r in reports) >= 1
