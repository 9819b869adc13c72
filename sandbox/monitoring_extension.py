"""Model monitoring for the embedded SageMaker: monitoring schedules and their job definitions.

moto 5.2.5 has no monitoring schedules at all (CreateMonitoringSchedule is "not implemented"), and
its four monitoring job definitions (DataQuality, ModelBias, ModelExplainability, ModelQuality) are
loose: DescribeModelExplainabilityJobDefinition drops StoppingCondition, DataQuality and ModelBias
definitions gain an empty BaselineConfig, ListDataQualityJobDefinitions reports the placeholder
EndpointName "EndpointName", a second DataQuality or ModelBias definition with a name in use silently
replaces the first, names are not checked against their length and pattern, and the lists ignore
their filters, order and paging. `install()` patches moto's SageMaker:

- Create/Describe/List/Delete of the four job definitions keep the request as sent: Describe
  returns every member of it that its output has (NetworkConfig with
  EnableInterContainerTrafficEncryption and VpcConfig, JobResources.ClusterConfig, RoleArn, …),
  with the ARN `arn:aws:sagemaker:<region>:<account>:<kind>-job-definition/<name>`. They stay in
  moto's collections, so AddTags/ListTags/DeleteTags work on their ARNs. Definitions are immutable:
  SageMaker has no Update*JobDefinition.
- CreateMonitoringSchedule, DescribeMonitoringSchedule, UpdateMonitoringSchedule,
  StopMonitoringSchedule, StartMonitoringSchedule, DeleteMonitoringSchedule,
  ListMonitoringSchedules and ListMonitoringExecutions, with the schedule's ARN known to the
  tagging API (`arn:aws:sagemaker:<region>:<account>:monitoring-schedule/<name>`).
- The rules of `sandbox.service_rules` for these operations (names, one definition, the named
  definition exists with that MonitoringType), and its tag rules for their Tags.

A schedule is `Pending` when created or updated; the first Describe or List shows that, after which
it is `Scheduled` (in AWS this takes seconds; one observable Pending is enough, without tests that
sleep). Stop → `Stopped`, Start → `Scheduled`.

Nothing runs on a clock: `start_monitoring_execution` plays the schedule's next run, a processing job
(DescribeProcessingJob names the schedule in MonitoringScheduleArn) run with the schedule's
NetworkConfig and ClusterConfig, and `complete_monitoring_execution` ends it.

CloudTrail events for CreateMonitoringSchedule, UpdateMonitoringSchedule and the four
Create*JobDefinition calls are listed in `sandbox.cloudtrail.EMITTED_OPERATIONS`.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from sandbox import service_rules
from sandbox.sagemaker_extension import _as_utc, _now, _output_members, _require_members

__all__ = [
    "JOB_DEFINITION_KINDS",
    "EmulatedJobDefinition",
    "EmulatedMonitoringSchedule",
    "MonitoringExecution",
    "complete_monitoring_execution",
    "install",
    "monitoring_executions",
    "start_monitoring_execution",
]


@dataclass(frozen=True)
class JobDefinitionKind:
    """One of the four monitoring job definition kinds: its MonitoringType and API names."""

    monitoring_type: str  # DataQuality, ModelBias, ModelExplainability, ModelQuality

    @property
    def collection(self) -> str:
        """moto's backend attribute, e.g. `data_quality_job_definitions`."""
        return camelcase_to_underscores(self.monitoring_type) + "_job_definitions"

    @property
    def arn_resource(self) -> str:
        """The resource type in the ARN, e.g. `data-quality-job-definition`."""
        return camelcase_to_underscores(self.monitoring_type).replace("_", "-") + "-job-definition"

    def operation(self, verb: str) -> str:
        """`Create`, `Describe`, `Delete` → e.g. `CreateDataQualityJobDefinition`."""
        return f"{verb}{self.monitoring_type}JobDefinition"

    def member(self, suffix: str) -> str:
        """`AppSpecification`, `JobInput`, `JobOutputConfig` → e.g. `DataQualityJobInput`."""
        return f"{self.monitoring_type}{suffix}"


JOB_DEFINITION_KINDS: Mapping[str, JobDefinitionKind] = {
    kind: JobDefinitionKind(kind) for kind in service_rules.MONITORING_TYPES
}
# Inline definitions of a schedule are data-quality jobs: DescribeMonitoringSchedule of a schedule
# created with an inline MonitoringJobDefinition and no MonitoringType reports
# MonitoringType "DataQuality", and the definition's StoppingCondition as {"MaxRuntimeInSeconds":
# 3600} (live AWS, https://github.com/go-to-k/cdk-real-drift/pull/1578).
_INLINE_MONITORING_TYPE = "DataQuality"
_DEFAULT_STOPPING_CONDITION = {"MaxRuntimeInSeconds": 3600}

