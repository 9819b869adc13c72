"""A remediation that stops half-way must be visible, and must lose nothing.

The worst state the guard can leave is a stopped job without its encrypted copy. When the copy
fails for good (here: the guard may not pass the job's role, so CreateTrainingJob is denied on
every attempt, which no retry fixes), the `failed` alert must say what was done and what was not,
and carry the whole re-launch request, so that a person can start the copy by hand; the request
must hold every field of the original's configuration (compared with DescribeTrainingJob of the
original, field by field, from the botocore model); the dead-letter queue keeps the event, and the
ledger keeps the request for the redrive.
"""

from __future__ import annotations

import json

import pytest

from ict_guard.ledger import KEY_PREFIX
from sandbox.environment import TRAINING_IMAGE
from sandbox.faults import Fault
from sandbox.reliability import configuration_differences, configuration_fields

pytestmark = pytest.mark.integration

LAMBDA_RUNS = 3  # one try and two retries


def rich_job(guard) -> dict:
    """A job that uses much of what CreateTrainingJob offers, so that a loss would show."""
    env = guard.env
    return {
        "encrypted": False,
        "tags": {"team": "vision", "cost-center": "ml-42", "owner": "alice@example.com"},
        "AlgorithmSpecification": {
            "TrainingImage": TRAINING_IMAGE,
            "TrainingInputMode": "FastFile",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://ml-data/train/",
                        "S3DataDistributionType": "ShardedByS3Key",
                    }
                },
                "ContentType": "application/x-parquet",
                "InputMode": "FastFile",
            },
            {
                "ChannelName": "validation",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/val/"}
                },
                "CompressionType": "Gzip",
            },
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://ml-models/out/", "KmsKeyId": "alias/ml-models"},
        "ResourceConfig": {
            "InstanceType": "ml.p4d.24xlarge",
            "InstanceCount": 4,
            "VolumeSizeInGB": 500,
            "VolumeKmsKeyId": "alias/ml-volumes",
            "KeepAlivePeriodInSeconds": 600,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 172_800, "MaxWaitTimeInSeconds": 259_200},
        "EnableManagedSpotTraining": True,
        "EnableNetworkIsolation": True,
        "HyperParameters": {f"param_{i}": f"value-{i}-" + "x" * 40 for i in range(40)},
        "Environment": {"NCCL_DEBUG": "INFO", "FI_EFA_USE_DEVICE_RDMA": "1"},
        "RetryStrategy": {"MaximumRetryAttempts": 3},
        "CheckpointConfig": {
            "S3Uri": "s3://ml-models/checkpoints/rich/",
            "LocalPath": "/opt/ml/checkpoints",
        },
        "DebugHookConfig": {
            "S3OutputPath": "s3://ml-models/debug/",
            "LocalPath": "/opt/ml/output/tensors",
        },
        "TensorBoardOutputConfig": {"S3OutputPath": "s3://ml-models/tensorboard/"},
        "VpcConfig": {
            "SecurityGroupIds": [env.bare_group_id, env.second_group_id],
            "Subnets": env.subnet_ids,
        },
    }


def test_a_copy_that_fails_for_good_leaves_a_failed_alert_with_the_whole_request(guard, faults):
    faults(rate=0.0).script("CreateTrainingJob", *[Fault.ACCESS_DENIED] * LAMBDA_RUNS)
    guard.create_training_job("rich-job", **rich_job(guard))
    original = guard.describe("rich-job")

    (invocation,) = guard.deliver()

    assert invocation.dead_lettered and invocation.attempts == LAMBDA_RUNS
    (dead_letter,) = guard.dead_letters()
    assert (
        dead_letter["requestPayload"]["detail"]["requestParameters"]["trainingJobName"]
        == "rich-job"
    )
    assert guard.describe("rich-job")["TrainingJobStatus"] in ("Stopping", "Stopped")
    assert guard.training_job_names() == ["rich-job"]  # no copy

    failed = [a for a in guard.alerts() if a["action"] == "failed"]
    assert failed, "a stopped job without its copy must be alerted"
    alert = failed[0]
    assert alert["_attributes"]["severity"] == "CRITICAL"
    assert alert["resource"]["name"] == "rich-job"
    assert any("stopped rich-job" in step for step in alert["steps_done"]), alert["steps_done"]
    assert any(step.startswith("create ") for step in alert["steps_pending"]), alert[
        "steps_pending"
    ]
    assert "AccessDenied" in alert["reason"]

    # Enough to re-launch by hand, and nothing of the original configuration lost.
    request = alert["relaunch_request"]
    assert request is not None
    fields = configuration_fields(guard.sagemaker)
    assert configuration_differences(original, request, fields) == []
    assert request["EnableInterContainerTrafficEncryption"] is True
    carried = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert carried == {
        "team": "vision",
        "cost-center": "ml-42",
        "owner": "alice@example.com",
        "ict-guard:relaunched-from": "rich-job",
    }

    # The ledger holds the same request for the redrive.
    dynamodb = guard.session.client("dynamodb")
    (ledger,) = [
        item
        for item in dynamodb.scan(TableName=guard.env.table_name)["Items"]
        if item["id"]["S"].startswith(KEY_PREFIX) and item["id"]["S"].endswith("/rich-job")
    ]
    assert json.loads(ledger["relaunch_request"]["S"]) == request
    assert ledger["settled"]["BOOL"] is False

    # A person re-launches by hand from the alert alone.
    guard.sagemaker.create_training_job(**request)
    copy = guard.describe(request["TrainingJobName"])
    assert copy["EnableInterContainerTrafficEncryption"] is True
    assert configuration_differences(original, copy, fields) == []


def test_the_redrive_of_the_dead_letter_finishes_the_relaunch_from_the_ledger(guard, faults):
    """Once the cause is fixed (the role may be passed now), replaying the dead letter completes
    the work: the copy is created from the recorded request, once."""
    faults(rate=0.0).script("CreateTrainingJob", *[Fault.ACCESS_DENIED] * LAMBDA_RUNS)
    guard.create_training_job("redriven", **rich_job(guard))
    original = guard.describe("redriven")
    guard.deliver()
    (dead_letter,) = guard.dead_letters()
    guard.alerts()

    redrive = guard.function.invoke(dead_letter["requestPayload"])
    assert not redrive.dead_lettered
    copies = [n for n in guard.training_job_names() if n != "redriven"]
    assert len(copies) == 1
    copy = guard.describe(copies[0])
    assert copy["EnableInterContainerTrafficEncryption"] is True
    assert configuration_differences(original, copy, configuration_fields(guard.sagemaker)) == []
    assert [a["action"] for a in guard.alerts()] == ["relaunched"]
    assert guard.function.invoke(dead_letter["requestPayload"]).result[
        "outcome"
    ]  # a second redrive
    assert len(guard.training_job_names()) == 2


def test_a_large_specification_still_tells_the_person_where_the_request_is(guard, faults):
    faults(rate=0.0).script("CreateTrainingJob", *[Fault.ACCESS_DENIED] * LAMBDA_RUNS)
    job = rich_job(guard)
    job["HyperParameters"] = {
        f"p{i:02d}": "v" * 2_000 for i in range(40)
    }  # 80 KB, within the API's limits
    guard.create_training_job("large-spec", **job)
    guard.deliver()
    (alert,) = [a for a in guard.alerts() if a["action"] == "failed"][:1]
    where = json.dumps(alert)
    assert alert["relaunch_request"] is not None or guard.env.table_name in where, alert["problems"]
