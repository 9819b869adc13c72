"""In-memory stand-ins for the guard's ports: SageMaker (ports.SageMakerJobs), the ledger, the
security-group repairer, the alert publisher, and Powertools' logger and metrics. They keep what
was asked of them in order (`calls`), so a test can assert the sequence, not only the end state.

They model the service only as far as the guard's contract needs: Stop* refuses a job that is
not InProgress; Create* refuses a taken name (ResourceInUse -> False); `refuse_create` scripts
SageMaker's ValidationException for requests a test chooses. Service rules themselves are the
embedded SageMaker's business (sandbox/service_rules.py), tested on moto.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from ict_guard.errors import CopyRefused, DescribedOtherJob, JobGone, NotStoppable
from ict_guard.jobs import JobApi
from ict_guard.ledger import LedgerEntry
from ict_guard.policy import Intent
from ict_guard.remediation import JobGuard
from ict_guard.reporting import Reporter
from ict_guard.security_groups import RepairResult, RuleNeed
from ict_guard.settings import RemediationMode, Settings

MODEL = botocore.session.get_session().get_service_model("sagemaker")
ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-1"


def training_job(
    name: str, *, encrypted: bool = False, instance_count: int = 2, status: str = "InProgress", **extra: Any
) -> dict[str, Any]:
    """A DescribeTrainingJob response of a real shape (what the guard reads and copies)."""
    described = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name.lower()}",
        "TrainingJobStatus": status,
        "SecondaryStatus": "Training",
        "AlgorithmSpecification": {
            "TrainingImage": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/resnet:2.1",
            "TrainingInputMode": "File",
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://ml-models/output/"},
        "ResourceConfig": {"InstanceType": "ml.p3.16xlarge", "InstanceCount": instance_count, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": {"epochs": "10", "sagemaker_program": "train.py"},
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": encrypted,
        "EnableManagedSpotTraining": False,
        "CreationTime": "2026-11-30T06:00:00Z",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://ml-models/output/model.tar.gz"},
    }
    described.update(extra)
    return described


def processing_job(
    name: str, *, encrypted: bool | None = False, instance_count: int = 2, status: str = "InProgress", **extra: Any
) -> dict[str, Any]:
    """A DescribeProcessingJob response of a real shape (API reference, DescribeProcessingJob)."""
    network: dict[str, Any] = {"EnableNetworkIsolation": False}
    if encrypted is not None:
        network["EnableInterContainerTrafficEncryption"] = encrypted
    described = {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name.lower()}",
        "ProcessingJobStatus": status,
        "ProcessingInputs": [
            {
                "InputName": "input-1",
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
            "ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/spark-processing:3.3",
            "ContainerEntrypoint": ["smspark-submit", "/opt/ml/processing/input/code/preprocess.py"],
        },
        "Environment": {"STAGE": "prod"},
        "NetworkConfig": network,
        "RoleArn": ROLE,
        "CreationTime": "2026-11-30T06:00:00Z",
    }
    described.update(extra)
    return described


def automl_job(
    name: str, *, encrypted: bool | None = False, status: str = "InProgress", **extra: Any
) -> dict[str, Any]:
    """A DescribeAutoMLJobV2 response of a real shape (API reference, DescribeAutoMLJobV2)."""
    security: dict[str, Any] = {}
    if encrypted is not None:
        security["EnableInterContainerTrafficEncryption"] = encrypted
    described = {
        "AutoMLJobName": name,
        "AutoMLJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:automl-job/{name.lower()}",
        "AutoMLJobStatus": status,
        "AutoMLJobSecondaryStatus": "Starting",
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "text/csv;header=present",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/churn/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://ml-models/automl/"},
        "RoleArn": ROLE,
        "AutoMLJobObjective": {"MetricName": "F1"},
        "AutoMLProblemTypeConfig": {
            "TabularJobConfig": {
                "CompletionCriteria": {"MaxCandidates": 10},
                "Mode": "HYPERPARAMETER_TUNING",
                "ProblemType": "BinaryClassification",
                "TargetAttributeName": "churned",
            }
        },
        "AutoMLProblemTypeConfigName": "Tabular",
        "SecurityConfig": security,
        "CreationTime": "2026-11-30T06:00:00Z",
        "LastModifiedTime": "2026-11-30T06:01:00Z",
    }
    described.update(extra)
    return described


def monitoring_schedule(
    name: str, *, encrypted: bool | None = False, definition: str | None = None, execution: str | None = None
) -> dict[str, Any]:
    """A DescribeMonitoringSchedule response (API reference): an inline MonitoringJobDefinition,
    or (`definition`) a DataQuality job definition by name; `execution`: the processing job of a
    running execution."""
    network: dict[str, Any] = {"VpcConfig": {"SecurityGroupIds": ["sg-mon"], "Subnets": ["subnet-1"]}}
    if encrypted is not None:
        network["EnableInterContainerTrafficEncryption"] = encrypted
    config: dict[str, Any] = {"ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}}
    if definition is not None:
        config.update(MonitoringJobDefinitionName=definition, MonitoringType="DataQuality")
    else:
        config["MonitoringJobDefinition"] = {
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": "churn-endpoint",
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": "s3://ml-monitoring/reports/",
                            "LocalPath": "/opt/ml/processing/output",
                        }
                    }
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {
                "ImageUri": f"156813124566.dkr.ecr.{REGION}.amazonaws.com/sagemaker-model-monitor-analyzer"
            },
            "NetworkConfig": network,
            "RoleArn": ROLE,
        }
    described: dict[str, Any] = {
        "MonitoringScheduleArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/{name.lower()}",
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": "Scheduled",
        "MonitoringType": "DataQuality",
        "CreationTime": "2026-11-30T06:00:00Z",
        "LastModifiedTime": "2026-11-30T06:00:00Z",
        "MonitoringScheduleConfig": config,
        "EndpointName": "churn-endpoint",
    }
    if execution is not None:
        described["LastMonitoringExecutionSummary"] = {
            "MonitoringScheduleName": name,
            "ScheduledTime": "2026-11-30T07:00:00Z",
            "CreationTime": "2026-11-30T07:00:00Z",
            "LastModifiedTime": "2026-11-30T07:00:00Z",
            "MonitoringExecutionStatus": "InProgress",
            "ProcessingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{execution}",
        }
    return described


def data_quality_job_definition(
    name: str, *, encrypted: bool | None = False, instance_count: int = 2
) -> dict[str, Any]:
    """A DescribeDataQualityJobDefinition response (API reference)."""
    network: dict[str, Any] = {"EnableNetworkIsolation": False}
    if encrypted is not None:
        network["EnableInterContainerTrafficEncryption"] = encrypted
    return {
        "JobDefinitionArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:data-quality-job-definition/{name.lower()}",
        "JobDefinitionName": name,
        "CreationTime": "2026-11-30T06:00:00Z",
        "DataQualityAppSpecification": {
            "ImageUri": f"156813124566.dkr.ecr.{REGION}.amazonaws.com/sagemaker-model-monitor-analyzer"
        },
        "DataQualityJobInput": {
            "EndpointInput": {"EndpointName": "churn-endpoint", "LocalPath": "/opt/ml/processing/input/endpoint"}
        },
        "DataQualityJobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": "s3://ml-monitoring/dq/", "LocalPath": "/opt/ml/processing/output"}}
            ]
        },
        "JobResources": {
            "ClusterConfig": {"InstanceCount": instance_count, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "NetworkConfig": network,
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
    }


@dataclass
class FakeSageMaker:
    """ports.SageMakerJobs in memory. `jobs`: name -> Describe* response; `tags`: arn -> tags."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    # Called with each Create* request: a message refuses it (ValidationException), None accepts.
    refuse_create: Callable[[dict[str, Any]], str | None] = lambda request: None
    # operation -> exceptions to raise on the next calls (a transient error, a crash).
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    describe_answers_for: str | None = None

    @property
    def service_model(self) -> Any:
        return MODEL

    partition = "aws"

    def add(self, described: dict[str, Any], tags: dict[str, str] | None = None) -> None:
        name = next(v for k, v in described.items() if k.endswith(("JobName", "ScheduleName", "DefinitionName")))
        self.jobs[name.lower()] = described
        arn = next(v for k, v in described.items() if k.endswith(("JobArn", "ScheduleArn", "DefinitionArn")))
        self.tags[arn] = dict(tags or {})

    def _fail(self, operation: str) -> None:
        self.calls.append(operation)
        queue = self.failures.get(operation)
        if queue:
            raise queue.pop(0)

    def describe(self, api: JobApi, name: str) -> dict[str, Any]:
        self._fail(api.describe_operation)
        job = self.jobs.get(name.lower())
        if job is None:
            raise JobGone(name)
        if self.describe_answers_for:
            raise DescribedOtherJob(f"asked for {name!r}, got {self.describe_answers_for!r}")
        described = copy.deepcopy(job)
        if api.status_member and job[api.status_member] == "Stopping":
            job[api.status_member] = "Stopped"  # seen once Stopping, then Stopped
        return described

    def list_tags(self, arn: str) -> dict[str, str]:
        self._fail("ListTags")
        return dict(self.tags.get(arn, {}))

    def stop(self, api: JobApi, name: str) -> None:
        self._fail(api.stop_operation)
        job = self.jobs.get(name.lower())
        if job is None or not api.is_active(job[api.status_member]):
            raise NotStoppable(name)
        job[api.status_member] = "Stopped" if api.in_place else "Stopping"  # a schedule stops at once

    def schedules_running(self, definition_name: str, monitoring_type: str) -> list[str]:
        self._fail("ListMonitoringSchedules")
        return [
            job["MonitoringScheduleName"]
            for job in self.jobs.values()
            if (job.get("MonitoringScheduleConfig") or {}).get("MonitoringJobDefinitionName") == definition_name
            and job["MonitoringScheduleConfig"].get("MonitoringType") == monitoring_type
        ]

    def add_tags(self, arn: str, tags: dict[str, str]) -> None:
        self._fail("AddTags")
        self.tags.setdefault(arn, {}).update(tags)

    def create(self, api: JobApi, request: dict[str, Any]) -> bool:
        self._fail(api.create_operation)
        name = request[api.name_member]
        if api.in_place:  # Update*: the request replaces what it names
            message = self.refuse_create(request)
            if message is not None:
                raise CopyRefused(message)
            self.created.append(copy.deepcopy(request))
            self.jobs[name.lower()].update(copy.deepcopy(request))
            return True
        if name.lower() in self.jobs:
            return False
        message = self.refuse_create(request)
        if message is not None:
            raise CopyRefused(message)
        self.created.append(copy.deepcopy(request))
        described = {
            **copy.deepcopy({k: v for k, v in request.items() if k != "Tags"}),
            api.arn_member: f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{api.kind.value}/{name.lower()}",
            api.status_member: "InProgress",
        }
        self.add(described, {t["Key"]: t["Value"] for t in request.get("Tags", [])})
        return True


