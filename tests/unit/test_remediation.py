"""The job guard's decisions and failure paths over in-memory fakes (tests/unit/fakes.py): the
unit tier that runs in seconds. moto covers the wiring, the template's patterns and faults."""

from __future__ import annotations

from typing import Any

import pytest

from ict_guard.alerts import AlertAction, Severity
from ict_guard.jobs import JobKind
from ict_guard.policy import Intent
from ict_guard.remediation import JobRef
from ict_guard.security_groups import IPSEC_NEEDS
from ict_guard.settings import RemediationMode, UnrelaunchableJobAction
from tests.unit.fakes import ACCOUNT, REGION, FakeSageMaker, make_job_guard, training_job

pytestmark = pytest.mark.unit

MUTATING = {
    "StopTrainingJob",
    "AddTags",
    "CreateTrainingJob",
    "StopHyperParameterTuningJob",
    "CreateHyperParameterTuningJob",
}
PIPELINE = {
    "sagemaker:pipeline-execution-arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn/execution/abc123",
    "sagemaker:pipeline-step-name": "TrainStep",
}


def ref(name: str, kind: JobKind = JobKind.TRAINING, **hints: Any) -> JobRef:
    return JobRef.for_job(
        kind, name, account=ACCOUNT, region=REGION, event_id="9d4f0a3e-0e1c-4b8e-9f0a-1d2c3b4a5f60", **hints
    )


def guard_with(*jobs: tuple[dict[str, Any], dict[str, str]], **settings: Any):
    sagemaker = FakeSageMaker()
    for described, tags in jobs:
        sagemaker.add(described, tags)
    return make_job_guard(sagemaker, **settings)


def test_relaunch_records_then_stops_first_and_creates_one_encrypted_copy():
    described = training_job("resnet-ddp", VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]})
    g = guard_with((described, {"team": "vision"}), missing=IPSEC_NEEDS)
    result = g.guard.remediate(ref("resnet-ddp"))
    assert result["outcome"] == "relaunch" and result["created"] is True
    mutating = [c for c in g.sagemaker.calls if c in MUTATING]
    assert mutating[0] == "StopTrainingJob"  # the first call that changes the account
    assert g.ledger.calls[:1] == ["record"]  # the intent is durable before the stop
    (copy,) = g.sagemaker.created
    assert copy["EnableInterContainerTrafficEncryption"] is True
    assert {"Key": "ict-guard:relaunched-from", "Value": "resnet-ddp"} in copy["Tags"]
    assert g.repairer.repaired == [("sg-1",)]
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.RELAUNCHED and alert.relaunched_as == copy["TrainingJobName"]
    assert g.ledger.items["training-job/resnet-ddp"]["outcome"] == "relaunched"


def test_a_pipeline_step_is_left_running_with_an_action_needed_alert_naming_the_step():
    g = guard_with((training_job("pipelines-abc123-TrainStep-Xyz"), PIPELINE))
    result = g.guard.remediate(ref("pipelines-abc123-TrainStep-Xyz"))
    assert result["outcome"] == "notify" and result["unrelaunchable"] == ["pipeline-step"]
    assert not [c for c in g.sagemaker.calls if c in MUTATING]  # nothing stopped, tagged, created
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.NOTIFIED and alert.action_needed and alert.severity is Severity.HIGH
    assert PIPELINE["sagemaker:pipeline-execution-arn"] in alert.reason and "TrainStep" in alert.reason
    assert alert.relaunch_request is not None and alert.relaunch_command.startswith("aws sagemaker create-training-job")
    assert alert.headline().startswith("ACTION NEEDED")


def test_unrelaunchable_job_action_stop_stops_it_with_the_same_alert_and_no_copy():
    g = guard_with(
        (training_job("pipelines-x-TrainStep-1"), PIPELINE), unrelaunchable_job_action=UnrelaunchableJobAction.STOP
    )
    result = g.guard.remediate(ref("pipelines-x-TrainStep-1"))
    assert result["outcome"] == "stop"
    assert "StopTrainingJob" in g.sagemaker.calls and "CreateTrainingJob" not in g.sagemaker.calls
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.STOPPED and alert.action_needed and "pipeline" in alert.reason