_EXECUTION_FINAL = ("Completed", "CompletedWithViolations", "Failed", "Stopped")
# The processing job's status → the monitoring execution's (an execution runs one processing job).
_EXECUTION_OF_PROCESSING = {
    "InProgress": "InProgress",
    "Stopping": "Stopping",
    "Stopped": "Stopped",
    "Completed": "Completed",
    "Failed": "Failed",
}


def _endpoint_of(job_input: Mapping[str, Any] | None) -> str | None:
    endpoint_input = (job_input or {}).get("EndpointInput") or {}
    return endpoint_input.get("EndpointName")


class EmulatedJobDefinition(BaseModel):
    """A monitoring job definition as SageMaker keeps it: the create request as sent."""

    def __init__(self, account_id: str, region_name: str, kind: JobDefinitionKind, request: Mapping[str, Any]):
        self.request = copy.deepcopy(dict(request))
        self.kind = kind
        self.job_definition_name: str = self.request["JobDefinitionName"]
        self.arn = arn_formatter(kind.arn_resource, self.job_definition_name, account_id, region_name)
        self.tags: list[dict[str, str]] = copy.deepcopy(self.request.get("Tags") or [])
        self.creation_time = _now()

    @property
    def endpoint_name(self) -> str | None:
        return _endpoint_of(self.request.get(self.kind.member("JobInput")))

    def describe(self) -> dict[str, Any]:
        """The Describe*JobDefinition response."""
        operation = self.kind.operation("Describe")
        description = {k: copy.deepcopy(v) for k, v in self.request.items() if k in _output_members(operation)}
        description.update(
            {
                "JobDefinitionArn": self.arn,
                "JobDefinitionName": self.job_definition_name,
                "CreationTime": self.creation_time,
            }
        )
        return description

    def summary(self) -> dict[str, Any]:
        summary = {
            "MonitoringJobDefinitionName": self.job_definition_name,
            "MonitoringJobDefinitionArn": self.arn,
            "CreationTime": self.creation_time,
        }
        if self.endpoint_name:
            summary["EndpointName"] = self.endpoint_name
        return summary

    def job(self) -> dict[str, Any]:
        """What a run of this definition runs, in the inline MonitoringJobDefinition's terms."""
        request, kind = self.request, self.kind
        app = request.get(kind.member("AppSpecification")) or {}
        job: dict[str, Any] = {
            "MonitoringAppSpecification": {
                k: copy.deepcopy(v)
                for k, v in app.items()
                if k in ("ImageUri", "ContainerEntrypoint", "ContainerArguments")
            },
            "MonitoringResources": copy.deepcopy(request.get("JobResources") or {}),
            "MonitoringOutputConfig": copy.deepcopy(request.get(kind.member("JobOutputConfig")) or {}),
            "RoleArn": request.get("RoleArn"),
            "StoppingCondition": copy.deepcopy(request.get("StoppingCondition") or _DEFAULT_STOPPING_CONDITION),
        }
        if request.get("NetworkConfig") is not None:
            job["NetworkConfig"] = copy.deepcopy(request["NetworkConfig"])
        if app.get("Environment"):
            job["Environment"] = copy.deepcopy(app["Environment"])
        return job


@dataclass
class MonitoringExecution:
    """One run of a schedule: the processing job it started and its status."""

    monitoring_schedule_name: str
    monitoring_type: str
    processing_job_name: str
    processing_job_arn: str
    scheduled_time: datetime
    creation_time: datetime
    last_modified_time: datetime
    status: str = "InProgress"
    endpoint_name: str | None = None
    monitoring_job_definition_name: str | None = None
    failure_reason: str | None = None

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "MonitoringScheduleName": self.monitoring_schedule_name,
            "ScheduledTime": self.scheduled_time,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringExecutionStatus": self.status,
            "ProcessingJobArn": self.processing_job_arn,
            "MonitoringType": self.monitoring_type,
        }
        for member, value in (
            ("EndpointName", self.endpoint_name),
            ("MonitoringJobDefinitionName", self.monitoring_job_definition_name),
            ("FailureReason", self.failure_reason),
        ):
            if value is not None:
                summary[member] = value
        return summary


