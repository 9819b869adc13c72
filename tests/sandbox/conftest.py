"""Fixtures for the embedded AWS: moto with the SageMaker extension, and an EventBridge → SQS tap.

Helpers are handed out as fixtures: test directories are not packages, and `conftest` is not a
module name tests can import safely.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.model import Shape
from moto import mock_aws

from sandbox import cloudtrail, sagemaker_extension, service_rules

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/training"
CUSTOM_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/my-trainer:1.0"
XGBOOST_IMAGE = f"685385470294.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"


def _training_job_request(name: str = "job-1", **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request for a 2-instance custom-image job, as a user would send it."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": CUSTOM_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    request.update(overrides)
    return request


VPC_CONFIG = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}


def _processing_job_request(name: str = "proc-1", **overrides: Any) -> dict[str, Any]:
    """A CreateProcessingJob request for a 2-instance job in a VPC, as a user would send it."""
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            {
                "InputName": "raw",
                "S3Input": {
                    "S3Uri": "s3://bucket/raw/",
                    "LocalPath": "/opt/ml/processing/input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "features",
                    "S3Output": {
                        "S3Uri": "s3://bucket/features/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {"ImageUri": CUSTOM_IMAGE, "ContainerEntrypoint": ["python3", "prep.py"]},
        "Environment": {"STAGE": "prep"},
        "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": False,
            "EnableNetworkIsolation": False,
            "VpcConfig": VPC_CONFIG,
        },
        "RoleArn": ROLE_ARN,
        "ExperimentConfig": {"ExperimentName": "churn", "TrialName": "churn-1"},
    }
    request.update(overrides)
    return request


def _automl_job_request(name: str = "automl-1", **overrides: Any) -> dict[str, Any]:
    """A CreateAutoMLJob (V1) request for a tabular job in a VPC, every V1 member set."""
    request: dict[str, Any] = {
        "AutoMLJobName": name,
        "InputDataConfig": [
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}},
                "CompressionType": "None",
                "TargetAttributeName": "churned",
                "ContentType": "text/csv;header=present",
                "ChannelType": "training",
                "SampleWeightAttributeName": "weight",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/automl", "KmsKeyId": "alias/automl"},
        "ProblemType": "BinaryClassification",
        "AutoMLJobObjective": {"MetricName": "F1"},
        "AutoMLJobConfig": {
            "CompletionCriteria": {"MaxCandidates": 10, "MaxAutoMLJobRuntimeInSeconds": 7200},
            "SecurityConfig": {
                "VolumeKmsKeyId": "alias/volume",
                "EnableInterContainerTrafficEncryption": False,
                "VpcConfig": VPC_CONFIG,
            },
            "CandidateGenerationConfig": {
                "FeatureSpecificationS3Uri": "s3://bucket/features.json",
                "AlgorithmsConfig": [{"AutoMLAlgorithms": ["xgboost", "lightgbm"]}],
            },
            "DataSplitConfig": {"ValidationFraction": 0.25},
            "Mode": "ENSEMBLING",
        },
        "RoleArn": ROLE_ARN,
        "GenerateCandidateDefinitionsOnly": False,
        "ModelDeployConfig": {"AutoGenerateEndpointName": True},
    }
    request.update(overrides)
    return request


def _automl_job_v2_request(name: str = "automl-v2", **overrides: Any) -> dict[str, Any]:
    """A CreateAutoMLJobV2 request for a tabular job in a VPC."""
    request: dict[str, Any] = {
        "AutoMLJobName": name,
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "text/csv;header=present",
                "CompressionType": "None",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/automl"},
        "AutoMLProblemTypeConfig": {
            "TabularJobConfig": {
                "CompletionCriteria": {"MaxCandidates": 5},
                "ProblemType": "Regression",
                "TargetAttributeName": "price",
                "Mode": "HYPERPARAMETER_TUNING",
            }
        },
        "RoleArn": ROLE_ARN,
        "SecurityConfig": {"EnableInterContainerTrafficEncryption": False, "VpcConfig": VPC_CONFIG},
        "AutoMLJobObjective": {"MetricName": "MSE"},
        "DataSplitConfig": {"ValidationFraction": 0.2},
    }
    request.update(overrides)
    return request


def _example_value(shape: Shape, depth: int = 0) -> Any:
    """A value for every member of `shape`, recursively: a request that sets *every* field the
    botocore model knows, so tests keep covering fields SageMaker adds later."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 8:  # recursive shapes
            return {}
        return {name: _example_value(member, depth + 1) for name, member in shape.members.items()}
    if kind == "list":
        return [_example_value(shape.member, depth + 1)]
    if kind == "map":
        return {"User-Key_1.x": _example_value(shape.value, depth + 1)}
    if kind == "string":
        return shape.enum[0] if shape.enum else "x" * max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("integer", "long"):
        return max(int(shape.metadata.get("min", 1)), 1)
    if kind in ("float", "double"):
        return max(float(shape.metadata.get("min", 1.5)), 1.5)
    if kind == "boolean":
        return True
    raise NotImplementedError(kind)