def test_session_chaining_from_the_event_makes_the_job_unrelaunchable():
    g = guard_with((training_job("chained"), {}))
    result = g.guard.remediate(ref("chained", session_chaining=True))
    assert result["unrelaunchable"] == ["session-chaining"] and g.sagemaker.created == []
    assert "SessionChainingConfig" in g.alerts.published[0].reason


def test_a_role_the_guard_may_not_pass_is_reported_not_stopped():
    g = guard_with(
        (training_job("team-job", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/TeamRole"), {}),
        relaunch_role_pattern="service-role/AmazonSageMaker-ExecutionRole-*",
    )
    result = g.guard.remediate(ref("team-job"))
    assert result["unrelaunchable"] == ["role-outside-pattern"] and "StopTrainingJob" not in g.sagemaker.calls
    assert "TeamRole" in g.alerts.published[0].reason


def test_a_refused_copy_tries_each_fallback_once_then_settles_with_one_failed_alert():
    sagemaker = FakeSageMaker(refuse_create=lambda request: "The request was rejected because of an unsupported value.")
    sagemaker.add(training_job("refused"), {})
    g = make_job_guard(sagemaker)
    result = g.guard.remediate(ref("refused"))
    assert result["outcome"] == "relaunch" and result["refused"].startswith("The request was rejected")
    # The original create, then the one fallback that changes this request (the guard's tag).
    assert sagemaker.calls.count("CreateTrainingJob") == 2
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.FAILED and alert.action_needed
    assert "unsupported value" in alert.reason and result["relaunched_as"] is None
    # The request in the alert is the last one tried: encrypted, under the copy's name, without
    # the guard's tag (the fallback took it out).
    request = alert.relaunch_request
    assert request["TrainingJobName"].startswith("refused-enc-") and request["EnableInterContainerTrafficEncryption"]
    assert all(not t["Key"].startswith("ict-guard:") for t in request.get("Tags", []))
    assert "create-training-job" in alert.relaunch_command and request["TrainingJobName"] in alert.relaunch_command
    item = g.ledger.items["training-job/refused"]
    assert item["settled"] and item["outcome"] == "relaunch-refused" and item["refusal"]

    # Lambda's retry, a duplicate past its idempotency record, the sweep: nothing is repeated.
    again = g.guard.remediate(ref("refused"))
    assert again["outcome"] == "nothing" and "already remediated" in again["reason"]
    assert sagemaker.calls.count("CreateTrainingJob") == 2 and len(g.alerts.published) == 1


def test_metric_definitions_sagemaker_filled_in_are_dropped_when_the_service_refuses_them():
    def refuse(request):
        if "MetricDefinitions" in request["AlgorithmSpecification"]:
            return "You can't override the metric definitions for Amazon SageMaker algorithms."
        return None

    metrics = [{"Name": "validation:auc", "Regex": "auc=(\\S+)"}]
    image = "999999999999.dkr.ecr.us-east-1.amazonaws.com/some-algorithm:1"  # not a known registry
    described = training_job(
        "algo",
        AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File", "MetricDefinitions": metrics},
    )
    sagemaker = FakeSageMaker(refuse_create=refuse)
    sagemaker.add(described, {})
    g = make_job_guard(sagemaker)
    result = g.guard.remediate(ref("algo"))  # no CloudTrail hint: the sweep found it
    assert result["created"] is True
    assert "MetricDefinitions" not in sagemaker.created[0]["AlgorithmSpecification"]
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.RELAUNCHED
    assert any("without the metric definitions" in note for note in alert.notes)


def test_a_transient_error_on_create_raises_after_a_failed_alert_and_the_retry_finishes():
    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("flaky"), {})
    sagemaker.failures["CreateTrainingJob"] = [TimeoutError("read timeout")]
    g = make_job_guard(sagemaker)
    with pytest.raises(TimeoutError):
        g.guard.remediate(ref("flaky"))
    (failed,) = g.alerts.published
    assert failed.action is AlertAction.FAILED and "create" in " ".join(failed.steps_pending)
    assert not g.ledger.items["training-job/flaky"]["settled"]
    retry = g.guard.remediate(ref("flaky"))  # Lambda's retry: the job is Stopped, the ledger owes
    assert retry["outcome"] == "resume" and retry["created"] is True
    assert [a.action for a in g.alerts.published] == [AlertAction.FAILED, AlertAction.RELAUNCHED]


def test_a_job_that_ended_before_the_stop_is_notified_and_not_relaunched():
    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("finishing"), {})
    original_stop = sagemaker.stop

    def ends_first(api, name):
        sagemaker.jobs[name.lower()]["TrainingJobStatus"] = "Completed"
        original_stop(api, name)

    sagemaker.stop = ends_first  # type: ignore[method-assign]
    g = make_job_guard(sagemaker)
    result = g.guard.remediate(ref("finishing"))
    assert result["ended_before_stop"] is True and sagemaker.created == []
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.NOTIFIED and "ended before" in alert.reason


