from __future__ import annotations

import json

import pytest

from ict_guard.alerts import Alert, AlertAction, Severity
from ict_guard.publishing import sns_publish_arguments

pytestmark = pytest.mark.unit

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def alert(**overrides):
    values = dict(
        action=AlertAction.RELAUNCHED,
        resource_type="training-job",
        name="train-1",
        arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
        account="123456789012",
        region="us-east-1",
        event_id="evt-1",
        reason="unencrypted distributed job; mode is relaunch",
        mode="relaunch",
        initiated_by="arn:aws:sts::123456789012:assumed-role/DataScientist/alice",
        instance_count=2,
        relaunched_as="train-1-enc-abcdef",
        security_groups=["sg-1"],
        rules_added=[{"group_id": "sg-1", "direction": "ingress", "protocol": "udp", "port": 500}],
        exempt_tag_key="ict-guard:exempt",
    )
    values.update(overrides)
    return Alert(**values)


def test_the_json_document_carries_the_contract_fields():
    document = alert().document()
    assert document["schema_version"]
    assert document["action"] == "relaunched"
    assert document["resource"] == {
        "type": "training-job",
        "name": "train-1",
        "arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
    }
    assert document["relaunched_as"] == "train-1-enc-abcdef"
    assert document["security_groups"] == ["sg-1"]
    for key in ("account", "region", "event_id", "reason"):
        assert document[key] == getattr(alert(), key)


def test_sns_message_is_json_structured_per_protocol_with_filterable_attributes():
    arguments = sns_publish_arguments(alert(), TOPIC)
    assert arguments["MessageStructure"] == "json"
    message = json.loads(arguments["Message"])
    assert message["default"] == message["email"]
    assert "train-1-enc-abcdef" in message["email"]
    for protocol in ("sqs", "lambda", "https"):
        assert json.loads(message[protocol])["action"] == "relaunched"
    assert arguments["MessageAttributes"]["action"]["StringValue"] == "relaunched"
    assert arguments["MessageAttributes"]["severity"]["StringValue"] == "HIGH"


def test_email_text_says_what_who_what_was_done_links_and_how_to_exempt():
    text = alert().text()
    assert "train-1" in text and "alice" in text
    assert "re-launched an encrypted copy named train-1-enc-abcdef" in text
    assert "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/train-1" in text
    assert "ict-guard:exempt=true" in text
    assert "sg-1: ingress UDP 500" in text


def test_a_failure_lists_what_was_done_and_what_was_not():
    failed = alert(
        action=AlertAction.FAILED, steps_done=["stopped train-1"], steps_pending=["create train-1-enc-abcdef"]
    )
    assert failed.severity is Severity.CRITICAL
    text = failed.text()
    assert "stopped train-1" in text and "create train-1-enc-abcdef" in text


def test_problems_raise_a_low_severity():
    assert alert(action=AlertAction.SECURITY_GROUPS_REPAIRED).severity is Severity.LOW
    assert alert(action=AlertAction.SECURITY_GROUPS_REPAIRED, problems=["sg-1 full"]).severity is Severity.HIGH


def test_subject_is_short_ascii():
    subject = alert(name="x" * 63, resource_type="training-job\u00e9").subject()
    assert len(subject) <= 100 and subject.isascii() and "\n" not in subject


def test_a_huge_relaunch_request_is_left_out_so_the_message_fits_sns():
    big = alert(
        action=AlertAction.FAILED, relaunch_request={"HyperParameters": {str(i): "v" * 200 for i in range(2000)}}
    )
    arguments = sns_publish_arguments(big, TOPIC)
    assert len(arguments["Message"].encode()) < 256 * 1024
    assert json.loads(json.loads(arguments["Message"])["sqs"])["relaunch_request"] is None
    small = alert(action=AlertAction.FAILED, relaunch_request={"TrainingJobName": "x"})
    assert small.document()["relaunch_request"] == {"TrainingJobName": "x"}


# -- the e-mail a person reads ------------------------------------------------------------------

EVENT_ID = "afe01087-0b66-4bd3-875c-9422c1267cd3"
JOB_URL = "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/train-1"