@pytest.fixture(scope="session")
def client() -> Callable[[str], Any]:
    """`client(service)`: one boto3 client per service for the whole session.

    Building a SageMaker client costs ~0.1 s; moto intercepts clients made before `mock_aws()`
    starts, so they are shared. Credentials are explicit: no environment to leak into other tiers.
    """
    cache: dict[str, Any] = {}

    def make(service: str) -> Any:
        if service not in cache:
            cache[service] = boto3.client(
                service,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return cache[service]

    return make


@pytest.fixture
def aws() -> Iterator[None]:
    sagemaker_extension.install()
    with mock_aws():
        yield


@pytest.fixture
def sagemaker(aws: None, client: Callable[[str], Any]) -> Any:
    return client("sagemaker")


@pytest.fixture
def event_tap(aws: None, client: Callable[[str], Any]) -> Callable[..., Callable[[], list[dict]]]:
    """`event_tap(pattern)` puts a rule with `pattern` and an SQS target on the default bus and
    returns a function that drains the events the queue received so far."""
    events, sqs = client("events"), client("sqs")

    def tap(pattern: dict[str, Any], name: str = "tap") -> Callable[[], list[dict]]:
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])

        def drain() -> list[dict]:
            received: list[dict] = []
            while True:
                batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    return received
                for message in batch:
                    received.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        return drain

    return tap


@pytest.fixture(scope="session")
def sagemaker_model() -> Any:
    return cloudtrail.service_model("sagemaker")


@pytest.fixture(scope="session")
def region() -> str:
    return REGION


@pytest.fixture(scope="session")
def account() -> str:
    return ACCOUNT


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    return {"custom": CUSTOM_IMAGE, "xgboost": XGBOOST_IMAGE}


@pytest.fixture(scope="session")
def job_request() -> Callable[..., dict[str, Any]]:
    """`job_request(name, **overrides)`: a CreateTrainingJob request for a 2-instance job."""
    return _training_job_request


@pytest.fixture(scope="session")
def processing_request() -> Callable[..., dict[str, Any]]:
    """`processing_request(name, **overrides)`: a CreateProcessingJob request (2 instances, VPC)."""
    return _processing_job_request


@pytest.fixture(scope="session")
def automl_request() -> Callable[..., dict[str, Any]]:
    """`automl_request(name, **overrides)`: a CreateAutoMLJob (V1) request with every V1 member."""
    return _automl_job_request


@pytest.fixture(scope="session")
def automl_v2_request() -> Callable[..., dict[str, Any]]:
    """`automl_v2_request(name, **overrides)`: a CreateAutoMLJobV2 tabular request."""
    return _automl_job_v2_request


# Members a request that sets everything must still leave out, because the real SageMaker refuses
# them together with others (sandbox/service_rules.py): AlgorithmName excludes TrainingImage, and
# InstancePreferences excludes InstanceType. Read-only members come from the rule table itself.
_MUTUALLY_EXCLUSIVE = (
    ("AlgorithmSpecification", "AlgorithmName"),
    ("ResourceConfig", "InstancePreferences"),
)


def _drop(request: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    holder: Any = request
    for parent in parents:
        holder = holder.get(parent) if isinstance(holder, dict) else None
    if isinstance(holder, dict):
        holder.pop(last, None)


@pytest.fixture(scope="session")
def full_job_request(sagemaker_model: Any) -> Callable[[str], dict[str, Any]]:
    """`full_job_request(name)`: a CreateTrainingJob request that sets every member of the model
    the real service accepts together (no read-only members, one of each exclusive pair)."""

    def build(name: str) -> dict[str, Any]:
        shape = sagemaker_model.operation_model("CreateTrainingJob").input_shape
        request = {**_example_value(shape), "TrainingJobName": name}
        for path in service_rules.read_only_members("CreateTrainingJob"):
            _drop(request, path)
        for parent, member in _MUTUALLY_EXCLUSIVE:
            _drop(request, f"{parent}.{member}")
        return request

    return build