def test_fifty_user_tags_on_the_original_leave_the_link_and_the_record_to_the_ledger_and_alert():
    tags = {f"cost-center-{i}": "x" for i in range(50)} | {"aws:cloudformation:stack-name": "ml"}
    g = guard_with((training_job("tagged"), tags))
    result = g.guard.remediate(ref("tagged"))
    assert result["created"] is True
    assert "AddTags" not in g.sagemaker.calls  # the original has no room for the remediation tag
    (copy,) = g.sagemaker.created
    assert len(copy["Tags"]) == 50 and all(not t["Key"].startswith(("aws:", "ict-guard:")) for t in copy["Tags"])
    notes = " ".join(g.alerts.published[0].notes)
    assert "relaunched-from" in notes and "50 user tags" in notes


def test_the_person_behind_studios_shared_role_is_named():
    g = guard_with((training_job("studio-job"), {}))
    role = f"arn:aws:sts::{ACCOUNT}:assumed-role/AmazonSageMaker-ExecutionRole-X/SageMaker"
    g.guard.remediate(ref("studio-job", initiated_by=role, acting_for="data-scientist-b"))
    alert = g.alerts.published[0]
    assert alert.who().startswith("data-scientist-b (source identity; role AmazonSageMaker-ExecutionRole-X")
    assert "Started by:  data-scientist-b" in alert.text()


def test_notify_and_stop_modes_never_create():
    for mode, outcome in ((RemediationMode.NOTIFY, "notify"), (RemediationMode.STOP, "stop")):
        g = guard_with((training_job("mode-job"), {}), mode=mode)
        assert g.guard.remediate(ref("mode-job"))["outcome"] == outcome
        assert g.sagemaker.created == []


def test_a_settle_that_fails_after_the_alert_is_counted_not_raised():
    g = guard_with((training_job("settle"), {}))
    g.ledger.fail_settle = True
    result = g.guard.remediate(ref("settle"))  # a retry would only repeat the alert
    assert result["created"] is True and len(g.alerts.published) == 1
    assert g.metrics.counts["LedgerSettleFailures"] == 1


def test_a_gone_job_and_a_confused_describe_end_quietly():
    g = make_job_guard()
    assert g.guard.remediate(ref("nothing-here"))["outcome"] == "not-found"
    g.sagemaker.add(training_job("asked"), {})
    g.sagemaker.describe_answers_for = "other"
    assert g.guard.remediate(ref("asked"))["outcome"] == "mismatch"
    assert g.alerts.published == []


def test_a_read_timeout_after_the_stop_still_sends_the_failed_alert():
    # botocore's ReadTimeoutError has a `response` attribute that is None; reading an error code
    # from it once crashed the failure alert itself (found by the fault campaign).
    from botocore.exceptions import ReadTimeoutError

    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("timeout"), {})
    sagemaker.failures["CreateTrainingJob"] = [
        ReadTimeoutError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/")
    ]
    g = make_job_guard(sagemaker)
    with pytest.raises(ReadTimeoutError):
        g.guard.remediate(ref("timeout"))
    (failed,) = g.alerts.published
    assert failed.action is AlertAction.FAILED and "ReadTimeoutError" in failed.reason


def test_a_refused_copy_resumed_from_the_tag_alone_settles_once_too():
    # The ledger item expired (30 days) or was never written: the job's relaunch-pending tag is
    # the only history. The refusal is recorded anyway, and the tag says it, so no later run
    # sends the request or the alert again.
    sagemaker = FakeSageMaker(refuse_create=lambda request: "refused")
    sagemaker.add(training_job("tag-only", status="Stopped"), {"ict-guard:remediation": "relaunch-pending"})
    g = make_job_guard(sagemaker)
    assert g.guard.remediate(ref("tag-only"))["outcome"] == "resume"
    assert [a.action for a in g.alerts.published] == [AlertAction.FAILED]
    arn = sagemaker.jobs["tag-only"]["TrainingJobArn"]
    assert sagemaker.tags[arn]["ict-guard:remediation"] == "relaunch-refused"
    g.ledger.items.clear()  # the ledger gone again: the tag alone must stop a repeat
    assert g.guard.remediate(ref("tag-only"))["outcome"] == "nothing"
    assert sagemaker.calls.count("CreateTrainingJob") == 2 and len(g.alerts.published) == 1