FIRST_LINE_SAYS = {
    AlertAction.RELAUNCHED: "Re-launched training job train-1 with encryption",
    AlertAction.STOPPED: "Stopped training job train-1",
    AlertAction.NOTIFIED: "Found training job train-1 without inter-container traffic encryption",
    AlertAction.FAILED: "REMEDIATION FAILED for training job train-1",
    AlertAction.SECURITY_GROUPS_REPAIRED: "Added the IPsec rules training job train-1 needs",
}


@pytest.mark.parametrize("action", list(FIRST_LINE_SAYS))
def test_the_first_line_says_what_the_guard_did_to_which_job(action):
    first, blank, *_ = alert(action=action, event_id=EVENT_ID).text().splitlines()
    assert first.startswith(FIRST_LINE_SAYS[action]) and blank == ""
    assert alert(action=action).subject() == f"[ict-guard] {first}"[:100]


def test_who_started_the_job_is_named_person_first():
    text = alert().text()
    assert "Started by:  alice (role DataScientist, arn:aws:sts::123456789012:assumed-role/DataScientist/alice)" in text
    user = alert(initiated_by="arn:aws:iam::123456789012:user/bob").text()
    assert "Started by:  bob (IAM user, arn:aws:iam::123456789012:user/bob)" in user
    assert "Started by:  unknown" in alert(initiated_by=None).text()


def test_links_to_the_job_the_copy_and_the_cloudtrail_event():
    lines = alert(event_id=EVENT_ID).text().splitlines()
    assert f"  Job: {JOB_URL}" in lines
    assert f"  Re-launch: {JOB_URL}-enc-abcdef" in lines
    assert (
        "  CloudTrail event: https://us-east-1.console.aws.amazon.com/cloudtrailv2/home"
        f"?region=us-east-1#/events/{EVENT_ID}"
    ) in lines
    # A sweep's reference is not a CloudTrail event: no link to nowhere.
    assert "CloudTrail event:" not in alert(event_id="sweep:52fdfc07").text()


def test_how_to_exempt_a_job_uses_the_deployments_tag_key():
    assert "tag it team/ml-exempt=true when you create it" in alert(exempt_tag_key="team/ml-exempt").text()
    assert "exempt" not in alert(exempt_tag_key=None).text().lower()


@pytest.mark.parametrize(
    ("action", "says"),
    [
        (AlertAction.RELAUNCHED, "nothing for this job"),
        (AlertAction.STOPPED, "start the job again with EnableInterContainerTrafficEncryption=True"),
        (AlertAction.NOTIFIED, "or exempt it"),
        (AlertAction.FAILED, "dead-letter-queue alarm"),
    ],
)
def test_the_next_step_tells_the_reader_what_to_do(action, says):
    (line,) = [line for line in alert(action=action).text().splitlines() if line.startswith("Next step:")]
    assert says in line


def test_an_encrypted_job_whose_groups_failed_is_not_called_unencrypted():
    failed = alert(action=AlertAction.FAILED, encrypted=True, relaunched_as=None, problems=["sg-1 is full"])
    text = failed.text()
    assert "with encryption on, but its security groups" in text
    assert "without inter-container traffic encryption" not in text


def test_a_tuning_job_reads_as_one_and_links_to_its_console_page():
    tuning = alert(resource_type="hyper-parameter-tuning-job", name="hpo-1", relaunched_as=None)
    assert tuning.text().splitlines()[0] == (
        "Re-launched hyperparameter tuning job hpo-1 with encryption; the unencrypted run is stopped"
    )
    assert "#/hyper-tuning-jobs/hpo-1" in tuning.text()


def test_the_document_says_whether_the_job_is_encrypted():
    assert alert(encrypted=False).document()["encrypted"] is False
    assert alert().document()["encrypted"] is None


def test_a_security_group_alert_names_who_changed_the_group():
    restored = alert(
        action=AlertAction.SECURITY_GROUPS_RESTORED,
        resource_type="security-group",
        name="sg-1",
        arn=None,
        relaunched_as=None,
        initiated_by="arn:aws:iam::123456789012:user/network-admin",
    )
    text = restored.text()
    assert "Changed by:  network-admin (IAM user, arn:aws:iam::123456789012:user/network-admin)" in text
    assert "Started by" not in text and "exempt a job" not in text
