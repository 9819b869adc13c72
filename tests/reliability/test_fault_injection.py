"""The guard under the failures AWS really produces: throttling, 5xx and timeouts on every call of
its clients (SageMaker, EC2, SNS, DynamoDB with the idempotency store), injected per HTTP attempt
below botocore's retry handler, with Lambda's asynchronous retries and dead-letter queue above.

What each job may end as is defined (and argued) in `sandbox/reliability.py`: remediated; or
dead-lettered with nothing done; or dead-lettered, stopped, with a `failed` alert that carries the
re-launch request. Never two copies, never a stopped job without its copy and without that alert,
never a job left running unencrypted without a dead letter.

Campaign size and faults: ICT_FAULT_JOBS (per campaign), ICT_FAULT_SEED.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from ict_guard.aws import AwsClients
from ict_guard.runtime import job_guard_runtime
from sandbox.faults import TRANSIENT_FAULTS, Fault
from sandbox.reliability import job_mix, run_campaign

pytestmark = pytest.mark.integration

BOTOCORE_ATTEMPTS = 5  # ict_guard.aws.RETRY_CONFIG: what DESIGN/README promise

# -- botocore's part ------------------------------------------------------------------------------


def test_every_client_of_the_guard_retries_in_standard_mode_with_five_attempts_in_all():
    clients = AwsClients()
    for client in (clients.sagemaker, clients.ec2, clients.sns, clients.dynamodb):
        retries = client.meta.config.retries
        assert retries["mode"] == "standard", client.meta.service_model.service_name
        # botocore's own `max_attempts` counts retries only: 5 there would be 6 attempts.
        assert retries["total_max_attempts"] == BOTOCORE_ATTEMPTS, (
            client.meta.service_model.service_name
        )


def _call(clients, service, guard):
    """One representative call of each client of the guard, against the sandbox account."""
    env = guard.env
    if service == "sagemaker":
        return clients.sagemaker.list_training_jobs()
    if service == "ec2":
        return clients.ec2.describe_security_groups(GroupIds=[env.bare_group_id])
    if service == "sns":
        return clients.sns.get_topic_attributes(TopicArn=env.topic_arn)
    return clients.dynamodb.describe_table(TableName=env.table_name)


EXPECTED_ERROR = {
    Fault.THROTTLING: {
        "sagemaker": "ThrottlingException",
        "ec2": "RequestLimitExceeded",
        "sns": "Throttling",
        "dynamodb": "ThrottlingException",
    },
    Fault.SERVER_ERROR: None,  # 500 or 503, the service's own code
    Fault.CONNECT_TIMEOUT: ConnectTimeoutError,
    Fault.READ_TIMEOUT: ReadTimeoutError,
}


OPERATION = {
    "sagemaker": "ListTrainingJobs",
    "ec2": "DescribeSecurityGroups",
    "sns": "GetTopicAttributes",
    "dynamodb": "DescribeTable",
}


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=str)
def test_each_fault_is_retried_by_botocore_per_http_attempt(guard, faults, fault):
    injector = faults(rate=0.0)
    clients = job_guard_runtime().clients
    for service, operation in OPERATION.items():
        injector.script(operation, *[fault] * (BOTOCORE_ATTEMPTS - 1))
        _call(clients, service, guard)  # a burst one shorter than the attempts is absorbed
        assert injector.attempts[(service, operation)] == BOTOCORE_ATTEMPTS, service

        injector.script(operation, *[fault] * BOTOCORE_ATTEMPTS)
        expected = EXPECTED_ERROR[fault]
        with pytest.raises((ClientError, ConnectTimeoutError, ReadTimeoutError)) as raised:
            _call(clients, service, guard)
        if isinstance(expected, dict):
            assert raised.value.response["Error"]["Code"] == expected[service]
        elif expected is None:
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
        else:
            assert isinstance(raised.value, expected)
        assert injector.attempts[(service, operation)] == 2 * BOTOCORE_ATTEMPTS, service
    assert injector.retries_granted == len(OPERATION) * 2 * (BOTOCORE_ATTEMPTS - 1)
    assert injector.backoff_skipped_seconds > 0  # botocore asked for delays; none were slept


def test_detached_clients_talk_to_the_embedded_aws_again(guard, faults):
    injector = faults(rate=1.0)
    clients = job_guard_runtime().clients
    with pytest.raises((ClientError, ConnectTimeoutError, ReadTimeoutError)):
        clients.sagemaker.list_training_jobs()
    injector.detach()
    assert clients.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_a_read_timeout_is_a_call_that_took_effect_and_lost_its_answer(guard, faults):
    injector = faults(rate=0.0).script("AddTags", Fault.READ_TIMEOUT, *[Fault.READ_TIMEOUT] * 4)
    arn = guard.create_training_job("tagged-anyway")
    with pytest.raises(ReadTimeoutError):
        job_guard_runtime().clients.sagemaker.add_tags(
            ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]
        )
    assert guard.tags("tagged-anyway")["k"] == "v"
    assert injector.injected[("sagemaker", "AddTags", Fault.READ_TIMEOUT)] == BOTOCORE_ATTEMPTS


def test_a_burst_of_sagemaker_throttling_is_ridden_out_inside_one_invocation(guard, faults):
    injector = faults(rate=0.0)
    for operation in (
        "DescribeTrainingJob",
        "ListTags",
        "StopTrainingJob",
        "AddTags",
        "CreateTrainingJob",
    ):
        injector.script(operation, *[Fault.THROTTLING] * (BOTOCORE_ATTEMPTS - 1))
        name = f"throttled-{operation.lower()}"
        guard.create_training_job(name, encrypted=False, vpc=False)
        (invocation,) = guard.deliver()
        assert invocation.attempts == 1 and invocation.result["outcome"] == "relaunch", operation
        assert (
            injector.injected[("sagemaker", operation, Fault.THROTTLING)] == BOTOCORE_ATTEMPTS - 1
        )
        assert [(a["action"], a["resource"]["name"]) for a in guard.alerts()] == [
            ("relaunched", name)
        ]


# -- the campaign ---------------------------------------------------------------------------------

CAMPAIGNS = {
    # botocore absorbs nearly everything; lost answers test every step's idempotency
    "steady": {"rate": 0.3, "jobs": 80},
    # the retry quota drains, Lambda retries, the dead-letter queue fills
    "storm": {"rate": 0.6, "jobs": 60},
}


@pytest.mark.parametrize("campaign", list(CAMPAIGNS))
def test_every_job_ends_remediated_or_dead_lettered_and_visible(
    guard, faults, setting, verdict, campaign
):
    settings = CAMPAIGNS[campaign]
    seed = setting("ICT_FAULT_SEED", 20261126)
    injector = faults(rate=settings["rate"], seed=seed)
    report = run_campaign(
        guard, job_mix(setting("ICT_FAULT_JOBS", settings["jobs"]), seed), injector=injector
    )
    assert injector.total_injected > 0
    verdict(report, f"fault campaign '{campaign}'")


# -- bugs found by the campaign, one deterministic reproduction each ------------------------------


def test_a_lost_answer_to_the_idempotency_lock_does_not_drop_the_job(guard, faults):
    faults(rate=0.0).script("PutItem", Fault.READ_TIMEOUT)
    guard.create_training_job("lock-answer-lost", vpc=False)
    (invocation,) = guard.deliver()
    status = guard.describe("lock-answer-lost")["TrainingJobStatus"]
    assert invocation.dead_lettered or status in ("Stopping", "Stopped"), (
        invocation.result,
        status,
    )


def test_a_failed_idempotency_cleanup_does_not_drop_a_stopped_job(guard, faults):
    injector = faults(rate=0.0)
    injector.script("CreateTrainingJob", *[Fault.SERVER_ERROR] * BOTOCORE_ATTEMPTS)
    injector.script("DeleteItem", *[Fault.SERVER_ERROR] * BOTOCORE_ATTEMPTS)
    guard.create_training_job("cleanup-failed", vpc=False)
    (invocation,) = guard.deliver()
    names = guard.training_job_names()
    assert invocation.dead_lettered or len(names) == 2, (invocation.result, names)


def test_a_lost_answer_to_the_stop_still_relaunches_the_job(guard, faults):
    faults(rate=0.0).script("StopTrainingJob", Fault.READ_TIMEOUT)
    guard.create_training_job("stop-answer-lost", vpc=False)
    guard.deliver()
    assert len(guard.training_job_names()) == 2, guard.alerts()


def test_every_failing_run_after_the_stop_alerts(guard, faults):
    injector = faults(rate=0.0)
    injector.script(
        "AddTags", *[Fault.SERVER_ERROR] * BOTOCORE_ATTEMPTS
    )  # run 1 fails after the stop
    injector.script("Publish", *[Fault.SERVER_ERROR] * BOTOCORE_ATTEMPTS)  # SNS down for run 1 only
    injector.script(
        "CreateTrainingJob", *[Fault.SERVER_ERROR] * (2 * BOTOCORE_ATTEMPTS)
    )  # runs 2, 3
    guard.create_training_job("silent-resume", vpc=False)
    (invocation,) = guard.deliver()
    assert invocation.dead_lettered
    assert guard.describe("silent-resume")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert [a["action"] for a in guard.alerts()][:1] == ["failed"]