def test_a_job_that_ended_by_itself_after_the_intent_is_not_relaunched():
    # The intent was recorded, the stop never took effect (a timeout, a crash), and the job
    # completed on its own: the guard's stop makes a job Stopped, never Completed or Failed.
    for status in ("Completed", "Failed"):
        g = guard_with((training_job("ended", status=status), {}))
        g.ledger.record("training-job/ended", Intent.RELAUNCH, {"TrainingJobName": "ended-enc-1"})
        result = g.guard.remediate(ref("ended"))
        assert result["outcome"] == "ended-before-stop" and g.sagemaker.created == []
        (alert,) = g.alerts.published
        assert alert.action is AlertAction.NOTIFIED and status in alert.reason
        assert g.ledger.items["training-job/ended"]["settled"]
        assert g.guard.remediate(ref("ended"))["outcome"] == "nothing"  # settled: said once


def test_a_copy_name_taken_by_someone_elses_job_is_not_reported_as_relaunched():
    from ict_guard.clone import relaunch_name

    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("dodger"), {})
    squatter = training_job(relaunch_name("dodger"), encrypted=False)  # not the guard's copy
    sagemaker.add(squatter, {})
    g = make_job_guard(sagemaker)
    result = g.guard.remediate(ref("dodger"))
    assert result["relaunched_as"] is None and "taken" in result["refused"]
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.FAILED and alert.action_needed and "taken" in alert.reason
    assert sagemaker.calls.count("CreateTrainingJob") == 1  # no fallback can free a name


def test_the_guards_own_copy_found_under_its_name_is_accepted():
    from ict_guard.clone import relaunch_name

    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("again"), {})
    g = make_job_guard(sagemaker)
    g.guard.remediate(ref("again"))  # creates the copy
    sagemaker.jobs["again"]["TrainingJobStatus"] = "Stopped"
    g.ledger.items["training-job/again"]["settled"] = False  # as if the settle was lost
    result = g.guard.remediate(ref("again"))
    assert result["outcome"] == "resume" and result["created"] is False
    assert result["relaunched_as"] == relaunch_name("again")


def test_a_copy_that_needs_the_instances_its_stopping_original_holds_waits_without_a_failed_alert():
    from ict_guard.errors import CapacityHeld, CopyWaitsForCapacity

    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("gpu-ddp"), {})
    quota = (
        "The account-level service limit 'ml.p4d.24xlarge for training job usage' is 2 Instances, "
        "with current utilization of 2 Instances"
    )
    sagemaker.failures["CreateTrainingJob"] = [CapacityHeld(quota)]
    g = make_job_guard(sagemaker)
    with pytest.raises(CopyWaitsForCapacity):
        g.guard.remediate(ref("gpu-ddp"))  # the original is Stopping: Lambda retries later
    assert g.alerts.published == [] and g.metrics.counts["CopiesWaitingForCapacity"] == 1
    retry = g.guard.remediate(ref("gpu-ddp"))  # now Stopped, the instances released
    assert retry["outcome"] == "resume" and retry["created"] is True
    assert [a.action for a in g.alerts.published] == [AlertAction.RELAUNCHED]


def test_a_quota_too_small_even_after_the_stop_settles_with_one_action_needed_alert():
    from ict_guard.errors import CapacityHeld

    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("too-big", status="Stopped"), {"ict-guard:remediation": "relaunch-pending"})
    sagemaker.failures["CreateTrainingJob"] = [
        CapacityHeld("limit is 2 Instances, with current utilization of 2 Instances")
    ]
    g = make_job_guard(sagemaker)
    result = g.guard.remediate(ref("too-big"))
    assert result["outcome"] == "resume" and "quota" in result["refused"]
    (alert,) = g.alerts.published
    assert alert.action is AlertAction.FAILED and alert.action_needed
    assert sagemaker.calls.count("CreateTrainingJob") == 1


