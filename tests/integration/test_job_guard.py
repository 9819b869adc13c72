"""The job guard end to end on the embedded AWS: user call -> CloudTrail-shaped event ->
template rules -> the real handler with Lambda's async retries -> AWS state and alerts."""

from __future__ import annotations

import json
import threading

import pytest

from ict_guard.clone import relaunch_name
from ict_guard.ledger import KEY_PREFIX as LEDGER_PREFIX
from sandbox import sagemaker_extension

pytestmark = pytest.mark.integration


def ingress_ipsec(group):
    return sorted(
        (p["IpProtocol"], p.get("FromPort"))
        for p in group["IpPermissions"]
        if any(pair["GroupId"] == group["GroupId"] for pair in p.get("UserIdGroupPairs", []))
    )


def test_relaunch_mode_stops_repairs_relaunches_and_alerts_once(sandbox):
    sandbox.create_training_job("train-a", encrypted=False)
    invocations = sandbox.deliver()

    clone = relaunch_name("train-a")
    assert sandbox.describe("train-a")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert sandbox.tags("train-a")["ict-guard:remediation"] == "relaunched"

    copy = sandbox.describe(clone)
    original = sandbox.describe("train-a")
    assert copy["EnableInterContainerTrafficEncryption"] is True
    assert copy["TrainingJobStatus"] == "InProgress"
    for field in ("HyperParameters", "Environment", "RetryStrategy", "CheckpointConfig", "VpcConfig",
                  "ResourceConfig", "InputDataConfig", "OutputDataConfig", "StoppingCondition", "RoleArn"):
        assert copy[field] == original[field], field
    assert sandbox.tags(clone)["ict-guard:relaunched-from"] == "train-a"

    # The first group keeps its default allow-all egress, which covers outbound for the union;
    # inbound UDP 500 and ESP are added once, self-referencing, on the first group of the job.
    bare = sandbox.group(sandbox.env.bare_group_id)
    assert ingress_ipsec(bare) == [("50", -1), ("udp", 500)]
    assert {t["Key"]: t["Value"] for t in bare["Tags"]}["ict-guard:managed"] == "true"
    second = sandbox.group(sandbox.env.second_group_id)
    assert (second["IpPermissions"] == [] and "Tags" not in second) or not second.get("Tags")

    alerts = sandbox.alerts()
    assert [a["action"] for a in alerts] == ["relaunched"]
    alert = alerts[0]
    assert alert["resource"]["name"] == "train-a"
    assert alert["relaunched_as"] == clone
    assert alert["security_groups"] == [sandbox.env.bare_group_id]
    assert alert["_attributes"] == {"action": "relaunched", "severity": "HIGH"}
    assert alert["account"] == "123456789012" and alert["region"] == "us-east-1"
    assert alert["event_id"] == invocations[0].event["detail"]["eventID"]

    # The guard's own encrypted re-launch came back through the rules (it has a VPC) and found
    # nothing to do: no loop, no second alert.
    assert len(invocations) == 2
    assert invocations[1].result["outcome"] == "repair-security-groups"
    assert invocations[1].result["rules_added"] == 0
    assert sandbox.training_job_names() == sorted(["train-a", clone])


def test_stop_mode_stops_tags_and_alerts_without_clone_or_group_changes(sandbox, configure):
    configure(REMEDIATION_MODE="stop")
    sandbox.create_training_job("train-b")
    sandbox.deliver()
    assert sandbox.describe("train-b")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert sandbox.tags("train-b")["ict-guard:remediation"] == "stopped"
    assert sandbox.training_job_names() == ["train-b"]
    assert ingress_ipsec(sandbox.group(sandbox.env.bare_group_id)) == []
    assert [a["action"] for a in sandbox.alerts()] == ["stopped"]


def test_notify_mode_only_alerts(sandbox, configure):
    configure(REMEDIATION_MODE="notify")
    sandbox.create_training_job("train-c")
    sandbox.deliver()
    assert sandbox.describe("train-c")["TrainingJobStatus"] == "InProgress"
    assert "ict-guard:remediation" not in sandbox.tags("train-c")
    (alert,) = sandbox.alerts()
    assert alert["action"] == "notified" and alert["_attributes"]["severity"] == "MEDIUM"
    assert alert["relaunched_as"] is None


def test_encrypted_vpc_job_gets_its_security_groups_repaired_and_keeps_running(sandbox):
    sandbox.create_training_job("train-d", encrypted=True)
    (invocation,) = sandbox.deliver()
    assert invocation.result["rules_added"] == 2
    assert sandbox.describe("train-d")["TrainingJobStatus"] == "InProgress"
    (alert,) = sandbox.alerts()
    assert alert["action"] == "security_groups_repaired"
    assert {(r["direction"], r["protocol"]) for r in alert["rules_added"]} == {("ingress", "udp"), ("ingress", "50")}


