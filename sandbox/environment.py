"""Provision the embedded AWS the way a deployed stack and its users would leave an account:
the guard's table, topic and dead-letter queue, the template's EventBridge rules, a VPC with
security groups, and a role for SageMaker jobs. Shared by the demo and the integration tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from sandbox import template as sam_template

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Named as SageMaker names the execution roles it creates (console, Studio): the template's
# default SageMakerRoleNamePattern, service-role/AmazonSageMaker-ExecutionRole-*, lets the guard
# pass it, as a default deployment would.
SAGEMAKER_ROLE_PATH = "/service-role/"
SAGEMAKER_ROLE = "AmazonSageMaker-ExecutionRole-Sandbox"
TRAINING_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/distributed-trainer:1"


# The parameters the sandbox's accounts deploy the template with (others: their defaults).
DEPLOYED_PARAMETERS = {"RemediationMode": "relaunch"}


@dataclass
class GuardEnvironment:
    region: str
    vpc_id: str
    subnet_ids: list[str]
    bare_group_id: str  # default egress only: IPsec between members is not allowed
    second_group_id: str  # also attached to jobs, no rules at all
    role_arn: str
    topic_arn: str
    alerts_queue_url: str
    dead_letter_queue_url: str
    table_name: str
    template: dict[str, Any] = field(default_factory=dict, repr=False)
    target_queue_urls: dict[str, str] = field(default_factory=dict)

    def function_environment(self, function: str = "JobGuardFunction", **policy: str) -> dict[str, str]:
        """A function's environment (the job guard's unless `function` names another) as
        template.yaml sets it with default parameters except RemediationMode=relaunch (deployed
        like samconfig.toml's prod: the template's own default, notify, runs none of the steps the
        tests and the bench follow), with this account's table and topic, and `policy` overriding
        variables (REMEDIATION_MODE=...)."""
        resolved = {"ALERT_TOPIC_ARN": self.topic_arn, "IDEMPOTENCY_TABLE_NAME": self.table_name, **policy}
        return sam_template.function_environment(self.template, function, resolved, DEPLOYED_PARAMETERS)


def provision(session: Any, template: dict[str, Any] | None = None) -> GuardEnvironment:
    template = template or sam_template.load_template()
    ec2 = session.client("ec2")
    sqs = session.client("sqs")
    sns = session.client("sns")
    dynamodb = session.client("dynamodb")
    events = session.client("events")
    iam = session.client("iam")

    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{session.region_name}{az}")["Subnet"][
            "SubnetId"
        ]
        for cidr, az in (("10.20.1.0/24", "a"), ("10.20.2.0/24", "b"))
    ]
    bare = ec2.create_security_group(GroupName="training-nodes", Description="training nodes", VpcId=vpc_id)["GroupId"]
    second = ec2.create_security_group(GroupName="training-extra", Description="extra", VpcId=vpc_id)["GroupId"]
    # New groups come with allow-all egress; the second one is stripped to nothing, as hardened
    # accounts do, so the repair has to add outbound rules too.
    ec2.revoke_security_group_egress(
        GroupId=second, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )

    role_arn = iam.create_role(
        RoleName=SAGEMAKER_ROLE,
        Path=SAGEMAKER_ROLE_PATH,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]

    topic_arn = sns.create_topic(Name="ict-guard-alerts")["TopicArn"]
    alerts_queue_url = sqs.create_queue(QueueName="ict-guard-alerts-reader")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, alerts_queue_url))
    dead_letter_queue_url = sqs.create_queue(QueueName="ict-guard-dlq")["QueueUrl"]

    table_name = "ict-guard-idempotency"
    sam_template.create_dynamodb_table(dynamodb, template, table_name, "IdempotencyTable")

    target_queue_urls = {}
    for rule in sam_template.event_rules(template):
        function = rule.function_logical_id
        if function not in target_queue_urls:
            target_queue_urls[function] = sqs.create_queue(QueueName=f"{function}-invocations")["QueueUrl"]
    sam_template.install_rules(
        events,
        template,
        {fn: _queue_arn(sqs, url) for fn, url in target_queue_urls.items()},
    )
    return GuardEnvironment(
        region=session.region_name,
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        bare_group_id=bare,
        second_group_id=second,
        role_arn=role_arn,
        topic_arn=topic_arn,
        alerts_queue_url=alerts_queue_url,
        dead_letter_queue_url=dead_letter_queue_url,
        table_name=table_name,
        template=template,
        target_queue_urls=target_queue_urls,
    )


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def training_job_request(
    env: GuardEnvironment,
    name: str,
    *,
    encrypted: bool | None = False,
    instance_count: int = 2,
    vpc: bool = True,
    tags: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A CreateTrainingJob request as a data scientist's SDK would send it."""
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": TRAINING_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": env.role_arn,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://ml-models/output/"},
        "ResourceConfig": {"InstanceType": "ml.p4d.24xlarge", "InstanceCount": instance_count, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86_400},
        "HyperParameters": {"epochs": "10", "sagemaker_program": "train.py"},
        "Environment": {"NCCL_DEBUG": "INFO"},
        "RetryStrategy": {"MaximumRetryAttempts": 2},
        "CheckpointConfig": {"S3Uri": f"s3://ml-models/checkpoints/{name}/"},
    }
    if encrypted is not None:
        request["EnableInterContainerTrafficEncryption"] = encrypted
    if vpc:
        request["VpcConfig"] = {
            "SecurityGroupIds": [env.bare_group_id, env.second_group_id],
            "Subnets": env.subnet_ids,
        }
    if tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    request.update(extra)
    return request


