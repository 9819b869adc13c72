"""Hyperparameter tuning jobs end to end on the embedded AWS: the tuning job is remediated as a
whole (stop, groups, encrypted copy), its training jobs never one by one. The copy cannot
warm-start from its unencrypted original (the service refuses a parent whose training definition
differs in EnableInterContainerTrafficEncryption; the embedded SageMaker enforces it), so it is
created right after the stop and starts its search over, and the alert says so."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ict_guard import remediation
from ict_guard.clone import relaunch_name
from ict_guard.errors import JobBusy
from ict_guard.runtime import job_guard_runtime
from sandbox import sagemaker_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
EVENTS = Path(__file__).resolve().parents[2] / "events"


def copy_name(name):
    return relaunch_name(name, 32)


def definitions(described):
    if "TrainingJobDefinition" in described:
        return [described["TrainingJobDefinition"]]
    return described["TrainingJobDefinitions"]


def test_unencrypted_tuning_job_is_stopped_repaired_and_relaunched_warm(sandbox):
    sandbox.create_tuning_job("resnet-hpo", tags={"team": "vision"})
    sagemaker_extension.set_tuning_progress(ACCOUNT, REGION, "resnet-hpo", completed=7, in_progress=2)
    invocations = sandbox.deliver()

    original = sandbox.describe_tuning("resnet-hpo")
    assert original["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    assert sandbox.tuning_tags("resnet-hpo")["ict-guard:remediation"] == "relaunched"

    name = copy_name("resnet-hpo")
    assert len(name) <= 32
    copy = sandbox.describe_tuning(name)
    assert copy["HyperParameterTuningJobStatus"] == "InProgress"
    assert all(d["EnableInterContainerTrafficEncryption"] for d in definitions(copy))
    assert copy["HyperParameterTuningJobConfig"] == original["HyperParameterTuningJobConfig"]
    for field in (
        "StaticHyperParameters",
        "HyperParameterRanges",
        "InputDataConfig",
        "VpcConfig",
        "ResourceConfig",
        "RoleArn",
    ):
        assert copy["TrainingJobDefinition"][field] == original["TrainingJobDefinition"][field], field
    assert "WarmStartConfig" not in copy  # a warm start from the unencrypted original is refused
    assert sandbox.tuning_tags(name) == {"team": "vision", "ict-guard:relaunched-from": "resnet-hpo"}

    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched"
    assert alert["resource"]["type"] == "hyper-parameter-tuning-job"
    assert alert["relaunched_as"] == name
    assert alert["rules_added"] and "hyper-tuning-jobs/resnet-hpo" in alert["console_url"]
    assert any("starts its search over" in note and "not reused" in note for note in alert["notes"])
    # One run stops the original and creates the copy; the copy's own CloudTrail event
    # (encrypted, VPC) finds nothing to do. The original's state changes do not reach the
    # function: its tag says "relaunched", nothing is owed.
    assert [i.result["outcome"] for i in invocations] == ["relaunch", "repair-security-groups"]
    assert invocations[0].result["created"] is True


def test_multi_algorithm_tuning_job_with_one_unencrypted_definition(sandbox):
    sandbox.create_tuning_job("multi-hpo", definitions=3)
    sandbox.deliver()
    copy = sandbox.describe_tuning(copy_name("multi-hpo"))
    assert len(copy["TrainingJobDefinitions"]) == 3
    assert all(d["EnableInterContainerTrafficEncryption"] for d in copy["TrainingJobDefinitions"])
    assert [d["DefinitionName"] for d in copy["TrainingJobDefinitions"]] == ["algo0", "algo1", "algo2"]
    (alert,) = sandbox.alerts()
    assert "algo0" in alert["reason"] and "algo1" not in alert["reason"]


def test_encrypted_tuning_job_only_gets_its_groups_repaired(sandbox):
    sandbox.create_tuning_job("ok-hpo", encrypted=True)
    (invocation,) = sandbox.deliver()
    assert invocation.result["outcome"] == "repair-security-groups"
    assert sandbox.describe_tuning("ok-hpo")["HyperParameterTuningJobStatus"] == "InProgress"
    assert sandbox.tuning_job_names() == ["ok-hpo"]


def test_encrypted_tuning_job_without_vpc_never_reaches_the_function(sandbox):
    sandbox.create_tuning_job("novpc-hpo", encrypted=True, vpc=False)
    assert sandbox.deliver() == []


def test_an_existing_warm_start_is_dropped_and_the_alert_names_its_parents(sandbox):
    sandbox.create_tuning_job("earlier-hpo", vpc=False)
    sagemaker_extension.complete_tuning_job(ACCOUNT, REGION, "earlier-hpo")
    warm = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "earlier-hpo"}],
        "WarmStartType": "TRANSFER_LEARNING",
    }
    sandbox.create_tuning_job("next-hpo", WarmStartConfig=warm)
    sandbox.deliver()
    copy = sandbox.describe_tuning(copy_name("next-hpo"))
    # Its parents match the unencrypted original, so they differ from the encrypted copy.
    assert "WarmStartConfig" not in copy
    (alert,) = [a for a in sandbox.alerts() if a["resource"]["name"] == "next-hpo"]
    assert any("earlier-hpo" in note and "starts its search over" in note for note in alert["notes"])


def test_grid_search_copy_starts_over_and_says_so(sandbox):
    sandbox.create_tuning_job("grid-hpo", strategy="Grid")
    sandbox.deliver()
    copy = sandbox.describe_tuning(copy_name("grid-hpo"))
    assert "WarmStartConfig" not in copy
    (alert,) = sandbox.alerts()
    assert any("starts its search over" in note for note in alert["notes"])


def test_the_copy_is_created_while_the_original_is_still_stopping(sandbox):
    sandbox.create_tuning_job("wait-hpo")
    (created,) = _queued_events(sandbox)
    first = sandbox.function.invoke(created)
    assert first.result["outcome"] == "relaunch" and first.result["relaunched_as"] == copy_name("wait-hpo")
    assert sandbox.tuning_job_names() == sorted(["wait-hpo", copy_name("wait-hpo")])
    assert sandbox.tuning_tags("wait-hpo")["ict-guard:remediation"] == "relaunched"
    # The original's Stopped state change is filtered out by the rule: its tag says nothing is
    # owed. Delivered anyway (a rule edited by hand), it finds nothing owed and alerts nothing.
    sandbox.describe_tuning("wait-hpo")
    assert [e for e in _queued_events(sandbox) if e.get("detail-type", "").endswith("State Change")] == []
    event = json.loads((EVENTS / "tuning-state-change-stopped-by-user.json").read_text())
    event["detail"]["HyperParameterTuningJobName"] = "wait-hpo"
    assert sandbox.function.invoke(event).result["outcome"] == "nothing-owed"
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]


def test_a_state_change_of_a_job_the_guard_did_not_stop_is_left_alone(sandbox, lambda_context):
    from functions.job_guard.app import lambda_handler

    sandbox.create_tuning_job("user-hpo", encrypted=True, vpc=False)
    sandbox.sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="user-hpo")
    sandbox.describe_tuning("user-hpo")
    assert _queued_events(sandbox) == []  # the rule needs the guard's tag
    event = json.loads((EVENTS / "tuning-state-change-stopped-by-user.json").read_text())
    event["detail"]["HyperParameterTuningJobName"] = "user-hpo"
    assert lambda_handler(event, lambda_context)["outcome"] == "nothing-owed"
    assert sandbox.tuning_job_names() == ["user-hpo"] and sandbox.alerts() == []


def test_stop_mode_stops_the_tuning_job(sandbox, configure):
    configure(REMEDIATION_MODE="stop")
    sandbox.create_tuning_job("stop-hpo")
    sandbox.deliver()
    assert sandbox.describe_tuning("stop-hpo")["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    assert sandbox.tuning_tags("stop-hpo")["ict-guard:remediation"] == "stopped"
    assert sandbox.tuning_job_names() == ["stop-hpo"]
    assert [a["action"] for a in sandbox.alerts()] == ["stopped"]


def _queued_events(sandbox):
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    events = []
    while messages := sandbox.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            events.append(json.loads(message["Body"]))
            sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_a_burst_of_child_events_remediates_the_parent_once_and_no_child(sandbox):
    sandbox.create_tuning_job("burst-hpo")
    children = [f"burst-hpo-{i:03d}-abc" for i in range(6)]
    for child in children:
        sandbox.create_training_job(child)
        sagemaker_extension.attach_to_tuning_job(ACCOUNT, REGION, child, "burst-hpo")
    parent_event, *child_events = _queued_events(sandbox)
    assert parent_event["detail"]["eventName"] == "CreateHyperParameterTuningJob"

    # The children's events arrive first; the parent's own event last.
    results = [sandbox.function.invoke(event).result for event in [*child_events, parent_event]]
    assert [r["outcome"] for r in results[:-1]] == ["leave-to-parent"] * len(children)
    assert results[0]["parent"]["outcome"] == "relaunch" and results[0]["parent"]["created"]
    assert all(r["parent"].get("duplicate") for r in results[1:-1])
    assert results[-1].get("duplicate")  # the first outcome, again
    sandbox.deliver()  # the parent's Stopped state change: nothing owed

    assert sandbox.tuning_job_names() == sorted(["burst-hpo", copy_name("burst-hpo")])
    assert sandbox.training_job_names() == sorted(children)  # no child was stopped or copied
    for child in children:
        assert sandbox.describe(child)["TrainingJobStatus"] == "InProgress"
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]


def test_a_crash_while_creating_the_tuning_copy_is_finished_by_the_state_change(
    sandbox, configure, inject, lambda_context, monkeypatch
):
    from functions.job_guard.app import lambda_handler

    class Crash(BaseException):
        pass

    runtime = configure()
    inject(runtime.clients.sagemaker, "CreateHyperParameterTuningJob", Crash(), times=1)
    sandbox.create_tuning_job("crash-hpo")
    (created,) = _queued_events(sandbox)
    lambda_context.remaining_ms = 1
    with pytest.raises(Crash):
        lambda_handler(created, lambda_context)  # stopped, tagged relaunch-pending, then died
    lambda_context.remaining_ms = 120_000
    assert sandbox.tuning_tags("crash-hpo")["ict-guard:remediation"] == "relaunch-pending"
    stopped = [e for e in _queued_events(sandbox) if e.get("detail-type", "").endswith("State Change")]
    assert stopped, "the Stopped state change of a job the guard owes a copy reaches the function"
    # Seconds after the stop, the run that recorded the intent may still be going: the resume
    # is refused (Lambda retries it); minutes later it finishes the copy.
    with pytest.raises(JobBusy):
        lambda_handler(stopped[-1], lambda_context)
    later = time.time() + remediation.RESUME_AFTER_SECONDS
    monkeypatch.setattr(job_guard_runtime().guard, "_clock", lambda: later)
    assert lambda_handler(stopped[-1], lambda_context)["outcome"] == "resume"
    assert sandbox.tuning_job_names() == sorted(["crash-hpo", copy_name("crash-hpo")])
    assert "WarmStartConfig" not in sandbox.describe_tuning(copy_name("crash-hpo"))
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]