@dataclass
class FakeLedger:
    """ledger.RemediationLedger in memory."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_settle: bool = False
    fail_record: BaseException | None = None  # raised by every record (DynamoDB down)

    def location(self, job_key: str) -> str:
        return f"ledger item {job_key}"

    def record(
        self, job_key: str, intent: Intent, relaunch_request: dict[str, Any] | None, *, job_name: str | None = None
    ) -> None:
        self.calls.append("record")
        if self.fail_record is not None:
            raise self.fail_record
        self.items[job_key] = {
            "intent": intent,
            "settled": False,
            "relaunch_request": copy.deepcopy(relaunch_request),
            "job_name": job_name,
        }

    def lookup(self, job_key: str) -> LedgerEntry | None:
        self.calls.append("lookup")
        item = self.items.get(job_key)
        if item is None:
            return None
        return LedgerEntry(
            intent=item["intent"],
            settled=item["settled"],
            relaunch_request=copy.deepcopy(item.get("relaunch_request")),
            outcome=item.get("outcome"),
            refusal=item.get("refusal"),
            confirmed=bool(item.get("confirmed", False)),
        )

    def record_refusal(
        self, job_key: str, message: str, relaunch_request: dict[str, Any], *, job_name: str | None = None
    ) -> None:
        self.calls.append("record_refusal")
        item = self.items.setdefault(job_key, {"intent": Intent.RELAUNCH, "settled": False})
        item.update(
            intent=Intent.RELAUNCH, settled=False, refusal=message, relaunch_request=copy.deepcopy(relaunch_request)
        )

    def notified_version(self, job_key: str) -> str | None:
        self.calls.append("notified_version")
        return self.items.get(f"{job_key}#notified", {}).get("version")

    def record_notified(self, job_key: str, version: str) -> None:
        self.calls.append("record_notified")
        self.items[f"{job_key}#notified"] = {"version": version}

    def confirm(self, job_key: str) -> None:
        self.calls.append("confirm")
        self.items[job_key]["confirmed"] = True

    def settle(self, job_key: str, outcome: str) -> None:
        self.calls.append("settle")
        if self.fail_settle:
            raise RuntimeError("DynamoDB unavailable")
        self.items[job_key].update(settled=True, outcome=outcome)


@dataclass
class FakeRepairer:
    """security_groups.SecurityGroupRepairer: every group set lacks `missing`."""

    missing: tuple[RuleNeed, ...] = ()
    repaired: list[tuple[str, ...]] = field(default_factory=list)

    def repair(self, group_ids: Sequence[str]) -> RepairResult:
        self.repaired.append(tuple(group_ids))
        return RepairResult(tuple(group_ids), added=[(group_ids[0], need) for need in self.missing])


class FakeAlerts:
    def __init__(self) -> None:
        self.published: list[Any] = []
        self.failures: list[BaseException] = []  # raised by the next publishes, in order

    def publish(self, alert: Any) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.published.append(alert)
        return f"message-{len(self.published)}"


class FakeLogger:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []
        self.correlation_id: str | None = None

    def append_keys(self, **keys: Any) -> None:
        pass

    def set_correlation_id(self, value: str | None) -> None:
        self.correlation_id = value

    def _log(self, level: str, message: str, extra: dict[str, Any] | None = None) -> None:
        self.records.append((level, message, extra or {}))

    def info(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._log("info", message, extra)

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._log("warning", message, extra)

    def error(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._log("error", message, extra)

    def exception(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self._log("exception", message, extra)


class FakeMetrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add_metric(self, name: str, unit: Any, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


@dataclass
class GuardUnderTest:
    guard: JobGuard
    sagemaker: FakeSageMaker
    ledger: FakeLedger
    repairer: FakeRepairer
    alerts: FakeAlerts
    metrics: FakeMetrics
    logger: FakeLogger


def make_job_guard(
    sagemaker: FakeSageMaker | None = None, *, missing: tuple[RuleNeed, ...] = (), **settings: Any
) -> GuardUnderTest:
    """A JobGuard over fakes, in relaunch mode unless `settings` say otherwise; no idempotency
    (Powertools' is tested on moto), so every call runs."""
    sagemaker = sagemaker or FakeSageMaker()
    ledger, repairer, alerts = FakeLedger(), FakeRepairer(missing), FakeAlerts()
    metrics, logger = FakeMetrics(), FakeLogger()
    settings.setdefault("mode", RemediationMode.RELAUNCH)
    guard = JobGuard(
        settings=Settings(alert_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts", **settings),
        sagemaker=sagemaker,
        security_groups=repairer,
        reporter=Reporter(alerts=alerts, logger=logger, metrics=metrics),  # type: ignore[arg-type]
        ledger=ledger,  # type: ignore[arg-type]
        logger=logger,  # type: ignore[arg-type]
        region=REGION,
    )
    return GuardUnderTest(guard, sagemaker, ledger, repairer, alerts, metrics, logger)