def tuning_job_request(
    env: GuardEnvironment,
    name: str,
    *,
    encrypted: bool | None = False,
    instance_count: int = 2,
    vpc: bool = True,
    definitions: int = 1,
    strategy: str = "Bayesian",
    tags: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request; `definitions` > 1 makes a multi-algorithm job
    (TrainingJobDefinitions) whose first definition has the given encryption and the rest are
    encrypted."""
    objective = {"Type": "Minimize", "MetricName": "validation:loss"}

    def definition(index: int, flag: bool | None) -> dict[str, Any]:
        spec = training_job_request(env, f"{name}-d{index}", encrypted=flag, instance_count=instance_count, vpc=vpc)
        result: dict[str, Any] = {
            "StaticHyperParameters": spec.pop("HyperParameters"),
            "AlgorithmSpecification": {
                **spec["AlgorithmSpecification"],
                "MetricDefinitions": [{"Name": "validation:loss", "Regex": "val_loss=([0-9\\.]+)"}],
            },
            "HyperParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1"}]
            },
        }
        for key in (
            "RoleArn",
            "InputDataConfig",
            "OutputDataConfig",
            "ResourceConfig",
            "StoppingCondition",
            "VpcConfig",
            "EnableInterContainerTrafficEncryption",
            "Environment",
            "RetryStrategy",
            "CheckpointConfig",
        ):
            if key in spec:
                result[key] = spec[key]
        if definitions > 1:
            result["DefinitionName"] = f"algo{index}"
            result["TuningObjective"] = objective
        return result

    config: dict[str, Any] = {
        "Strategy": strategy,
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
    }
    request: dict[str, Any] = {"HyperParameterTuningJobName": name, "HyperParameterTuningJobConfig": config}
    if definitions > 1:
        request["TrainingJobDefinitions"] = [definition(i, encrypted if i == 0 else True) for i in range(definitions)]
    else:
        config["HyperParameterTuningJobObjective"] = objective
        request["TrainingJobDefinition"] = definition(0, encrypted)
    if tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    request.update(extra)
    return request


def processing_job_request(
    env: GuardEnvironment,
    name: str,
    *,
    encrypted: bool | None = False,
    instance_count: int = 2,
    vpc: bool = True,
    tags: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A CreateProcessingJob request as a user sends it (a Spark feature job)."""
    network: dict[str, Any] = {"EnableNetworkIsolation": False}
    if encrypted is not None:
        network["EnableInterContainerTrafficEncryption"] = encrypted
    if vpc:
        network["VpcConfig"] = {"SecurityGroupIds": [env.bare_group_id, env.second_group_id], "Subnets": env.subnet_ids}
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            {
                "InputName": "raw",
                "S3Input": {
                    "S3Uri": "s3://ml-data/raw/",
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
                        "S3Uri": "s3://ml-data/features/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": instance_count, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 30}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {
            "ImageUri": f"{ACCOUNT}.dkr.ecr.{env.region}.amazonaws.com/spark-processing:3.3",
            "ContainerEntrypoint": ["smspark-submit", "/opt/ml/processing/input/code/features.py"],
        },
        "Environment": {"STAGE": "prod"},
        "NetworkConfig": network,
        "RoleArn": env.role_arn,
    }
    if tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    request.update(extra)
    return request


def automl_job_request(
    env: GuardEnvironment, name: str, *, encrypted: bool | None = False, vpc: bool = True, v2: bool = False
) -> dict[str, Any]:
    """A CreateAutoMLJob (V1) or CreateAutoMLJobV2 request for a tabular churn model."""
    security: dict[str, Any] = {}
    if encrypted is not None:
        security["EnableInterContainerTrafficEncryption"] = encrypted
    if vpc:
        security["VpcConfig"] = {"SecurityGroupIds": [env.bare_group_id], "Subnets": env.subnet_ids}
    data = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/churn/"}}
    if v2:
        request: dict[str, Any] = {
            "AutoMLJobName": name,
            "AutoMLJobInputDataConfig": [
                {"ChannelType": "training", "ContentType": "text/csv;header=present", "DataSource": data}
            ],
            "AutoMLProblemTypeConfig": {
                "TabularJobConfig": {
                    "CompletionCriteria": {"MaxCandidates": 10},
                    "ProblemType": "BinaryClassification",
                    "TargetAttributeName": "churned",
                }
            },
        }
        if security:
            request["SecurityConfig"] = security
    else:
        config: dict[str, Any] = {"CompletionCriteria": {"MaxCandidates": 10}, "Mode": "ENSEMBLING"}
        if security:
            config["SecurityConfig"] = security
        request = {
            "AutoMLJobName": name,
            "InputDataConfig": [{"DataSource": data, "TargetAttributeName": "churned"}],
            "ProblemType": "BinaryClassification",
            "AutoMLJobConfig": config,
        }
    request.update(
        OutputDataConfig={"S3OutputPath": "s3://ml-models/automl/"},
        RoleArn=env.role_arn,
        AutoMLJobObjective={"MetricName": "F1"},
    )
    return request


MONITOR_IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


def _monitoring_network(env: GuardEnvironment, encrypted: bool | None, vpc: bool) -> dict[str, Any]:
    network: dict[str, Any] = {"EnableNetworkIsolation": False}
    if encrypted is not None:
        network["EnableInterContainerTrafficEncryption"] = encrypted
    if vpc:
        network["VpcConfig"] = {"SecurityGroupIds": [env.bare_group_id], "Subnets": env.subnet_ids}
    return network


def data_quality_job_definition_request(
    env: GuardEnvironment, name: str, *, encrypted: bool | None = False, vpc: bool = True, instance_count: int = 2
) -> dict[str, Any]:
    """A CreateDataQualityJobDefinition request for an endpoint's data-quality monitor."""
    return {
        "JobDefinitionName": name,
        "DataQualityAppSpecification": {"ImageUri": MONITOR_IMAGE},
        "DataQualityJobInput": {
            "EndpointInput": {"EndpointName": "churn-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint"}
        },
        "DataQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": "s3://ml-monitoring/data-quality/", "LocalPath": "/opt/ml/processing/output"}}
            ]
        },
        "JobResources": {
            "ClusterConfig": {"InstanceCount": instance_count, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "NetworkConfig": _monitoring_network(env, encrypted, vpc),
        "RoleArn": env.role_arn,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }


def monitoring_schedule_request(
    env: GuardEnvironment,
    name: str,
    *,
    encrypted: bool | None = False,
    vpc: bool = True,
    instance_count: int = 2,
    definition: str | None = None,
) -> dict[str, Any]:
    """A CreateMonitoringSchedule request: an inline job definition, or (`definition`) a
    DataQuality job definition by name."""
    config: dict[str, Any] = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}}
    if definition is not None:
        config.update(MonitoringJobDefinitionName=definition, MonitoringType="DataQuality")
    else:
        config["MonitoringJobDefinition"] = {
            "MonitoringInputs": [
                {"EndpointInput": {"EndpointName": "churn-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint"}}
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {"S3Output": {"S3Uri": "s3://ml-monitoring/drift/", "LocalPath": "/opt/ml/processing/output"}}
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": instance_count, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {"ImageUri": MONITOR_IMAGE},
            "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
            "NetworkConfig": _monitoring_network(env, encrypted, vpc),
            "RoleArn": env.role_arn,
        }
    return {"MonitoringScheduleName": name, "MonitoringScheduleConfig": config}


def read_alerts(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Alerts delivered to the SQS subscription: the JSON document, plus SNS's envelope fields."""
    alerts = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return alerts
        for message in messages:
            envelope = json.loads(message["Body"])
            document = json.loads(envelope["Message"])
            document["_subject"] = envelope.get("Subject")
            document["_attributes"] = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            alerts.append(document)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class GuardSandbox:
    """An account with the guard deployed: user calls go in, the real handler runs behind the
    template's rules with Lambda's asynchronous retry semantics, and the results can be read."""

    def __init__(self, session: Any, env: GuardEnvironment, handler: Any, function: str = "JobGuardFunction"):
        from sandbox.lambda_service import AsyncLambda, QueueTarget, sqs_dead_letter

        self.session = session
        self.env = env
        self.sagemaker = session.client("sagemaker")  # the data scientist's client
        self.ec2 = session.client("ec2")
        self.sqs = session.client("sqs")
        self.function = AsyncLambda(
            handler,
            region=env.region,
            on_failure=sqs_dead_letter(self.sqs, env.dead_letter_queue_url),
        )
        self.target = QueueTarget(self.sqs, env.target_queue_urls[function], self.function)
        self.targets = {function: self.target}

    def add_function(self, function: str, handler: Any, function_name: str) -> Any:
        """Deploy one more function of the template behind its rules (e.g. the security-group
        guard); `deliver` then runs every deployed function. Returns its AsyncLambda."""
        from sandbox.lambda_service import AsyncLambda, QueueTarget, sqs_dead_letter

        deployed = AsyncLambda(
            handler,
            function_name=function_name,
            region=self.env.region,
            on_failure=sqs_dead_letter(self.sqs, self.env.dead_letter_queue_url),
        )
        self.targets[function] = QueueTarget(self.sqs, self.env.target_queue_urls[function], deployed)
        return deployed

    def iam_user_session(self, user_name: str) -> Any:
        """A session signed with a new IAM user's access key: its calls reach CloudTrail events
        as that user (userIdentity arn:aws:iam::<account>:user/<name>)."""
        import boto3

        iam = self.session.client("iam")
        iam.create_user(UserName=user_name)
        key = iam.create_access_key(UserName=user_name)["AccessKey"]
        return boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name=self.env.region,
        )

    def create_training_job(self, name: str, **kwargs: Any) -> str:
        request = training_job_request(self.env, name, **kwargs)
        return self.sagemaker.create_training_job(**request)["TrainingJobArn"]

    def create_tuning_job(self, name: str, **kwargs: Any) -> str:
        request = tuning_job_request(self.env, name, **kwargs)
        return self.sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]

    def create_processing_job(self, name: str, **kwargs: Any) -> str:
        request = processing_job_request(self.env, name, **kwargs)
        return self.sagemaker.create_processing_job(**request)["ProcessingJobArn"]

    def create_automl_job(self, name: str, *, v2: bool = False, **kwargs: Any) -> str:
        request = automl_job_request(self.env, name, v2=v2, **kwargs)
        create = self.sagemaker.create_auto_ml_job_v2 if v2 else self.sagemaker.create_auto_ml_job
        return create(**request)["AutoMLJobArn"]

    def create_monitoring_schedule(self, name: str, **kwargs: Any) -> str:
        request = monitoring_schedule_request(self.env, name, **kwargs)
        return self.sagemaker.create_monitoring_schedule(**request)["MonitoringScheduleArn"]

    def create_data_quality_job_definition(self, name: str, **kwargs: Any) -> str:
        request = data_quality_job_definition_request(self.env, name, **kwargs)
        return self.sagemaker.create_data_quality_job_definition(**request)["JobDefinitionArn"]

    def describe_kind(self, kind: str, name: str) -> dict[str, Any]:
        """Describe* of a job of any kind the guard handles (`kind` as in ARNs: processing-job, ...)."""
        from botocore import xform_name

        from ict_guard.jobs import API_BY_KIND, JobKind

        api = API_BY_KIND[JobKind(kind)]
        return getattr(self.sagemaker, xform_name(api.describe_operation))(**{api.name_member: name})

    def tags_of(self, kind: str, name: str) -> dict[str, str]:
        from ict_guard.jobs import API_BY_KIND, JobKind

        arn = self.describe_kind(kind, name)[API_BY_KIND[JobKind(kind)].arn_member]
        return {t["Key"]: t["Value"] for t in self.sagemaker.list_tags(ResourceArn=arn)["Tags"]}

    def describe_tuning(self, name: str) -> dict[str, Any]:
        return self.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)

    def tuning_tags(self, name: str) -> dict[str, str]:
        arn = self.describe_tuning(name)["HyperParameterTuningJobArn"]
        return {t["Key"]: t["Value"] for t in self.sagemaker.list_tags(ResourceArn=arn)["Tags"]}

    def tuning_job_names(self) -> list[str]:
        pages = self.sagemaker.get_paginator("list_hyper_parameter_tuning_jobs").paginate()
        return sorted(
            s["HyperParameterTuningJobName"] for page in pages for s in page["HyperParameterTuningJobSummaries"]
        )

    def deliver(self) -> list[Any]:
        """Run the function for every event the rules routed to it, until none is left
        (the guard's own calls can route further events)."""
        invocations: list[Any] = []
        while batch := [i for target in list(self.targets.values()) for i in target.drain()]:
            invocations.extend(batch)
        return invocations

    def describe(self, name: str) -> dict[str, Any]:
        return self.sagemaker.describe_training_job(TrainingJobName=name)

    def tags(self, name: str) -> dict[str, str]:
        arn = self.describe(name)["TrainingJobArn"]
        return {t["Key"]: t["Value"] for t in self.sagemaker.list_tags(ResourceArn=arn)["Tags"]}

    def training_job_names(self) -> list[str]:
        pages = self.sagemaker.get_paginator("list_training_jobs").paginate()
        return sorted(s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"])

    def group(self, group_id: str) -> dict[str, Any]:
        return self.ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]

    def alerts(self) -> list[dict[str, Any]]:
        return read_alerts(self.sqs, self.env.alerts_queue_url)

    def dead_letters(self) -> list[dict[str, Any]]:
        records = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.env.dead_letter_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return records
            for message in messages:
                records.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.env.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"])


@contextmanager
def deployed_guard(setenv: Callable[[str, str], None]) -> Iterator[GuardSandbox]:
    """moto in-process with the SageMaker extension, an account provisioned from template.yaml,
    and the real job-guard handler behind its rules in relaunch mode; `setenv` sets the
    function's environment (pytest's monkeypatch.setenv, so that it is undone afterwards)."""
    from moto import mock_aws

    from functions.job_guard.app import lambda_handler
    from ict_guard.runtime import job_guard_runtime
    from sandbox import sagemaker_extension

    with mock_aws():
        sagemaker_extension.install()
        session = boto3.session.Session(region_name=REGION)
        env = provision(session)
        for key, value in env.function_environment().items():
            setenv(key, value)
        job_guard_runtime.cache_clear()
        try:
            yield GuardSandbox(session, env, lambda_handler)
        finally:
            job_guard_runtime.cache_clear()
