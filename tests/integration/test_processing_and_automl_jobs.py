"""Processing and AutoML jobs end to end on the embedded AWS (issue 11): a user's Create call ->
CloudTrail-shaped event -> the template's rules -> the real handler -> AWS state and alerts."""

from __future__ import annotations

import pytest

from ict_guard.clone import relaunch_name
from sandbox import sagemaker_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
PROCESSING, AUTOML, TRAINING = "processing-job", "automl-job", "training-job"


def ipsec_ingress(group):
    return sorted(
        (p["IpProtocol"], p.get("FromPort"))
        for p in group["IpPermissions"]
        if any(pair["GroupId"] == group["GroupId"] for pair in p.get("UserIdGroupPairs", []))
    )


def test_an_unencrypted_distributed_processing_job_is_stopped_repaired_and_relaunched_once(sandbox):
    sandbox.create_processing_job("features", tags={"team": "data"})
    sandbox.deliver()

    original = sandbox.describe_kind(PROCESSING, "features")
    assert original["ProcessingJobStatus"] in ("Stopping", "Stopped")
    copy_name = relaunch_name("features")
    copy = sandbox.describe_kind(PROCESSING, copy_name)
    assert copy["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert copy["ProcessingJobStatus"] == "InProgress"
    for member in (
        "ProcessingInputs",
        "ProcessingOutputConfig",
        "ProcessingResources",
        "AppSpecification",
        "Environment",
        "StoppingCondition",
        "RoleArn",
    ):
        assert copy[member] == original[member], member
    assert copy["NetworkConfig"]["VpcConfig"] == original["NetworkConfig"]["VpcConfig"]
    assert sandbox.tags_of(PROCESSING, copy_name) == {"team": "data", "ict-guard:relaunched-from": "features"}
    assert sandbox.tags_of(PROCESSING, "features")["ict-guard:remediation"] == "relaunched"
    assert ipsec_ingress(sandbox.group(sandbox.env.bare_group_id)) == [("50", -1), ("udp", 500)]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched" and alert["relaunched_as"] == copy_name
    assert alert["resource"]["type"] == PROCESSING and "processing job" in alert["reason"]

    # The copy's own Create event reaches the guard too: encrypted, groups already fine, no alert.
    sandbox.deliver()
    assert sandbox.alerts() == []


def test_an_encrypted_processing_job_in_a_vpc_gets_its_groups_repaired_and_keeps_running(sandbox):
    sandbox.create_processing_job("features", encrypted=True)
    sandbox.deliver()
    assert sandbox.describe_kind(PROCESSING, "features")["ProcessingJobStatus"] == "InProgress"
    assert ipsec_ingress(sandbox.group(sandbox.env.bare_group_id)) == [("50", -1), ("udp", 500)]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "security_groups_repaired"


def test_a_single_instance_processing_job_is_ignored(sandbox):
    sandbox.create_processing_job("small", instance_count=1)
    invocations = sandbox.deliver()
    assert len(invocations) == 1  # the rule lets it through: the count is the guard's to judge
    assert sandbox.describe_kind(PROCESSING, "small")["ProcessingJobStatus"] == "InProgress"
    assert sandbox.alerts() == []


def test_a_processing_job_launched_by_a_training_job_is_remediated_through_it_once(sandbox):
    sandbox.create_training_job("train-parent")
    sandbox.create_processing_job("train-parent-eval")
    sagemaker_extension.attach_processing_job(
        ACCOUNT, REGION, "train-parent-eval", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/train-parent"
    )
    sandbox.deliver()
    assert sandbox.describe_kind(PROCESSING, "train-parent-eval")["ProcessingJobStatus"] == "InProgress"
    listed = sandbox.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in listed] == ["train-parent-eval"]  # no copy of the child
    assert sandbox.describe(relaunch_name("train-parent"))["EnableInterContainerTrafficEncryption"] is True
    assert [a["resource"]["name"] for a in sandbox.alerts()] == ["train-parent"]  # one alert, the parent's