class EmulatedMonitoringSchedule(BaseModel):
    """A monitoring schedule: its config as sent (plus what SageMaker fills in), status, tags."""

    def __init__(self, account_id: str, region_name: str, request: Mapping[str, Any], endpoint_name: str | None):
        self.monitoring_schedule_name: str = request["MonitoringScheduleName"]
        self.arn = arn_formatter("monitoring-schedule", self.monitoring_schedule_name, account_id, region_name)
        self.tags: list[dict[str, str]] = copy.deepcopy(request.get("Tags") or [])
        self.creation_time = self.last_modified_time = _now()
        self.status = "Pending"
        self.failure_reason: str | None = None
        self.config: dict[str, Any] = {}
        self.endpoint_name: str | None = None
        self.last_execution: MonitoringExecution | None = None
        self.configure(request["MonitoringScheduleConfig"], endpoint_name)

    def configure(self, config: Mapping[str, Any], endpoint_name: str | None) -> None:
        """Take `config` (create or update) as the schedule's whole MonitoringScheduleConfig."""
        self.config = copy.deepcopy(dict(config))
        inline = self.config.get("MonitoringJobDefinition")
        if inline is not None:
            self.config.setdefault("MonitoringType", _INLINE_MONITORING_TYPE)
            inline.setdefault("StoppingCondition", dict(_DEFAULT_STOPPING_CONDITION))
        self.endpoint_name = endpoint_name

    @property
    def monitoring_type(self) -> str:
        return str(self.config.get("MonitoringType") or _INLINE_MONITORING_TYPE)

    @property
    def job_definition_name(self) -> str | None:
        return self.config.get("MonitoringJobDefinitionName")

    def observed(self) -> None:
        """After a Describe or List has shown the schedule: Pending is seen once, then Scheduled."""
        if self.status == "Pending":
            self.status = "Scheduled"

    def describe(self) -> dict[str, Any]:
        description: dict[str, Any] = {
            "MonitoringScheduleArn": self.arn,
            "MonitoringScheduleName": self.monitoring_schedule_name,
            "MonitoringScheduleStatus": self.status,
            "MonitoringType": self.monitoring_type,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringScheduleConfig": copy.deepcopy(self.config),
        }
        if self.failure_reason is not None:
            description["FailureReason"] = self.failure_reason
        if self.endpoint_name:
            description["EndpointName"] = self.endpoint_name
        if self.last_execution is not None:
            description["LastMonitoringExecutionSummary"] = self.last_execution.summary()
        return description

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "MonitoringScheduleName": self.monitoring_schedule_name,
            "MonitoringScheduleArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "MonitoringScheduleStatus": self.status,
            "MonitoringType": self.monitoring_type,
        }
        if self.endpoint_name:
            summary["EndpointName"] = self.endpoint_name
        if self.job_definition_name:
            summary["MonitoringJobDefinitionName"] = self.job_definition_name
        return summary


@dataclass
class _MonitoringStore:
    """The schedules of one account and region, and every execution they started (executions
    outlive their schedule: DeleteMonitoringSchedule "does not delete the job execution history")."""

    schedules: dict[str, EmulatedMonitoringSchedule] = field(default_factory=dict)
    executions: list[MonitoringExecution] = field(default_factory=list)


def _store(backend: SageMakerModelBackend) -> _MonitoringStore:
    # Kept on the backend object: moto's reset (a new mock_aws) starts from an empty store.
    store = backend.__dict__.get("_ict_monitoring")
    if store is None:
        store = backend.__dict__["_ict_monitoring"] = _MonitoringStore()
    return store


# --- lookups --------------------------------------------------------------------------------------


def _definitions(backend: SageMakerModelBackend, kind: JobDefinitionKind) -> dict[str, Any]:
    return getattr(backend, kind.collection)


def _definition(backend: SageMakerModelBackend, monitoring_type: str, name: str) -> EmulatedJobDefinition | None:
    kind = JOB_DEFINITION_KINDS.get(monitoring_type)
    if kind is None:
        return None
    found = _definitions(backend, kind).get(name)
    return found if isinstance(found, EmulatedJobDefinition) else None


def _schedule_not_found(backend: SageMakerModelBackend, name: str) -> ResourceNotFound:
    # Unverified wording; the error code is the one the API reference lists (ResourceNotFound).
    arn = arn_formatter("monitoring-schedule", name, backend.account_id, backend.region_name)
    return ResourceNotFound(f"Monitoring Schedule {arn} does not exist.")


def _schedule(backend: SageMakerModelBackend, name: str | None) -> EmulatedMonitoringSchedule:
    schedule = _store(backend).schedules.get(name or "")
    if schedule is None:
        raise _schedule_not_found(backend, name or "")
    return schedule


def _schedule_endpoint(backend: SageMakerModelBackend, config: Mapping[str, Any]) -> str | None:
    """The endpoint a schedule config monitors: its inline definition's EndpointInput, or the
    named definition's."""
    inline = config.get("MonitoringJobDefinition")
    if inline is not None:
        for monitoring_input in inline.get("MonitoringInputs") or []:
            name = _endpoint_of(monitoring_input)
            if name:
                return name
        return None
    definition = _definition(backend, str(config.get("MonitoringType")), str(config.get("MonitoringJobDefinitionName")))
    return None if definition is None else definition.endpoint_name