def test_a_lost_settle_is_finished_without_repeating_the_alert():
    # The first run sent its relaunched alert and tagged the original, then its ledger settle was
    # lost (swallowed: a retry would only repeat the alert). The next resume (a state change, the
    # sweep) settles without a second alert.
    g = guard_with((training_job("lost-settle"), {}))
    g.ledger.fail_settle = True
    g.guard.remediate(ref("lost-settle"))
    g.ledger.fail_settle = False
    assert not g.ledger.items["training-job/lost-settle"]["settled"]
    again = g.guard.remediate(ref("lost-settle"))
    assert again["outcome"] == "resume" and len(g.alerts.published) == 1
    assert g.ledger.items["training-job/lost-settle"]["settled"]
    assert g.metrics.counts["AlertsAlreadySent"] == 1


def test_a_resume_leaves_alone_an_owed_remediation_whose_run_may_still_be_going():
    import time as clock

    from ict_guard.errors import JobBusy
    from ict_guard.ledger import LedgerEntry

    g = guard_with((training_job("racing", status="Stopping"), {}))
    g.ledger.record("training-job/racing", Intent.RELAUNCH, None)
    recorded = clock.time()
    original_lookup = g.ledger.lookup

    def with_time(key):
        entry = original_lookup(key)
        return entry and LedgerEntry(entry.intent, entry.settled, entry.relaunch_request, recorded_at=recorded)

    g.ledger.lookup = with_time  # type: ignore[method-assign]
    resume = ref("racing")
    from dataclasses import replace

    with pytest.raises(JobBusy):
        g.guard.resume_if_owed(resume)  # a state change seconds after the stop
    assert g.guard.resume_if_owed(resume, busy_is_ok=True)["outcome"] == "in-progress-elsewhere"  # the sweep
    assert g.sagemaker.created == [] and g.alerts.published == []
    g.guard._clock = lambda: recorded + 151  # type: ignore[method-assign]
    assert g.guard.resume_if_owed(replace(resume))["outcome"] == "resume" and len(g.sagemaker.created) == 1


def test_the_tags_sent_with_the_lock_count_only_when_describe_names_the_arn_they_went_to():
    # The event's account differs from the job's ARN (it cannot in EventBridge; a guess can be
    # wrong all the same): the tags sent early went to another ARN, so ListTags is sent again, to
    # the described one, and its exemption is honoured.
    g = guard_with((training_job("guessed-wrong"), {"ict-guard:exempt": "true"}))
    other = JobRef.for_job(JobKind.TRAINING, "guessed-wrong", account="999999999999", region=REGION, event_id="e-1")
    result = g.guard.remediate(other, send_reads=True)
    assert result["outcome"] == "notify" and "exempt" in result["reason"]
    assert g.sagemaker.calls.count("ListTags") == 2 and "StopTrainingJob" not in g.sagemaker.calls


def test_the_tags_sent_with_the_lock_are_used_when_the_arn_matches():
    g = guard_with((training_job("guessed-right"), {"ict-guard:exempt": "true"}))
    assert g.guard.remediate(ref("guessed-right"), send_reads=True)["outcome"] == "notify"
    assert g.sagemaker.calls.count("ListTags") == 1


def test_stop_mode_a_ledger_write_failing_stops_nothing_and_alerts_nothing():
    # A plain stop owes its alert afterwards: the intent is recorded first, as for a re-launch.
    g = guard_with((training_job("plain"), {}), mode=RemediationMode.STOP)
    g.ledger.fail_record = RuntimeError("DynamoDB down")
    with pytest.raises(RuntimeError, match="DynamoDB down"):
        g.guard.remediate(ref("plain"))
    assert "StopTrainingJob" not in g.sagemaker.calls and g.alerts.published == []


def test_stop_mode_a_stop_that_fails_after_the_intent_raises_the_stops_error_without_an_alert():
    sagemaker = FakeSageMaker()
    sagemaker.add(training_job("refused-stop"), {})
    sagemaker.failures["StopTrainingJob"] = [RuntimeError("AccessDenied")]
    g = make_job_guard(sagemaker, mode=RemediationMode.STOP)
    with pytest.raises(RuntimeError, match="AccessDenied"):
        g.guard.remediate(ref("refused-stop"))
    assert "record" in g.ledger.calls
    assert g.alerts.published == []  # nothing stopped: no alert per attempt