@pytest.mark.parametrize("v2", [False, True], ids=["CreateAutoMLJob", "CreateAutoMLJobV2"])
def test_an_unencrypted_automl_job_is_relaunched_encrypted_and_its_children_are_left_to_it(sandbox, v2):
    sandbox.create_automl_job("churn", v2=v2)
    children = sagemaker_extension.start_automl_children(ACCOUNT, REGION, "churn", instance_count=2)
    sandbox.deliver()

    assert sandbox.describe_kind(AUTOML, "churn")["AutoMLJobStatus"] in ("Stopping", "Stopped")
    copy = sandbox.describe_kind(AUTOML, relaunch_name("churn", 32))
    assert copy["SecurityConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert copy["SecurityConfig"]["VpcConfig"]["SecurityGroupIds"] == [sandbox.env.bare_group_id]
    assert copy["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] == "churned"
    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched" and alert["resource"]["type"] == AUTOML
    assert "SageMaker decides its instance counts" in alert["reason"]

    # The children's events (a sweep, a late delivery) are left to the parent, handled once.
    from ict_guard.jobs import JobKind
    from ict_guard.remediation import JobRef
    from ict_guard.runtime import job_guard_runtime

    guard = job_guard_runtime().guard
    for kind, name in (
        (JobKind.TRAINING, children.training_job_name),
        (JobKind.PROCESSING, children.processing_job_name),
    ):
        result = guard.remediate(JobRef.for_job(kind, name, account=ACCOUNT, region=REGION, event_id="late-event"))
        assert result["outcome"] == "leave-to-parent"
    assert sandbox.alerts() == []
    assert [
        n for n in sandbox.training_job_names() if n.endswith(relaunch_name(children.training_job_name)[-11:])
    ] == []


def test_an_encrypted_automl_job_in_a_vpc_gets_its_groups_repaired(sandbox):
    sandbox.create_automl_job("churn", v2=True, encrypted=True)
    sandbox.deliver()
    assert sandbox.describe_kind(AUTOML, "churn")["AutoMLJobStatus"] == "InProgress"
    (alert,) = sandbox.alerts()
    assert alert["action"] == "security_groups_repaired"


def test_stop_mode_stops_a_processing_job_and_makes_no_copy(sandbox, configure):
    configure(REMEDIATION_MODE="stop")
    sandbox.create_processing_job("features")
    sandbox.deliver()
    assert sandbox.describe_kind(PROCESSING, "features")["ProcessingJobStatus"] in ("Stopping", "Stopped")
    names = [s["ProcessingJobName"] for s in sandbox.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]]
    assert names == ["features"]
    assert [a["action"] for a in sandbox.alerts()] == ["stopped"]


def test_the_sweep_catches_a_processing_and_an_automl_job_whose_events_were_lost(sandbox, lambda_context):
    from functions.sweeper.app import lambda_handler as sweeper_handler
    from ict_guard.runtime import sweeper_runtime
    from tests.integration.test_sweeper import SCHEDULED, lose_events

    sweeper_runtime.cache_clear()
    sandbox.create_processing_job("lost-features")
    sandbox.create_automl_job("lost-churn", v2=True)
    lose_events(sandbox)
    report = sweeper_handler(SCHEDULED, lambda_context)
    sweeper_runtime.cache_clear()
    assert report["listed"]["processing-job"] == 1 and report["listed"]["automl-job"] == 1
    assert sorted(report["caught"]) == ["automl-job/lost-churn", "processing-job/lost-features"]
    assert sandbox.describe_kind(PROCESSING, relaunch_name("lost-features"))["ProcessingJobStatus"] == "InProgress"
    assert sandbox.describe_kind(AUTOML, relaunch_name("lost-churn", 32))["AutoMLJobStatus"] == "InProgress"
    assert sorted(a["action"] for a in sandbox.alerts()) == ["relaunched", "relaunched"]


@pytest.mark.parametrize("mode", ["stop", "notify"])
def test_an_unencrypted_automl_job_in_stop_and_notify_mode(sandbox, configure, mode):
    configure(REMEDIATION_MODE=mode)
    sandbox.create_automl_job("churn", v2=True)
    sandbox.deliver()
    status = sandbox.describe_kind(AUTOML, "churn")["AutoMLJobStatus"]
    assert status in (("Stopping", "Stopped") if mode == "stop" else ("InProgress",))
    assert [s["AutoMLJobName"] for s in sandbox.sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]] == ["churn"]
    assert [a["action"] for a in sandbox.alerts()] == [{"stop": "stopped", "notify": "notified"}[mode]]