def _check_schedule_request(backend: SageMakerModelBackend, operation: str, request: Mapping[str, Any]) -> None:
    _require_members(operation, request)

    def describe(monitoring_type: str, name: str) -> Mapping[str, Any] | None:
        definition = _definition(backend, monitoring_type, name)
        return None if definition is None else definition.describe()

    service_rules.check_monitoring(operation, request, job_definition=describe)


def _check_tags(request: Mapping[str, Any]) -> None:
    """The tag rules, which SageMaker applies to every Create* that takes Tags as to AddTags."""
    if request.get("Tags"):
        service_rules.check(service_rules.ADD_TAGS, {"Tags": request["Tags"]})


# --- list paging ----------------------------------------------------------------------------------


def _page(
    self: SageMakerResponse, items: list[Any], summary: Callable[[Any], dict[str, Any]], key: str
) -> ActionResult:
    """One page of MaxResults (default 10, at most 100) of `items`, already filtered and sorted."""
    max_results = int(self._get_param("MaxResults") or 10)
    if not 1 <= max_results <= 100:
        raise ValidationError(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 100"
        )
    start = int(self._get_param("NextToken") or 0)
    page = items[start : start + max_results]
    result: dict[str, Any] = {key: [summary(item) for item in page]}
    if start + max_results < len(items):
        result["NextToken"] = str(start + max_results)
    return ActionResult(result)


def _within(value: datetime, self: SageMakerResponse, prefix: str) -> bool:
    after, before = _as_utc(self._get_param(f"{prefix}After")), _as_utc(self._get_param(f"{prefix}Before"))
    moment = _as_utc(value)
    assert moment is not None
    return (after is None or moment > after) and (before is None or moment < before)


def _sorted(
    self: SageMakerResponse, items: list[Any], keys: Mapping[str, Callable[[Any], Any]], default: str
) -> list[Any]:
    sort_by = self._get_param("SortBy") or default
    # The List* operations of model monitoring sort Descending unless told otherwise (API reference).
    descending = (self._get_param("SortOrder") or "Descending") == "Descending"
    return sorted(items, key=keys.get(sort_by, keys[default]), reverse=descending)


# --- job definitions ------------------------------------------------------------------------------


def _create_job_definition(kind: JobDefinitionKind) -> Callable[[SageMakerResponse], ActionResult]:
    def create(self: SageMakerResponse) -> ActionResult:
        request = copy.deepcopy(self.params)
        operation = kind.operation("Create")
        _require_members(operation, request)
        service_rules.check_monitoring(operation, request)
        _check_tags(request)
        backend = self.sagemaker_backend
        name = request["JobDefinitionName"]
        if name in _definitions(backend, kind):
            # Shaped like SageMaker's tuning-job message (unverified for job definitions).
            raise ResourceInUseException(
                f"Resource Already Exists: {kind.monitoring_type} job definition with name {name} already "
                "exists. Choose a different name."
            )
        definition = EmulatedJobDefinition(backend.account_id, backend.region_name, kind, request)
        _definitions(backend, kind)[name] = definition
        return ActionResult({"JobDefinitionArn": definition.arn})

    return create


def _definition_not_found(kind: JobDefinitionKind, name: str | None) -> ResourceNotFound:
    # ResourceNotFound is the error the API reference lists for Describe/Delete; unverified wording.
    return ResourceNotFound(f"Could not find {kind.monitoring_type} job definition with name '{name}'.")


def _describe_job_definition(kind: JobDefinitionKind) -> Callable[[SageMakerResponse], ActionResult]:
    def describe(self: SageMakerResponse) -> ActionResult:
        name = self._get_param("JobDefinitionName")
        definition = _definition(self.sagemaker_backend, kind.monitoring_type, name)
        if definition is None:
            raise _definition_not_found(kind, name)
        return ActionResult(definition.describe())

    return describe


def _delete_job_definition(kind: JobDefinitionKind) -> Callable[[SageMakerResponse], EmptyResult]:
    # Deleting a definition a schedule still names is not refused here: no public statement found
    # on whether SageMaker refuses it. `start_monitoring_execution` of such a schedule raises.
    def delete(self: SageMakerResponse) -> EmptyResult:
        name = self._get_param("JobDefinitionName")
        if _definition(self.sagemaker_backend, kind.monitoring_type, name) is None:
            raise _definition_not_found(kind, name)
        del _definitions(self.sagemaker_backend, kind)[name]
        return EmptyResult()

    return delete


