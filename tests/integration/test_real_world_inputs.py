"""Inputs that broke the re-launch against the real SageMaker's rules (names and ids replaced),
each end to end on the embedded AWS, whose SageMaker enforces those rules (sandbox/service_rules.py):
the copy is accepted, or the job is left running with an action-needed alert, never lost."""

from __future__ import annotations

import json

import pytest

from functions.job_guard.app import lambda_handler
from functions.sweeper.app import lambda_handler as sweeper_handler
from ict_guard.clone import relaunch_name
from ict_guard.runtime import sweeper_runtime

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"
XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SCHEDULED = {
    "version": "0", "id": "sched-rw", "detail-type": "Scheduled Event", "source": "aws.events",
    "account": ACCOUNT, "time": "2026-11-30T10:00:00Z", "region": REGION, "resources": [], "detail": {},
}


def queued(sandbox):
    url = sandbox.env.target_queue_urls["JobGuardFunction"]
    events = []
    while messages := sandbox.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            events.append(json.loads(message["Body"]))
            sandbox.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_an_xgboost_job_found_by_the_sweep_is_copied_without_the_metrics_sagemaker_filled_in(sandbox, lambda_context):
    sandbox.create_training_job(
        "xgb-churn", AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"}
    )
    assert sandbox.describe("xgb-churn")["AlgorithmSpecification"]["MetricDefinitions"]  # filled in
    queued(sandbox)  # the CloudTrail event is lost: no hint about what the caller sent
    sweeper_runtime.cache_clear()
    report = sweeper_handler(SCHEDULED, lambda_context)
    assert report["caught"] == ["training-job/xgb-churn"]
    copy = sandbox.describe(relaunch_name("xgb-churn"))
    assert copy["EnableInterContainerTrafficEncryption"] is True
    assert copy["AlgorithmSpecification"]["TrainingImage"] == XGBOOST
    (alert,) = [a for a in sandbox.alerts() if a["resource"]["name"] == "xgb-churn"]
    assert alert["action"] == "relaunched"


def test_a_job_with_fifty_user_tags_is_copied_with_them_and_linked_in_the_alert(sandbox):
    tags = {f"cost-allocation-{i:02d}": "ml" for i in range(50)}
    sandbox.create_training_job("tagged-ddp", tags=tags)
    sandbox.deliver()
    copy_tags = sandbox.tags(relaunch_name("tagged-ddp"))
    assert copy_tags == tags  # the user's tags, all of them; no room for the guard's link
    assert "ict-guard:remediation" not in sandbox.tags("tagged-ddp")
    assert sandbox.describe("tagged-ddp")["TrainingJobStatus"] in ("Stopping", "Stopped")
    (alert,) = [a for a in sandbox.alerts() if a["resource"]["name"] == "tagged-ddp"]
    assert alert["action"] == "relaunched" and alert["relaunched_as"] == relaunch_name("tagged-ddp")
    assert any("relaunched-from" in note and "ledger" in note for note in alert["notes"])


def test_instance_preferences_count_and_the_selected_fields_stay_out_of_the_copy(sandbox):
    preferences = [
        {"InstanceType": "ml.p5.48xlarge", "InstanceCount": 2},
        {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
    ]
    sandbox.create_training_job(
        "flex-ddp", ResourceConfig={"InstancePreferences": preferences, "InstanceCount": 2, "VolumeSizeInGB": 100}
    )
    described = sandbox.describe("flex-ddp")
    assert described["ResourceConfig"]["SelectedInstanceCount"] == 2
    sandbox.deliver()
    copy = sandbox.describe(relaunch_name("flex-ddp"))
    assert copy["ResourceConfig"]["InstancePreferences"] == preferences
    assert copy["EnableInterContainerTrafficEncryption"] is True


def test_a_bayesian_tuning_job_of_two_instance_trainings_gets_its_copy(sandbox):
    sandbox.create_tuning_job("bayes-hpo", strategy="Bayesian")
    sandbox.deliver()
    copy = sandbox.describe_tuning(relaunch_name("bayes-hpo", 32))
    assert copy["HyperParameterTuningJobStatus"] == "InProgress"
    assert copy["TrainingJobDefinition"]["ResourceConfig"]["InstanceCount"] == 2
    assert copy["TrainingJobDefinition"]["EnableInterContainerTrafficEncryption"] is True


def test_a_pipeline_step_is_never_relaunched_behind_the_pipeline(sandbox):
    execution = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn/execution/abc123"
    sandbox.create_training_job(
        "pipelines-abc123-TrainStep-Xyz",
        tags={"sagemaker:pipeline-execution-arn": execution, "sagemaker:pipeline-step-name": "TrainStep"},
    )
    (invocation, *_) = sandbox.deliver()
    assert invocation.result["unrelaunchable"] == ["pipeline-step"]
    assert sandbox.describe("pipelines-abc123-TrainStep-Xyz")["TrainingJobStatus"] == "InProgress"
    assert sandbox.training_job_names() == ["pipelines-abc123-TrainStep-Xyz"]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "notified" and alert["action_needed"] and alert["severity"] == "HIGH"
    assert execution in alert["reason"] and "TrainStep" in alert["reason"]


def test_a_job_created_with_session_tag_chaining_is_not_relaunched_as_someone_else(sandbox):
    sandbox.create_training_job("chained-ddp", SessionChainingConfig={"EnableSessionTagChaining": True})
    (event,) = queued(sandbox)
    assert event["detail"]["requestParameters"]["sessionChainingConfig"] == {"enableSessionTagChaining": True}
    invocation = sandbox.function.invoke(event)
    assert invocation.result["unrelaunchable"] == ["session-chaining"]
    assert sandbox.training_job_names() == ["chained-ddp"]
    (alert,) = sandbox.alerts()
    assert alert["action_needed"] and "SessionChainingConfig" in alert["reason"]


def test_a_studio_job_names_the_person_behind_the_shared_execution_role(sandbox, lambda_context):
    sandbox.create_training_job("studio-ddp")
    (event,) = queued(sandbox)
    role = f"arn:aws:sts::{ACCOUNT}:assumed-role/AmazonSageMaker-ExecutionRole-X/SageMaker"
    event["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:SageMaker",
        "arn": role,
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/AmazonSageMaker-ExecutionRole-X"},
            "sourceIdentity": "data-scientist-b",
        },
    }
    assert lambda_handler(event, lambda_context)["outcome"] == "relaunch"
    (alert,) = sandbox.alerts()
    assert alert["acting_for"] == "data-scientist-b" and alert["initiated_by"] == role