def test_hardened_groups_get_outbound_rules_too(sandbox):
    sandbox.create_training_job(
        "train-e", encrypted=True,
        VpcConfig={"SecurityGroupIds": [sandbox.env.second_group_id], "Subnets": sandbox.env.subnet_ids},
    )
    (invocation,) = sandbox.deliver()
    assert invocation.result["rules_added"] == 4
    egress = sandbox.group(sandbox.env.second_group_id)["IpPermissionsEgress"]
    assert sorted(p["IpProtocol"] for p in egress) == ["50", "udp"]


def test_a_group_outside_the_jobs_vpc_is_reported_and_no_group_is_changed(sandbox):
    # A group of another VPC next to the job's subnets: SageMaker would refuse such a job, so it
    # is a mistake or a forged request; the guard changes none of the groups and says why.
    ec2 = sandbox.ec2
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stranger = ec2.create_security_group(GroupName="stranger", Description="other VPC", VpcId=other_vpc)["GroupId"]
    before = {g: sandbox.group(g) for g in (sandbox.env.bare_group_id, stranger)}
    sandbox.create_training_job(
        "train-v", encrypted=True,
        VpcConfig={"SecurityGroupIds": [sandbox.env.bare_group_id, stranger], "Subnets": sandbox.env.subnet_ids},
    )
    (invocation,) = sandbox.deliver()
    assert invocation.result["rules_added"] == 0
    assert {g: sandbox.group(g) for g in before} == before
    (alert,) = sandbox.alerts()
    assert alert["action"] == "failed" and alert["security_groups"] == []
    (problem,) = alert["problems"]
    assert stranger in problem and "not in the job's VPC" in problem


def test_encrypted_job_without_vpc_never_reaches_the_function(sandbox):
    sandbox.create_training_job("train-f", encrypted=True, vpc=False)
    assert sandbox.deliver() == []


def test_single_instance_and_exempt_jobs_are_left_running(sandbox):
    sandbox.create_training_job("train-g", instance_count=1)
    sandbox.create_training_job("train-h", tags={"ict-guard:exempt": "true"})
    results = {i.result["job"]: i.result for i in sandbox.deliver()}
    assert results["train-g"]["outcome"] == "nothing"
    assert results["train-h"]["outcome"] == "notify"
    for name in ("train-g", "train-h"):
        assert sandbox.describe(name)["TrainingJobStatus"] == "InProgress"
    (alert,) = sandbox.alerts()
    assert alert["resource"]["name"] == "train-h" and "exempt" in alert["reason"]


def test_flag_absent_is_treated_as_unencrypted(sandbox):
    sandbox.create_training_job("train-i", encrypted=None)
    sandbox.deliver()
    assert sandbox.describe(relaunch_name("train-i"))["EnableInterContainerTrafficEncryption"] is True


def test_heterogeneous_cluster_and_a_63_character_name(sandbox):
    name = "x" * 63
    sandbox.create_training_job(
        name,
        ResourceConfig={
            "VolumeSizeInGB": 50,
            "InstanceGroups": [
                {"InstanceGroupName": "a", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 1},
                {"InstanceGroupName": "b", "InstanceType": "ml.c5.18xlarge", "InstanceCount": 1},
            ],
        },
    )
    sandbox.deliver()
    clone = relaunch_name(name)
    assert len(clone) == 63
    assert len(sandbox.describe(clone)["ResourceConfig"]["InstanceGroups"]) == 2


def test_built_in_algorithm_metric_definitions_are_not_sent_back(sandbox):
    image = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
    sandbox.create_training_job("train-j", AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"})
    assert sandbox.describe("train-j")["AlgorithmSpecification"].get("MetricDefinitions")  # filled in
    sandbox.deliver()
    assert sandbox.describe(relaunch_name("train-j"))["EnableInterContainerTrafficEncryption"] is True


def test_finished_jobs_are_reported_not_relaunched(sandbox):
    sandbox.create_training_job("train-k")
    sagemaker_extension.complete_training_job("123456789012", "us-east-1", "train-k", status="Completed")
    sandbox.deliver()
    assert sandbox.training_job_names() == ["train-k"]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "notified" and "Completed" in alert["reason"]


def test_a_job_that_ends_between_describe_and_stop_is_not_relaunched(sandbox, configure):
    runtime = configure()

    def finish_it(**_):
        sagemaker_extension.complete_training_job("123456789012", "us-east-1", "train-l", status="Completed")

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", finish_it)
    sandbox.create_training_job("train-l")
    (invocation,) = sandbox.deliver()
    assert invocation.result["ended_before_stop"] is True
    assert sandbox.training_job_names() == ["train-l"]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "notified" and "ended before" in alert["reason"]


def test_a_missing_job_ends_quietly(sandbox, lambda_context):
    from functions.job_guard.app import lambda_handler

    event = ghost_event()
    result = lambda_handler(event, lambda_context)
    assert result["outcome"] == "not-found"
    assert sandbox.alerts() == []


def ghost_event(name="ghost-job"):
    return {
        "version": "0", "id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.sagemaker",
        "account": "123456789012", "time": "2026-11-26T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "eventID": "ev-ghost", "eventName": "CreateTrainingJob", "eventSource": "sagemaker.amazonaws.com",
            "awsRegion": "us-east-1", "requestParameters": {"trainingJobName": name},
            "responseElements": {"trainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"},
        },
    }