def _list_job_definitions(kind: JobDefinitionKind) -> Callable[[SageMakerResponse], ActionResult]:
    def list_definitions(self: SageMakerResponse) -> ActionResult:
        contains, endpoint = self._get_param("NameContains"), self._get_param("EndpointName")
        definitions = [
            d
            for d in _definitions(self.sagemaker_backend, kind).values()
            if isinstance(d, EmulatedJobDefinition)
            and (contains is None or contains in d.job_definition_name)
            and (endpoint is None or d.endpoint_name == endpoint)
            and _within(d.creation_time, self, "CreationTime")
        ]
        keys: Mapping[str, Callable[[Any], Any]] = {
            "Name": lambda d: d.job_definition_name,
            "CreationTime": lambda d: (_as_utc(d.creation_time), d.job_definition_name),
        }
        definitions = _sorted(self, definitions, keys, "CreationTime")
        return _page(self, definitions, EmulatedJobDefinition.summary, "JobDefinitionSummaries")

    return list_definitions


# --- schedules ------------------------------------------------------------------------------------


def _create_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    request = copy.deepcopy(self.params)
    backend = self.sagemaker_backend
    _check_schedule_request(backend, service_rules.CREATE_MONITORING_SCHEDULE, request)
    _check_tags(request)
    name = request["MonitoringScheduleName"]
    store = _store(backend)
    if name in store.schedules:
        # The API reference lists ResourceInUse for CreateMonitoringSchedule; unverified wording.
        raise ResourceInUseException(f"Monitoring Schedule {store.schedules[name].arn} already exists.")
    endpoint = _schedule_endpoint(backend, request["MonitoringScheduleConfig"])
    schedule = EmulatedMonitoringSchedule(backend.account_id, backend.region_name, request, endpoint)
    store.schedules[name] = schedule
    return ActionResult({"MonitoringScheduleArn": schedule.arn})


def _describe_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    schedule = _schedule(backend, self._get_param("MonitoringScheduleName"))
    _refresh(backend, schedule.last_execution)
    description = schedule.describe()
    schedule.observed()
    return ActionResult(description)


def _update_monitoring_schedule(self: SageMakerResponse) -> ActionResult:
    request = copy.deepcopy(self.params)
    backend = self.sagemaker_backend
    _require_members(service_rules.UPDATE_MONITORING_SCHEDULE, request)
    schedule = _schedule(backend, request["MonitoringScheduleName"])
    _check_schedule_request(backend, service_rules.UPDATE_MONITORING_SCHEDULE, request)
    config = request["MonitoringScheduleConfig"]
    schedule.configure(config, _schedule_endpoint(backend, config))
    schedule.last_modified_time = _now()
    # An update is applied like a create: Pending, then Scheduled. A stopped schedule stays
    # stopped (assumed: StartMonitoringSchedule is what restarts it).
    if schedule.status != "Stopped":
        schedule.status = "Pending"
    return ActionResult({"MonitoringScheduleArn": schedule.arn})


def _stop_monitoring_schedule(self: SageMakerResponse) -> EmptyResult:
    schedule = _schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
    schedule.status = "Stopped"
    schedule.last_modified_time = _now()
    return EmptyResult()


def _start_monitoring_schedule(self: SageMakerResponse) -> EmptyResult:
    # "By default, when you successfully create a new schedule, the status of a monitoring schedule
    # is scheduled" (StartMonitoringSchedule); starting a schedule that is not stopped changes nothing.
    schedule = _schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
    if schedule.status == "Stopped":
        schedule.status = "Scheduled"
        schedule.last_modified_time = _now()
    return EmptyResult()


def _delete_monitoring_schedule(self: SageMakerResponse) -> EmptyResult:
    backend = self.sagemaker_backend
    schedule = _schedule(backend, self._get_param("MonitoringScheduleName"))
    del _store(backend).schedules[schedule.monitoring_schedule_name]
    return EmptyResult()


def _list_monitoring_schedules(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    status, contains = self._get_param("StatusEquals"), self._get_param("NameContains")
    endpoint, definition = self._get_param("EndpointName"), self._get_param("MonitoringJobDefinitionName")
    monitoring_type = self._get_param("MonitoringTypeEquals")
    schedules = [
        s
        for s in _store(backend).schedules.values()
        if (status is None or s.status == status)
        and (contains is None or contains in s.monitoring_schedule_name)
        and (endpoint is None or s.endpoint_name == endpoint)
        and (definition is None or s.job_definition_name == definition)
        and (monitoring_type is None or s.monitoring_type == monitoring_type)
        and _within(s.creation_time, self, "CreationTime")
        and _within(s.last_modified_time, self, "LastModifiedTime")
    ]
    keys: Mapping[str, Callable[[Any], Any]] = {
        "Name": lambda s: s.monitoring_schedule_name,
        "CreationTime": lambda s: (_as_utc(s.creation_time), s.monitoring_schedule_name),
        "Status": lambda s: (s.status, s.monitoring_schedule_name),
    }
    schedules = _sorted(self, schedules, keys, "CreationTime")
    result = _page(self, schedules, EmulatedMonitoringSchedule.summary, "MonitoringScheduleSummaries")
    for schedule in schedules:
        schedule.observed()
    return result


def _list_monitoring_executions(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    for execution in _store(backend).executions:
        _refresh(backend, execution)
    name, status = self._get_param("MonitoringScheduleName"), self._get_param("StatusEquals")
    endpoint, definition = self._get_param("EndpointName"), self._get_param("MonitoringJobDefinitionName")
    monitoring_type = self._get_param("MonitoringTypeEquals")
    executions = [
        e
        for e in _store(backend).executions
        if (name is None or e.monitoring_schedule_name == name)
        and (status is None or e.status == status)
        and (endpoint is None or e.endpoint_name == endpoint)
        and (definition is None or e.monitoring_job_definition_name == definition)
        and (monitoring_type is None or e.monitoring_type == monitoring_type)
        and _within(e.scheduled_time, self, "ScheduledTime")
        and _within(e.creation_time, self, "CreationTime")
        and _within(e.last_modified_time, self, "LastModifiedTime")
    ]
    keys: Mapping[str, Callable[[Any], Any]] = {
        "CreationTime": lambda e: (_as_utc(e.creation_time), e.processing_job_name),
        "ScheduledTime": lambda e: (_as_utc(e.scheduled_time), e.processing_job_name),
        "Status": lambda e: (e.status, e.processing_job_name),
    }
    executions = _sorted(self, executions, keys, "CreationTime")
    return _page(self, executions, MonitoringExecution.summary, "MonitoringExecutionSummaries")


# --- tagging --------------------------------------------------------------------------------------

_moto_get_resource_from_arn = SageMakerModelBackend._get_resource_from_arn


def _get_resource_from_arn(self: SageMakerModelBackend, arn: str) -> Any:
    """moto's ARN → resource lookup (AddTags, ListTags, DeleteTags), knowing monitoring schedules."""
    resource_type, _, name = arn.split(":", 5)[-1].partition("/")
    if resource_type != "monitoring-schedule":
        return _moto_get_resource_from_arn(self, arn)
    schedule = _store(self).schedules.get(name)
    if schedule is None:
        raise ValidationError(f"Could not find {resource_type} with name {name}")
    return schedule


# --- executions -----------------------------------------------------------------------------------


def _processing_jobs_module() -> Any:
    """The module that keeps processing jobs faithfully, if this sandbox has it (the processing-job
    emulation of `sandbox.sagemaker_extension`: `EmulatedProcessingJob`, `attach_processing_job`)."""
    from sandbox import sagemaker_extension

    has_emulation = hasattr(sagemaker_extension, "EmulatedProcessingJob")
    return sagemaker_extension if has_emulation else None


def _processing_job_status(job: Any) -> str:
    return str(job.status if hasattr(job, "status") else job.processing_job_status)


def _refresh(backend: SageMakerModelBackend, execution: MonitoringExecution | None) -> None:
    """Bring a running execution's status in line with its processing job (stopped by someone)."""
    if execution is None or execution.status in _EXECUTION_FINAL:
        return
    job: Any = backend.processing_jobs.get(execution.processing_job_name)
    if job is None:
        return
    status = _EXECUTION_OF_PROCESSING.get(_processing_job_status(job), execution.status)
    if status != execution.status:
        execution.status = status
        execution.last_modified_time = _now()


def _processing_request(job: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The CreateProcessingJob request of one run of `job` (an inline MonitoringJobDefinition)."""
    app = job.get("MonitoringAppSpecification") or {}
    outputs = [
        {
            "OutputName": f"monitoring_output_{index}",
            "S3Output": {"S3UploadMode": "EndOfJob", **copy.deepcopy(output.get("S3Output") or {})},
        }
        for index, output in enumerate((job.get("MonitoringOutputConfig") or {}).get("MonitoringOutputs") or [], 1)
    ]
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingResources": copy.deepcopy(job.get("MonitoringResources") or {}),
        "AppSpecification": {
            k: copy.deepcopy(v)
            for k, v in app.items()
            if k in ("ImageUri", "ContainerEntrypoint", "ContainerArguments")
        },
        "RoleArn": job.get("RoleArn"),
        "StoppingCondition": copy.deepcopy(job.get("StoppingCondition") or _DEFAULT_STOPPING_CONDITION),
    }
    if outputs:
        output_config: dict[str, Any] = {"Outputs": outputs}
        kms_key = (job.get("MonitoringOutputConfig") or {}).get("KmsKeyId")
        if kms_key:
            output_config["KmsKeyId"] = kms_key
        request["ProcessingOutputConfig"] = output_config
    if job.get("NetworkConfig") is not None:
        request["NetworkConfig"] = copy.deepcopy(job["NetworkConfig"])
    if job.get("Environment"):
        request["Environment"] = copy.deepcopy(job["Environment"])
    return request


def _launch_processing_job(backend: SageMakerModelBackend, request: Mapping[str, Any], schedule_arn: str) -> Any:
    """Create the processing job of a run, as one SageMaker launched for the schedule."""
    name = request["ProcessingJobName"]
    if name in backend.processing_jobs:
        raise ValueError(f"a processing job named {name} already exists")
    emulation = _processing_jobs_module()
    if emulation is not None:
        emulated = emulation.EmulatedProcessingJob(backend.account_id, backend.region_name, request)
        backend.processing_jobs[name] = emulated
        emulation.attach_processing_job(backend.account_id, backend.region_name, name, schedule_arn)
        return emulated
    # moto's own processing job: created the normal way, then given what moto's constructor drops
    # (its DescribeProcessingJob reports every attribute, camel-cased) and moto's Completed undone.
    job: Any = backend.create_processing_job(
        app_specification=copy.deepcopy(request["AppSpecification"]),
        experiment_config=None,  # type: ignore[arg-type]
        network_config=copy.deepcopy(request.get("NetworkConfig")),  # type: ignore[arg-type]
        processing_inputs=[],
        processing_job_name=name,
        processing_output_config=copy.deepcopy(request.get("ProcessingOutputConfig")),  # type: ignore[arg-type]
        role_arn=request["RoleArn"],
        tags=[],
        stopping_condition=copy.deepcopy(request["StoppingCondition"]),
    )
    job.processing_resources = copy.deepcopy(request["ProcessingResources"])
    if request.get("Environment"):
        job.environment = copy.deepcopy(request["Environment"])
    job.monitoring_schedule_arn = schedule_arn
    job.processing_job_status = "InProgress"
    job.processing_start_time = job.creation_time
    job.processing_end_time = None
    return job


_name_lock = threading.Lock()


def _execution_job_name(scheduled_time: datetime) -> str:
    # Shaped like the names of the processing jobs SageMaker starts for a schedule
    # ("model-monitoring-<yyyymmddHHMM>-<8 hex>"); the suffix keeps runs in one minute apart.
    return f"model-monitoring-{scheduled_time:%Y%m%d%H%M}-{uuid.uuid4().hex[:8]}"


def start_monitoring_execution(
    account_id: str,
    region_name: str,
    schedule_name: str,
    *,
    processing_job_name: str | None = None,
    scheduled_time: datetime | None = None,
) -> str:
    """Play the next run of a monitoring schedule; returns the name of its processing job.

    The processing job runs what the schedule names: its inline MonitoringJobDefinition or the
    referenced job definition (NetworkConfig with EnableInterContainerTrafficEncryption and
    VpcConfig, MonitoringResources/JobResources.ClusterConfig as ProcessingResources.ClusterConfig,
    RoleArn, image, environment, outputs). DescribeProcessingJob names the schedule in
    MonitoringScheduleArn. The run becomes the schedule's LastMonitoringExecutionSummary (status
    InProgress) and is listed by ListMonitoringExecutions.

    A Pending schedule is first Scheduled. Raises `ResourceNotFound` for an unknown schedule, and
    ValueError for a stopped schedule, for one whose previous run is still going, or for a schedule
    whose job definition has since been deleted.
    """
    backend = sagemaker_backends[account_id][region_name]
    schedule = _schedule(backend, schedule_name)
    if schedule.status == "Stopped":
        raise ValueError(f"the monitoring schedule {schedule_name} is stopped: it starts no runs")
    _refresh(backend, schedule.last_execution)
    if schedule.last_execution is not None and schedule.last_execution.status not in _EXECUTION_FINAL:
        raise ValueError(
            f"the previous run of {schedule_name} ({schedule.last_execution.processing_job_name}) is "
            f"still {schedule.last_execution.status}"
        )
    schedule.observed()
    definition_name = schedule.job_definition_name
    if definition_name:
        definition = _definition(backend, schedule.monitoring_type, definition_name)
        if definition is None:
            raise ValueError(f"the {schedule.monitoring_type} job definition {definition_name} no longer exists")
        job = definition.job()
    else:
        job = schedule.config["MonitoringJobDefinition"]
    now = _now()
    scheduled = scheduled_time or now
    with _name_lock:
        name = processing_job_name or _execution_job_name(scheduled)
        processing_job = _launch_processing_job(backend, _processing_request(job, name), schedule.arn)
    execution = MonitoringExecution(
        monitoring_schedule_name=schedule.monitoring_schedule_name,
        monitoring_type=schedule.monitoring_type,
        processing_job_name=name,
        processing_job_arn=processing_job.arn,
        scheduled_time=scheduled,
        creation_time=now,
        last_modified_time=now,
        endpoint_name=schedule.endpoint_name,
        monitoring_job_definition_name=definition_name,
    )
    _store(backend).executions.append(execution)
    schedule.last_execution = execution
    return name


def complete_monitoring_execution(
    account_id: str,
    region_name: str,
    schedule_name: str,
    status: str = "Completed",
    *,
    failure_reason: str | None = None,
) -> None:
    """End the running execution of a schedule with `status` (Completed, CompletedWithViolations,
    Failed or Stopped), and its processing job with the matching status (Completed for both
    Completed and CompletedWithViolations: the job ran, the violations are its findings).

    Raises ValueError for a status that is not final or a schedule with no running execution.
    """
    if status not in _EXECUTION_FINAL:
        raise ValueError(f"{status!r} is not a final status; expected one of {_EXECUTION_FINAL}")
    backend = sagemaker_backends[account_id][region_name]
    schedule = _schedule(backend, schedule_name)
    execution = schedule.last_execution
    _refresh(backend, execution)
    if execution is None or execution.status in _EXECUTION_FINAL:
        raise ValueError(f"the monitoring schedule {schedule_name} has no running execution")
    if status == "Failed" and failure_reason is None:
        failure_reason = "AlgorithmError: the monitoring container exited with a non-zero code"
    job_status = "Completed" if status == "CompletedWithViolations" else status
    job: Any = backend.processing_jobs.get(execution.processing_job_name)
    if job is not None and _processing_job_status(job) not in ("Completed", "Failed", "Stopped"):
        if hasattr(job, "finish"):  # the faithful processing jobs
            job.finish(job_status, failure_reason if job_status == "Failed" else None)
        else:
            now = _now()
            job.processing_job_status = job_status
            job.processing_end_time = job.last_modified_time = now
            if job_status == "Failed":
                job.failure_reason = failure_reason
    if status == "CompletedWithViolations" and job is not None:
        # What the monitoring container reports as the processing job's exit message.
        job.exit_message = "CompletedWithViolations: Job completed successfully with violations."
    execution.status = status
    execution.last_modified_time = _now()
    if status == "Failed":
        execution.failure_reason = failure_reason


def monitoring_executions(account_id: str, region_name: str, schedule_name: str | None = None) -> list[dict[str, Any]]:
    """The MonitoringExecutionSummary of every run (of `schedule_name`), oldest first."""
    backend = sagemaker_backends[account_id][region_name]
    executions = _store(backend).executions
    for execution in executions:
        _refresh(backend, execution)
    return [e.summary() for e in executions if schedule_name is None or e.monitoring_schedule_name == schedule_name]


# --- install --------------------------------------------------------------------------------------


def _response_methods() -> dict[str, Callable[[SageMakerResponse], Any]]:
    methods: dict[str, Callable[[SageMakerResponse], Any]] = {
        "create_monitoring_schedule": _create_monitoring_schedule,
        "describe_monitoring_schedule": _describe_monitoring_schedule,
        "update_monitoring_schedule": _update_monitoring_schedule,
        "stop_monitoring_schedule": _stop_monitoring_schedule,
        "start_monitoring_schedule": _start_monitoring_schedule,
        "delete_monitoring_schedule": _delete_monitoring_schedule,
        "list_monitoring_schedules": _list_monitoring_schedules,
        "list_monitoring_executions": _list_monitoring_executions,
    }
    for kind in JOB_DEFINITION_KINDS.values():
        snake = camelcase_to_underscores(kind.monitoring_type)
        methods[f"create_{snake}_job_definition"] = _create_job_definition(kind)
        methods[f"describe_{snake}_job_definition"] = _describe_job_definition(kind)
        methods[f"delete_{snake}_job_definition"] = _delete_job_definition(kind)
        methods[f"list_{snake}_job_definitions"] = _list_job_definitions(kind)
    return methods


_install_lock = threading.Lock()


def install() -> None:
    """Patch moto's SageMaker with model monitoring. Idempotent; called by
    `sagemaker_extension.install()`."""
    with _install_lock:
        for method_name, method in _response_methods().items():
            setattr(SageMakerResponse, method_name, method)
        SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn  # type: ignore[method-assign]