def test_malformed_events_are_dropped_with_a_reason_and_a_metric(sandbox, lambda_context, capsys, caplog):
    from functions.job_guard.app import lambda_handler

    for event in ({"detail": "nonsense"}, ghost_event("bad_name!"), {**ghost_event(), "region": "eu-west-1"}):
        result = lambda_handler(event, lambda_context)
        assert result["outcome"] == "malformed" and result["reason"]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [record.get("MalformedEvents") for record in emf] == [[1.0]] * 3
    warnings = [r for r in caplog.records if r.getMessage() == "malformed event dropped, not retried"]
    assert len(warnings) == 3 and all(r.reason for r in warnings)
    assert sandbox.alerts() == [] and sandbox.dead_letters() == []


# -- exactly once ---------------------------------------------------------------------------------


def captured_event(sandbox, name):
    sandbox.create_training_job(name)
    queue_url = sandbox.env.target_queue_urls["JobGuardFunction"]
    messages = sandbox.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    sandbox.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return json.loads(messages[0]["Body"])


def test_a_repeated_delivery_does_one_stop_one_relaunch_one_alert(sandbox, configure, inject):
    runtime = configure()
    stops = inject(runtime.clients.sagemaker, "StopTrainingJob", times=0)
    creates = inject(runtime.clients.sagemaker, "CreateTrainingJob", times=0)
    event = captured_event(sandbox, "train-m")
    first = sandbox.function.invoke(event)
    second = sandbox.function.invoke(event)
    # The stored outcome of the first delivery, marked as a repeat.
    assert second.result == {**first.result, "duplicate": True}
    assert stops["seen"] == 1 and creates["seen"] == 1
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]


def test_a_concurrent_duplicate_does_not_start_a_second_remediation(sandbox, configure, lambda_context):
    from functions.job_guard.app import lambda_handler
    from ict_guard.errors import JobBusy

    runtime = configure()
    event = captured_event(sandbox, "train-n")
    inside_stop, release = threading.Event(), threading.Event()

    def hold(**_):
        inside_stop.set()
        assert release.wait(10)

    runtime.clients.sagemaker.meta.events.register("before-call.sagemaker.StopTrainingJob", hold)
    first = {}
    worker = threading.Thread(target=lambda: first.update(inv=sandbox.function.invoke(event)))
    worker.start()
    assert inside_stop.wait(10)
    # The duplicate arrives while the first is mid-remediation: it must not start a second one,
    # and it must not be acknowledged either (the lock could be a dead run's): Lambda retries it.
    with pytest.raises(JobBusy):
        lambda_handler(event, lambda_context)
    release.set()
    worker.join(10)
    assert first["inv"].result["relaunched_as"] == relaunch_name("train-n")
    # Lambda's retry of the duplicate, a minute later, meets the first outcome.
    assert lambda_handler(event, lambda_context)["duplicate"] is True
    assert sandbox.training_job_names() == sorted(["train-n", relaunch_name("train-n")])
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]


# -- failures -------------------------------------------------------------------------------------


def test_a_failure_after_the_stop_is_alerted_and_the_retry_finishes_the_relaunch(sandbox, configure, inject):
    runtime = configure()
    inject(runtime.clients.sagemaker, "CreateTrainingJob", "ServiceUnavailable", times=1)
    sandbox.create_training_job("train-o")
    invocations = sandbox.deliver()
    assert invocations[0].attempts == 2 and not invocations[0].dead_lettered
    assert sandbox.training_job_names() == sorted(["train-o", relaunch_name("train-o")])
    failed, relaunched = sandbox.alerts()
    assert failed["action"] == "failed" and failed["_attributes"]["severity"] == "CRITICAL"
    assert "stopped train-o" in failed["steps_done"]
    assert f"create {relaunch_name('train-o')} with encryption on" in failed["steps_pending"]
    assert failed["relaunch_request"]["TrainingJobName"] == relaunch_name("train-o")
    assert failed["relaunch_request"]["HyperParameters"] == {"epochs": "10", "sagemaker_program": "train.py"}
    assert relaunched["action"] == "relaunched"


@pytest.mark.parametrize("crash_before", ["AddTags", "CreateTrainingJob"])
def test_a_function_that_dies_after_the_stop_is_finished_by_its_retry(
    sandbox, configure, lambda_context, crash_before, inject
):
    """A crash (timeout, out of memory) leaves no exception handler to run: nothing is
    cleaned up, the job is Stopped and may carry no tag. The retry must still re-launch it."""
    from functions.job_guard.app import lambda_handler

    class Crash(BaseException):
        pass

    runtime = configure()
    inject(runtime.clients.sagemaker, crash_before, Crash(), times=1)
    event = captured_event(sandbox, "train-p")
    lambda_context.remaining_ms = 1  # the crashed invocation's idempotency lock lapses at its timeout
    with pytest.raises(Crash):
        lambda_handler(event, lambda_context)
    assert sandbox.describe("train-p")["TrainingJobStatus"] in ("Stopping", "Stopped")

    lambda_context.remaining_ms = 120_000
    result = lambda_handler(event, lambda_context)
    assert result["outcome"] == "resume"
    assert sandbox.training_job_names() == sorted(["train-p", relaunch_name("train-p")])
    assert sandbox.tags("train-p")["ict-guard:remediation"] == "relaunched"
    assert [a["action"] for a in sandbox.alerts()] == ["relaunched"]

    # A late redelivery (a DLQ redrive after the idempotency records expired) finds the
    # ledger settled and does nothing more.
    expire_idempotency_records(sandbox)
    assert lambda_handler(event, lambda_context)["outcome"] == "nothing"
    assert len(sandbox.training_job_names()) == 2 and sandbox.alerts() == []


def expire_idempotency_records(sandbox):
    dynamodb = sandbox.session.client("dynamodb")
    for item in dynamodb.scan(TableName=sandbox.env.table_name)["Items"]:
        if not item["id"]["S"].startswith(LEDGER_PREFIX):
            dynamodb.delete_item(TableName=sandbox.env.table_name, Key={"id": item["id"]})


def test_persistent_failure_ends_in_the_dead_letter_queue_after_three_attempts(sandbox, configure, inject):
    runtime = configure()
    inject(runtime.clients.sagemaker, "DescribeTrainingJob", "ThrottlingException", times=10)
    sandbox.create_training_job("train-q")
    (invocation,) = sandbox.deliver()
    assert invocation.attempts == 3 and invocation.dead_lettered
    (record,) = sandbox.dead_letters()
    assert record["requestPayload"]["detail"]["requestParameters"]["trainingJobName"] == "train-q"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert sandbox.describe("train-q")["TrainingJobStatus"] == "InProgress"


def test_groups_at_their_rule_quota_are_an_alert_not_a_crash(sandbox):
    for group_id in (sandbox.env.bare_group_id, sandbox.env.second_group_id):
        sandbox.ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
                for port in range(1000, 1060)
            ],
        )
    sandbox.create_training_job("train-r")
    sandbox.deliver()
    clone = relaunch_name("train-r")
    assert sandbox.describe(clone)["EnableInterContainerTrafficEncryption"] is True  # job not lost
    (alert,) = sandbox.alerts()
    assert alert["action"] == "relaunched" and alert["_attributes"]["severity"] == "HIGH"
    assert any("RulesPerSecurityGroupLimitExceeded" in p for p in alert["problems"])


def test_a_full_first_group_sends_the_rule_to_another_group_of_the_job(sandbox):
    sandbox.ec2.authorize_security_group_ingress(
        GroupId=sandbox.env.bare_group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
            for port in range(1000, 1060)
        ],
    )
    sandbox.create_training_job("train-s", encrypted=True)
    sandbox.deliver()
    second = sandbox.group(sandbox.env.second_group_id)
    assert ingress_ipsec(second) == [("50", -1), ("udp", 500)]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "security_groups_repaired" and alert["problems"] == []


def test_metrics_are_emitted_as_embedded_metric_format(sandbox, capsys):
    sandbox.create_training_job("train-t")
    sandbox.deliver()
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"JobEventsEvaluated", "JobsStopped", "JobsRelaunched", "SecurityGroupRulesAdded"} <= names
    relaunch = next(r for r in records if "JobsRelaunched" in r)
    assert relaunch["JobsRelaunched"] == [1.0] or relaunch["JobsRelaunched"] == 1.0


def test_a_job_whose_role_the_guard_may_not_pass_is_reported_not_stopped(sandbox, configure):
    configure(RELAUNCH_ROLE_PATTERN="service-role/TeamTraining-*")
    sandbox.create_training_job("train-u")
    sandbox.deliver()
    assert sandbox.describe("train-u")["TrainingJobStatus"] == "InProgress"
    assert sandbox.training_job_names() == ["train-u"]
    (alert,) = sandbox.alerts()
    assert alert["action"] == "notified" and "AmazonSageMaker-ExecutionRole-Sandbox" in alert["reason"]
