"""moto's SageMaker, made to behave like the real service where the guard depends on it.

moto 5 treats a training job as a finished record: it is born `Completed`, StopTrainingJob does not
exist, DescribeTrainingJob drops much of the request (Environment, RetryStrategy, …) and invents a
metric definition, and a second job with the same name silently replaces the first. The guard's
whole job happens while a job is *running*, so `install()` patches moto's SageMaker:

- CreateTrainingJob keeps the request as sent, starts the job `InProgress` (secondary status
  `Training`), and refuses a name already used in the account and region (`ResourceInUse`; SageMaker
  compares names case-insensitively).
- CreateTrainingJob, CreateHyperParameterTuningJob and AddTags refuse what the real service refuses
  and moto accepts: the rule table in `sandbox.service_rules` (tag limits, output-only members,
  metric definitions of built-in algorithms, warm-start restrictions, …), each rule with its source.
- DescribeTrainingJob returns every member of the create request that its output shape has (from the
  botocore model, so new SageMaker fields carry over), plus what the service fills in. Metric
  definitions are filled in for built-in algorithms only (`sandbox.builtin_algorithms`), as
  SageMaker does; a ResourceConfig with InstancePreferences gets SelectedInstanceType/Count.
- StopTrainingJob: `InProgress` → `Stopping`, seen by the next DescribeTrainingJob, then `Stopped`.
- AddTags overwrites the value of an existing key instead of adding a second tag with that key.

`complete_training_job` lets a test finish a job "by itself", to stage races; tuning jobs get the
same lifecycle (`complete_tuning_job`, `set_tuning_progress`).

Processing jobs and AutoML jobs (CreateAutoMLJob, V1, which moto lacks, and CreateAutoMLJobV2) are
kept the same way by one mechanism (`_RecordedJob`): Describe returns the create request, the job
runs until stopped (Stopping once, then Stopped) or `complete_processing_job` /
`complete_automl_job`, List* filters then pages, AddTags/ListTags work on the ARN.
DescribeAutoMLJobV2 describes V1 jobs in the V2 shape; DescribeAutoMLJob refuses V2 jobs. A
processing job can name the monitoring schedule, AutoML job or training job that launched it
(`attach_processing_job`); an AutoML job can launch a training and a processing job
(`start_automl_children`, `attach_to_automl_job`), which stop with it. Everything else of moto's
SageMaker is untouched. `install()` also installs CloudTrail
emission (`sandbox.cloudtrail`).
"""

from __future__ import annotations

import copy
import functools
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import botocore.session
from botocore.model import ServiceModel, StructureShape
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import (
    AutoMLJob,
    FakeProcessingJob,
    FakeTrainingJob,
    HyperParameterTuningJob,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from sandbox import cloudtrail, service_rules
from sandbox.builtin_algorithms import (
    BUILT_IN_ALGORITHM_METRICS,
    VERSIONED_ALGORITHM_REGISTRIES,
    builtin_algorithm,
)

__all__ = [
    "BUILT_IN_ALGORITHM_METRICS",
    "AutoMLChildren",
    "EmulatedAutoMLJob",
    "EmulatedProcessingJob",
    "attach_processing_job",
    "attach_to_automl_job",
    "builtin_algorithm",
    "complete_automl_job",
    "complete_processing_job",
    "complete_training_job",
    "install",
    "start_automl_children",
]


@functools.cache
def _sagemaker_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


@functools.cache
def _output_members(operation_name: str) -> frozenset[str]:
    return frozenset(_sagemaker_model().operation_model(operation_name).output_shape.members)


def _now() -> datetime:
    return datetime.now(UTC)


_NOT_FOUND = "Requested resource not found."
_TERMINAL = ("Completed", "Failed", "Stopped")


class _StoppableJob:
    """SageMaker's status protocol shared by its job types (training, tuning, …).

    InProgress → Stopping → Stopped on request, or InProgress → Completed/Failed by itself. A stop
    is accepted only while InProgress. Subclasses name their status attribute and may react to each
    transition (`_entered`).
    """

    _noun: str  # as SageMaker's error messages say it
    _status_attribute: str

    @property
    def status(self) -> str:
        return getattr(self, self._status_attribute)

    def request_stop(self) -> None:
        if self.status != "InProgress":
            raise ValidationError(
                f"The request was rejected because the {self._noun} is in status {self.status}."
            )
        self._enter("Stopping")

    def observed(self) -> None:
        """Called after a Describe has shown the job: a Stopping job is seen once, then Stopped.

        In AWS a stop takes seconds to minutes; one observable Stopping is enough for the guard
        to meet the state, without tests that sleep.
        """
        if self.status == "Stopping":
            self._enter("Stopped")

    def finish(self, status: str, failure_reason: str | None = None) -> None:
        if status not in _TERMINAL:
            raise ValueError(f"{status!r} is not a final status; expected one of {_TERMINAL}")
        if self.status in _TERMINAL:
            raise ValueError(f"the {self._noun} has already ended ({self.status})")
        self._enter(status, failure_reason)

    def _enter(self, status: str, failure_reason: str | None = None) -> None:
        now = _now()
        setattr(self, self._status_attribute, status)
        self._entered(status, now, failure_reason)

    def _entered(self, status: str, now: datetime, failure_reason: str | None) -> None:
        """Hook for the job type's own bookkeeping."""


_SECONDARY_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Training": "Training image download completed. Training in progress.",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
}


def _report_selected_instance(resource_config: dict[str, Any] | None) -> None:
    """What DescribeTrainingJob adds to a ResourceConfig with InstancePreferences once SageMaker
    has chosen: SelectedInstanceType and SelectedInstanceCount (output only, refused by Create).

    SageMaker takes the first preference with capacity; the embedded AWS always has capacity.
    """
    preferences = (resource_config or {}).get("InstancePreferences") or []
    if not preferences:
        return
    chosen = preferences[0]
    resource_config["SelectedInstanceType"] = chosen["InstanceType"]
    if chosen.get("InstanceCount") is not None:
        resource_config["SelectedInstanceCount"] = chosen["InstanceCount"]


class EmulatedTrainingJob(_StoppableJob, FakeTrainingJob):
    """A training job as SageMaker keeps it: the create request as sent, plus its lifecycle.

    It stays a `FakeTrainingJob` (and keeps moto's attribute names) so that moto's ListTags,
    AddTags, ListTrainingJobs, Search and the tagging API keep working on it.
    """

    _noun = "training job"
    _status_attribute = "training_job_status"

    def __init__(self, account_id: str, region_name: str, request: Mapping[str, Any]) -> None:
        # moto's constructor is skipped on purpose: it rewrites the request (metric definitions)
        # and marks the job Completed.
        self.request = copy.deepcopy(dict(request))
        # moto's Search filters read a job's snake_case attributes.
        for key, value in self.request.items():
            if key != "Tags":
                setattr(self, camelcase_to_underscores(key), copy.deepcopy(value))
        name = self.request["TrainingJobName"]
        now = _now()
        self.training_job_name = name
        self.arn = FakeTrainingJob.arn_formatter(name, account_id, region_name)
        self.tags = copy.deepcopy(self.request.get("Tags") or [])
        self.creation_time = self.last_modified_time = self.training_start_time = now
        self.training_end_time: datetime | None = None
        self.failure_reason: str | None = None
        self.training_job_status = "InProgress"
        self.secondary_status = "Training"
        self.secondary_status_transitions = [
            {
                "Status": "Starting",
                "StartTime": now,
                "EndTime": now,
                "StatusMessage": _SECONDARY_MESSAGES["Starting"],
            },
            {
                "Status": "Training",
                "StartTime": now,
                "StatusMessage": _SECONDARY_MESSAGES["Training"],
            },
        ]

    def _entered(self, status: str, now: datetime, failure_reason: str | None) -> None:
        self.secondary_status = status
        self.last_modified_time = now
        self.secondary_status_transitions[-1].setdefault("EndTime", now)
        transition = {
            "Status": status,
            "StartTime": now,
            "StatusMessage": _SECONDARY_MESSAGES[status],
        }
        if status in _TERMINAL:
            transition["EndTime"] = now
            self.training_end_time = now
        self.secondary_status_transitions.append(transition)
        if failure_reason is not None:
            self.failure_reason = failure_reason

    def describe(self) -> dict[str, Any]:
        """The DescribeTrainingJob response for this job."""
        request = self.request
        # DescribeTrainingJob echoes the create request (all of it but Tags and
        # SessionChainingConfig, which its output shape lacks).
        description = {
            key: copy.deepcopy(value)
            for key, value in request.items()
            if key in _output_members("DescribeTrainingJob")
        }
        algorithm = description.get("AlgorithmSpecification")
        builtin = builtin_algorithm((algorithm or {}).get("TrainingImage"))
        if algorithm is not None and builtin is not None:
            # Filled in by SageMaker for its own algorithms, and rejected if sent back by Create.
            algorithm["MetricDefinitions"] = copy.deepcopy(
                list(BUILT_IN_ALGORITHM_METRICS[builtin])
            )
        _report_selected_instance(description.get("ResourceConfig"))
        # SageMaker reports these flags even when the request left them out.
        for flag in (
            "EnableNetworkIsolation",
            "EnableInterContainerTrafficEncryption",
            "EnableManagedSpotTraining",
        ):
            description.setdefault(flag, False)
        # The one-day default SageMaker applies when no stopping condition is given.
        description.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86400})
        output_path = (request.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
        artifacts = f"{output_path}/{self.training_job_name}/output/model.tar.gz"
        description.update(
            {
                "TrainingJobName": self.training_job_name,
                "TrainingJobArn": self.arn,
                "ModelArtifacts": {"S3ModelArtifacts": artifacts},
                "TrainingJobStatus": self.training_job_status,
                "SecondaryStatus": self.secondary_status,
                "CreationTime": self.creation_time,
                "TrainingStartTime": self.training_start_time,
                "LastModifiedTime": self.last_modified_time,
                "SecondaryStatusTransitions": copy.deepcopy(self.secondary_status_transitions),
            }
        )
        if self.training_end_time is not None:
            description["TrainingEndTime"] = self.training_end_time
            elapsed = self.training_end_time - self.training_start_time
            description["TrainingTimeInSeconds"] = int(elapsed.total_seconds())
        if self.failure_reason is not None:
            description["FailureReason"] = self.failure_reason
        return description

    @property
    def response_object(self) -> dict[str, Any]:  # type: ignore[override]
        return self.describe()


class EmulatedTuningJob(_StoppableJob, HyperParameterTuningJob):
    """A hyperparameter tuning job as SageMaker keeps it: the create request as sent, its
    lifecycle, and counters of its training jobs (set by tests with `set_tuning_progress`).

    Stopping a tuning job stops its running training jobs; the emulation has no child jobs, it
    moves the InProgress counter to Stopped.
    """

    _noun = "hyperparameter tuning job"
    _status_attribute = "hyper_parameter_tuning_job_status"

    def __init__(self, account_id: str, region_name: str, request: Mapping[str, Any]) -> None:
        # moto's constructor is skipped: it marks the job Completed and invents a best job.
        self.request = copy.deepcopy(dict(request))
        name = self.request["HyperParameterTuningJobName"]
        now = _now()
        self.hyper_parameter_tuning_job_name = name
        self.arn = arn_formatter("hyper-parameter-tuning-job", name, account_id, region_name)
        self.region_name = region_name
        self.account_id = account_id
        self.tags = copy.deepcopy(self.request.get("Tags") or [])
        self.creation_time = self.last_modified_time = now
        self.hyper_parameter_tuning_end_time: datetime | None = None
        self.hyper_parameter_tuning_job_status = "InProgress"
        self.training_job_status_counters = {
            "Completed": 0,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": 0,
            "Stopped": 0,
        }
        self.failure_reason: str | None = None
        # moto's ListHyperParameterTuningJobs summary reads these attributes.
        self.hyper_parameter_tuning_job_config = self.request.get("HyperParameterTuningJobConfig") or {}
        self.objective_status_counters = {"Succeeded": 0, "Pending": 0, "Failed": 0}

    def _entered(self, status: str, now: datetime, failure_reason: str | None) -> None:
        self.last_modified_time = now
        if status in ("Stopping", "Stopped"):
            counters = self.training_job_status_counters
            counters["Stopped"] += counters["InProgress"]
            counters["InProgress"] = 0
        if status in _TERMINAL:
            self.hyper_parameter_tuning_end_time = now
        if failure_reason is not None:
            self.failure_reason = failure_reason
        cloudtrail.publish(self.state_change_event(now))

    def state_change_event(self, now: datetime) -> dict[str, Any]:
        """SageMaker's "SageMaker HyperParameter Tuning Job State Change" event, which it sends to
        EventBridge on each status change: the job's description (times in epoch milliseconds)
        and its tags as a map."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return int(value.timestamp() * 1000)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        detail = plain(self.describe())
        detail["Tags"] = {t["Key"]: t.get("Value", "") for t in self.tags}
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "SageMaker HyperParameter Tuning Job State Change",
            "source": "aws.sagemaker",
            "account": self.account_id,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region_name,
            "resources": [self.arn],
            "detail": detail,
        }

    def describe(self) -> dict[str, Any]:
        description = {
            key: copy.deepcopy(value)
            for key, value in self.request.items()
            if key in _output_members("DescribeHyperParameterTuningJob")
        }
        description.update(
            {
                "HyperParameterTuningJobName": self.hyper_parameter_tuning_job_name,
                "HyperParameterTuningJobArn": self.arn,
                "HyperParameterTuningJobStatus": self.hyper_parameter_tuning_job_status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "TrainingJobStatusCounters": dict(self.training_job_status_counters),
                "ObjectiveStatusCounters": {
                    "Succeeded": self.training_job_status_counters["Completed"],
                    "Pending": self.training_job_status_counters["InProgress"],
                    "Failed": 0,
                },
            }
        )
        if self.hyper_parameter_tuning_end_time is not None:
            description["HyperParameterTuningEndTime"] = self.hyper_parameter_tuning_end_time
        if self.failure_reason is not None:
            description["FailureReason"] = self.failure_reason
        return description


def _requested_resource_not_found(name: str) -> Exception:
    return ValidationError(_NOT_FOUND)


@dataclass(frozen=True)
class _JobKind:
    """Where a SageMaker job type lives in moto's backend and how its API names it."""

    collection: str  # attribute of SageMakerModelBackend
    name_parameter: str
    name_attribute: str = ""
    # The service's answer for a name it does not know (Describe*, Stop*).
    not_found: Callable[[str], Exception] = _requested_resource_not_found
    # List*'s defaults when the request names no SortBy / SortOrder (botocore model documentation).
    sort_by: str = "CreationTime"
    sort_order: str = "Ascending"


_TRAINING = _JobKind(
    collection="training_jobs", name_parameter="TrainingJobName", name_attribute="training_job_name"
)
_TUNING = _JobKind(
    collection="hyper_parameter_tuning_jobs",
    name_parameter="HyperParameterTuningJobName",
    name_attribute="hyper_parameter_tuning_job_name",
)


def _lookup(backend: SageMakerModelBackend, kind: _JobKind, name: str | None) -> Any | None:
    jobs = getattr(backend, kind.collection)
    if not name:
        return None
    if name in jobs:
        return jobs[name]
    # SageMaker job names are unique, and looked up, regardless of case.
    folded = name.casefold()
    return next((job for key, job in jobs.items() if key.casefold() == folded), None)


def _find(backend: SageMakerModelBackend, kind: _JobKind, name: str | None) -> Any:
    job = _lookup(backend, kind, name)
    if job is None:
        raise kind.not_found(str(name or ""))
    return job


def _require_members(operation_name: str, request: Mapping[str, Any]) -> None:
    shape = _sagemaker_model().operation_model(operation_name).input_shape
    missing = [member for member in shape.required_members if request.get(member) is None]
    if missing:
        first = missing[0]
        raise ValidationError(
            f"1 validation error detected: Value null at '{cloudtrail.lower_camel(first)}' "
            "failed to satisfy constraint: Member must not be null"
        )


def _create_training_job(self: SageMakerResponse) -> ActionResult:
    request = copy.deepcopy(self.params)
    _require_members("CreateTrainingJob", request)
    service_rules.check(service_rules.CREATE_TRAINING_JOB, request)
    _refuse_scripted(request)
    backend = self.sagemaker_backend
    name = request["TrainingJobName"]
    existing = _lookup(backend, _TRAINING, name)
    if existing is not None:
        raise ResourceInUseException(
            "Training job names must be unique within an AWS account and region, and a training "
            f"job with this name already exists ({existing.arn})"
        )
    job = EmulatedTrainingJob(backend.account_id, backend.region_name, request)
    backend.training_jobs[name] = job
    return ActionResult({"TrainingJobArn": job.arn})


# Encrypted CreateTrainingJob requests whose name contains one of these fragments are refused with
# ValidationException and the message: a stand-in for a service rule the guard does not know
# (the refused re-launch the guard must survive: fallbacks, one failed alert, a settled ledger).
_scripted_refusals: dict[str, str] = {}


def refuse_encrypted_creates(name_fragment: str, message: str) -> None:
    """Refuse every encrypted CreateTrainingJob whose name contains `name_fragment`, until
    `clear_scripted_refusals` (unencrypted creates, the data scientists' own, pass)."""
    _scripted_refusals[name_fragment] = message


def clear_scripted_refusals() -> None:
    _scripted_refusals.clear()


def _refuse_scripted(request: Mapping[str, Any]) -> None:
    if not request.get("EnableInterContainerTrafficEncryption"):
        return
    name = str(request.get("TrainingJobName", ""))
    for fragment, message in _scripted_refusals.items():
        if fragment in name:
            raise ValidationError(message)


# DescribeTrainingJob answers for another job than the one asked for (folded name -> other name):
# a confused or compromised answer, for tests that the guard then acts on nothing.
_describe_substitutes: dict[str, str] = {}


def substitute_describe(asked: str, answered_by: str) -> None:
    """Make DescribeTrainingJob of `asked` answer with the job `answered_by`, until
    `clear_describe_substitutes`."""
    _describe_substitutes[asked.casefold()] = answered_by


def clear_describe_substitutes() -> None:
    _describe_substitutes.clear()


def _describe_training_job(self: SageMakerResponse) -> ActionResult:
    name = self._get_param("TrainingJobName")
    if isinstance(name, str):
        name = _describe_substitutes.get(name.casefold(), name)
    job = _find(self.sagemaker_backend, _TRAINING, name)
    description = job.describe()
    job.observed()
    return ActionResult(description)


def _stop_job(self: SageMakerResponse, kind: _JobKind) -> EmptyResult:
    _find(self.sagemaker_backend, kind, self._get_param(kind.name_parameter)).request_stop()
    return EmptyResult()


def _stop_training_job(self: SageMakerResponse) -> EmptyResult:
    return _stop_job(self, _TRAINING)


def _create_hyper_parameter_tuning_job(self: SageMakerResponse) -> ActionResult:
    request = copy.deepcopy(self.params)
    _require_members("CreateHyperParameterTuningJob", request)
    backend = self.sagemaker_backend
    name = request["HyperParameterTuningJobName"]
    existing = _lookup(backend, _TUNING, name)
    if existing is not None:
        raise ResourceInUseException(
            f"Resource Already Exists: Hyper Parameter Tuning Job with name {name} already exists. "
            "Choose a different name."
        )
    definitions = request.get("TrainingJobDefinitions") or []
    if request.get("TrainingJobDefinition"):
        definitions = [request["TrainingJobDefinition"]]
    if not definitions:
        raise ValidationError("Either TrainingJobDefinition or TrainingJobDefinitions is required.")

    def parent(parent_name: str) -> dict[str, Any] | None:
        found = _lookup(backend, _TUNING, parent_name)
        return None if found is None else found.describe()

    service_rules.check(service_rules.CREATE_TUNING_JOB, request, tuning_job=parent)
    job = EmulatedTuningJob(backend.account_id, backend.region_name, request)
    backend.hyper_parameter_tuning_jobs[name] = job
    return ActionResult({"HyperParameterTuningJobArn": job.arn})


def _describe_hyper_parameter_tuning_job(self: SageMakerResponse) -> ActionResult:
    job = _find(self.sagemaker_backend, _TUNING, self._get_param("HyperParameterTuningJobName"))
    description = job.describe()
    job.observed()
    return ActionResult(description)


def _stop_hyper_parameter_tuning_job(self: SageMakerResponse) -> EmptyResult:
    return _stop_job(self, _TUNING)


def _as_utc(value: Any) -> datetime | None:
    """A timestamp as the JSON protocol sends it (epoch seconds) or as moto stores it."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _list_jobs(
    self: SageMakerResponse, kind: _JobKind, summary: Callable[[Any], dict[str, Any]], key: str
) -> ActionResult:
    """List* as SageMaker answers it: filters first, then one page of MaxResults (default 10,
    at most 100), so the number of calls follows the matching jobs, not the account's history.
    (moto pages first and filters each page, and mixes naive and aware times.)"""
    jobs = list(getattr(self.sagemaker_backend, kind.collection).values())
    after, before = _as_utc(self._get_param("CreationTimeAfter")), _as_utc(self._get_param("CreationTimeBefore"))
    status, contains = self._get_param("StatusEquals"), self._get_param("NameContains")
    jobs = [
        job for job in jobs
        if (status is None or job.status == status)
        and (after is None or _as_utc(job.creation_time) > after)
        and (before is None or _as_utc(job.creation_time) < before)
        and (contains is None or contains in getattr(job, kind.name_attribute))
    ]
    descending = self._get_param("SortOrder", kind.sort_order) == "Descending"
    sort_by = self._get_param("SortBy", kind.sort_by)

    def order(job: Any) -> tuple[Any, ...]:
        name = getattr(job, kind.name_attribute)
        if sort_by == "Name":
            return (name,)
        if sort_by == "Status":
            return (job.status, name)
        return (_as_utc(job.creation_time), name)

    jobs.sort(key=order, reverse=descending)
    max_results = int(self._get_param("MaxResults") or 10)
    if not 1 <= max_results <= 100:
        raise ValidationError(
            f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 100"
        )
    start = int(self._get_param("NextToken") or 0)
    page = jobs[start : start + max_results]
    result: dict[str, Any] = {key: [summary(job) for job in page]}
    if start + max_results < len(jobs):
        result["NextToken"] = str(start + max_results)
    return ActionResult(result)


def _training_summary(job: Any) -> dict[str, Any]:
    summary = {
        "TrainingJobName": job.training_job_name,
        "TrainingJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatus": job.status,
    }
    if getattr(job, "training_end_time", None) is not None:
        summary["TrainingEndTime"] = job.training_end_time
    return summary


def _tuning_summary(job: Any) -> dict[str, Any]:
    config = job.hyper_parameter_tuning_job_config or {}
    return {
        "HyperParameterTuningJobName": job.hyper_parameter_tuning_job_name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "Strategy": config.get("Strategy", "Bayesian"),
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatusCounters": dict(job.training_job_status_counters),
        "ObjectiveStatusCounters": dict(job.objective_status_counters),
        "ResourceLimits": config.get("ResourceLimits", {"MaxParallelTrainingJobs": 1}),
    }


def _list_training_jobs(self: SageMakerResponse) -> ActionResult:
    return _list_jobs(self, _TRAINING, _training_summary, "TrainingJobSummaries")


def _list_hyper_parameter_tuning_jobs(self: SageMakerResponse) -> ActionResult:
    return _list_jobs(self, _TUNING, _tuning_summary, "HyperParameterTuningJobSummaries")


# --- processing jobs and AutoML jobs ---------------------------------------------------------------


def _processing_job_not_found(name: str) -> Exception:
    # SageMaker answers DescribeProcessingJob/StopProcessingJob of an unknown job with a
    # ValidationException whose message starts "Could not find requested job" (the prefix the AWS
    # Controllers for Kubernetes match: aws-controllers-k8s/sagemaker-controller generator.yaml,
    # ProcessingJob, error 404); the rest of the text is the sandbox's (unverified).
    return ValidationError(f"Could not find requested job with name {name}")


def _automl_job_not_found(name: str) -> Exception:
    # ResourceNotFound is the only error the API reference lists for DescribeAutoMLJob,
    # DescribeAutoMLJobV2 and StopAutoMLJob; the text is moto's (unverified).
    return ResourceNotFound(f"Could not find AutoML job with name {name}.")


_PROCESSING = _JobKind(
    collection="processing_jobs",
    name_parameter="ProcessingJobName",
    name_attribute="processing_job_name",
    not_found=_processing_job_not_found,
)
# ListAutoMLJobs sorts by Name, Descending, unless told otherwise (botocore model documentation).
_AUTOML = _JobKind(
    collection="auto_ml_jobs",
    name_parameter="AutoMLJobName",
    name_attribute="auto_ml_job_name",
    not_found=_automl_job_not_found,
    sort_by="Name",
    sort_order="Descending",
)


class _RecordedJob(_StoppableJob):
    """A job as SageMaker keeps it, the part common to processing and AutoML jobs: the create
    request as sent, ARN, tags, times, status, failure reason, and the jobs it launched.

    Subclasses name their kind, ARN resource type and status attribute, and write `describe`.
    Stopping a job stops the running jobs it launched (`children`). That is assumed, not
    documented, for AutoML jobs (the API reference's StopAutoMLJob is "A method for forcing a
    running job to shut down"), by analogy with StopHyperParameterTuningJob, which documents that
    the tuning job's training jobs stop. A stop of a job that no longer runs is refused as for
    training jobs (ValidationException); StopAutoMLJob documents only ResourceNotFound, so that
    answer is unverified for AutoML jobs.
    """

    _kind: _JobKind
    _arn_resource: str  # the resource type in the job's ARN

    def __init__(self, account_id: str, region_name: str, request: Mapping[str, Any]) -> None:
        # moto's constructors are skipped on purpose: they mark the job Completed, drop members of
        # the request and invent others.
        self.request = copy.deepcopy(dict(request))
        self.account_id = account_id
        self.region_name = region_name
        name = self.request[self._kind.name_parameter]
        setattr(self, self._kind.name_attribute, name)
        self.arn = arn_formatter(self._arn_resource, name, account_id, region_name)
        self.tags = copy.deepcopy(self.request.get("Tags") or [])
        self.creation_time = self.last_modified_time = _now()
        self.job_end_time: datetime | None = None
        self.job_failure_reason: str | None = None
        setattr(self, self._status_attribute, "InProgress")
        self.children: list[tuple[_JobKind, str]] = []

    @property
    def job_name(self) -> str:
        return str(getattr(self, self._kind.name_attribute))

    def echoed(self, operation: str, request: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The members of the create request (or `request`) that `operation`'s output has."""
        source = self.request if request is None else request
        return {k: copy.deepcopy(v) for k, v in source.items() if k in _output_members(operation)}

    def _entered(self, status: str, now: datetime, failure_reason: str | None) -> None:
        self.last_modified_time = now
        if status in _TERMINAL:
            self.job_end_time = now
        if failure_reason is not None:
            self.job_failure_reason = failure_reason
        self._status_changed(status)
        if status == "Stopping":
            backend = sagemaker_backends[self.account_id][self.region_name]
            for kind, name in self.children:
                child = _lookup(backend, kind, name)
                if child is not None and child.status == "InProgress":
                    child.request_stop()

    def _status_changed(self, status: str) -> None:
        """Hook for the kind's own bookkeeping of a transition."""

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


class EmulatedProcessingJob(_RecordedJob, FakeProcessingJob):
    """A processing job: DescribeProcessingJob returns every member the create carried (moto drops
    ProcessingResources and Environment, and starts the job Completed), the parent that launched
    it (MonitoringScheduleArn, AutoMLJobArn or TrainingJobArn, see `attach_processing_job`), and
    the stop lifecycle of training jobs. It stays a `FakeProcessingJob` for moto's tagging API."""

    _noun = "processing job"
    _status_attribute = "processing_job_status"
    _kind = _PROCESSING
    _arn_resource = "processing-job"

    def __init__(self, account_id: str, region_name: str, request: Mapping[str, Any]) -> None:
        super().__init__(account_id, region_name, request)
        self.processing_start_time = self.creation_time
        self.exit_message: str | None = None

    def describe(self) -> dict[str, Any]:
        """The DescribeProcessingJob response for this job.

        A member the request left out stays out: a job created without NetworkConfig is described
        without it (as in the DescribeProcessingJob answer recorded in aws-controllers-k8s/
        sagemaker-controller, pkg/resource/processing_job/testdata/sdkapi/describe/
        success_describe.json: "NetworkConfig": null), unlike a training job's flags.
        """
        description = self.echoed("DescribeProcessingJob")
        _report_selected_instance((description.get("ProcessingResources") or {}).get("ClusterConfig"))
        description.update(
            {
                "ProcessingJobName": self.job_name,
                "ProcessingJobArn": self.arn,
                "ProcessingJobStatus": self.status,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "ProcessingStartTime": self.processing_start_time,
            }
        )
        if self.job_end_time is not None:
            description["ProcessingEndTime"] = self.job_end_time
        if self.job_failure_reason is not None:
            description["FailureReason"] = self.job_failure_reason
        if self.exit_message is not None:
            description["ExitMessage"] = self.exit_message
        return description

    @property
    def response_object(self) -> dict[str, Any]:
        return self.describe()


@functools.cache
def _member_names(shape_name: str) -> tuple[str, ...]:
    shape = _sagemaker_model().shape_for(shape_name)
    assert isinstance(shape, StructureShape)
    return tuple(shape.members)


def _v2_request(v1: Mapping[str, Any]) -> dict[str, Any]:
    """A CreateAutoMLJob (V1) request as the CreateAutoMLJobV2 request of the same tabular job.

    Follows the developer guide's "Migrate a CreateAutoMLJob to CreateAutoMLJobV2"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/autopilot-automate-model-development-create-experiment.html#autopilot-create-experiment-api-migrate-v1-v2):
    the channels keep ChannelType, ContentType, CompressionType and DataSource, their
    TargetAttributeName and SampleWeightAttributeName move to TabularJobConfig, as do
    AutoMLJobConfig's CandidateGenerationConfig (its FeatureSpecificationS3Uri one level up, the
    V2 CandidateGenerationConfig has AlgorithmsConfig only), CompletionCriteria and Mode, and the
    top-level ProblemType and GenerateCandidateDefinitionsOnly; SecurityConfig and DataSplitConfig
    move from AutoMLJobConfig to the top level.
    """
    config = v1.get("AutoMLJobConfig") or {}
    channels = list(v1.get("InputDataConfig") or [])
    tabular: dict[str, Any] = {}
    generation = dict(config.get("CandidateGenerationConfig") or {})
    feature_specification = generation.pop("FeatureSpecificationS3Uri", None)
    if generation:
        tabular["CandidateGenerationConfig"] = generation
    if feature_specification is not None:
        tabular["FeatureSpecificationS3Uri"] = feature_specification
    for member in ("CompletionCriteria", "Mode"):
        if config.get(member) is not None:
            tabular[member] = config[member]
    for member in ("GenerateCandidateDefinitionsOnly", "ProblemType"):
        if v1.get(member) is not None:
            tabular[member] = v1[member]
    for member in ("TargetAttributeName", "SampleWeightAttributeName"):
        value = next((c[member] for c in channels if c.get(member) is not None), None)
        if value is not None:
            tabular[member] = value
    v2: dict[str, Any] = {
        "AutoMLJobName": v1.get("AutoMLJobName"),
        "AutoMLJobInputDataConfig": [
            {k: c[k] for k in _member_names("AutoMLJobChannel") if k in c} for c in channels
        ],
        "AutoMLProblemTypeConfig": {"TabularJobConfig": tabular},
    }
    for member in ("OutputDataConfig", "RoleArn", "AutoMLJobObjective", "ModelDeployConfig", "Tags"):
        if v1.get(member) is not None:
            v2[member] = v1[member]
    for member in ("SecurityConfig", "DataSplitConfig"):
        if config.get(member) is not None:
            v2[member] = config[member]
    return copy.deepcopy(v2)


class EmulatedAutoMLJob(_RecordedJob, AutoMLJob):
    """An AutoML job created by CreateAutoMLJob (`version` 1) or CreateAutoMLJobV2 (2).

    DescribeAutoMLJobV2 describes both, a V1 job in the V2 shape (`_v2_request`); DescribeAutoMLJob
    describes V1 jobs only. moto's own AutoML job invents a best candidate, an endpoint name and a
    data split, and is born Completed; this one returns what the create carried, and runs.
    """

    _noun = "AutoML job"
    _status_attribute = "auto_ml_job_status"
    _kind = _AUTOML
    _arn_resource = "automl-job"

    def __init__(
        self, account_id: str, region_name: str, request: Mapping[str, Any], version: int = 2
    ) -> None:
        super().__init__(account_id, region_name, request)
        self.version = version
        self.auto_ml_job_secondary_status = "Starting"

    def _status_changed(self, status: str) -> None:
        # Stopping, Stopped, Completed and Failed are secondary statuses too.
        self.auto_ml_job_secondary_status = status

    def as_v2_request(self) -> dict[str, Any]:
        """The job as a CreateAutoMLJobV2 request (a V2 job's own request)."""
        return copy.deepcopy(self.request) if self.version == 2 else _v2_request(self.request)

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "AutoMLJobName": self.job_name,
            "AutoMLJobArn": self.arn,
            "AutoMLJobStatus": self.status,
            "AutoMLJobSecondaryStatus": self.auto_ml_job_secondary_status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.job_end_time is not None:
            state["EndTime"] = self.job_end_time
        if self.job_failure_reason is not None:
            state["FailureReason"] = self.job_failure_reason
        return state

    def describe(self) -> dict[str, Any]:
        """The DescribeAutoMLJobV2 response for this job (V1 or V2)."""
        description = self.echoed("DescribeAutoMLJobV2", self.as_v2_request())
        problem = description.get("AutoMLProblemTypeConfig") or {}
        configured = next(iter(problem), None)
        if configured is not None:
            # The union member's name without "JobConfig": TabularJobConfig -> Tabular, ...
            description["AutoMLProblemTypeConfigName"] = configured.removesuffix("JobConfig")
        description.update(self._state())
        return description

    def describe_v1(self) -> dict[str, Any]:
        """The DescribeAutoMLJob response for a V1 job; the service's error for a V2 job."""
        if self.version != 1:
            # "AutoML jobs created by calling CreateAutoMLJobV2 cannot be described by
            # DescribeAutoMLJob" (API reference). The error is not documented: ResourceNotFound,
            # DescribeAutoMLJob's only listed error, is a guess.
            raise _automl_job_not_found(self.job_name)
        description = self.echoed("DescribeAutoMLJob")
        description.update(self._state())
        return description

    @property
    def response_object(self) -> dict[str, Any]:
        return self.describe()


@dataclass(frozen=True)
class _Creation:
    """How a Create* operation of a recorded job kind is handled."""

    operation: str
    kind: _JobKind
    arn_member: str  # of the response
    build: Callable[[str, str, Mapping[str, Any]], _RecordedJob]
    already_exists: str  # ResourceInUse message, formatted with name and arn


_CREATE_PROCESSING_JOB = _Creation(
    operation="CreateProcessingJob",
    kind=_PROCESSING,
    arn_member="ProcessingJobArn",
    build=EmulatedProcessingJob,
    # Shaped like the training job's message (unverified for processing jobs).
    already_exists=(
        "Processing job names must be unique within an AWS account and region, and a processing job "
        "with this name already exists ({arn})"
    ),
)
# V1 and V2 jobs share one name space (both are automl-job ARNs). moto's wording.
_AUTOML_EXISTS = (
    "Resource Already Exists: Auto ML Job with name {name} already exists. Choose a different name."
)
_CREATE_AUTOML_JOB = _Creation(
    operation="CreateAutoMLJob",
    kind=_AUTOML,
    arn_member="AutoMLJobArn",
    build=functools.partial(EmulatedAutoMLJob, version=1),
    already_exists=_AUTOML_EXISTS,
)
_CREATE_AUTOML_JOB_V2 = _Creation(
    operation="CreateAutoMLJobV2",
    kind=_AUTOML,
    arn_member="AutoMLJobArn",
    build=functools.partial(EmulatedAutoMLJob, version=2),
    already_exists=_AUTOML_EXISTS,
)


def _create_recorded_job(self: SageMakerResponse, creation: _Creation) -> ActionResult:
    request = copy.deepcopy(self.params)
    _require_members(creation.operation, request)
    service_rules.check(creation.operation, request)
    backend = self.sagemaker_backend
    name = request[creation.kind.name_parameter]
    existing = _lookup(backend, creation.kind, name)
    if existing is not None:
        raise ResourceInUseException(creation.already_exists.format(name=name, arn=existing.arn))
    job = creation.build(backend.account_id, backend.region_name, request)
    getattr(backend, creation.kind.collection)[name] = job
    return ActionResult({creation.arn_member: job.arn})


def _describe_recorded_job(
    self: SageMakerResponse, kind: _JobKind, describe: Callable[[Any], dict[str, Any]]
) -> ActionResult:
    job = _find(self.sagemaker_backend, kind, self._get_param(kind.name_parameter))
    description = describe(job)
    job.observed()
    return ActionResult(description)


def _processing_summary(job: Any) -> dict[str, Any]:
    summary = {
        "ProcessingJobName": job.processing_job_name,
        "ProcessingJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "ProcessingJobStatus": job.status,
    }
    for member, value in (
        ("ProcessingEndTime", job.job_end_time),
        ("FailureReason", job.job_failure_reason),
        ("ExitMessage", job.exit_message),
    ):
        if value is not None:
            summary[member] = value
    return summary


def _automl_summary(job: Any) -> dict[str, Any]:
    summary = {
        "AutoMLJobName": job.auto_ml_job_name,
        "AutoMLJobArn": job.arn,
        "AutoMLJobStatus": job.status,
        "AutoMLJobSecondaryStatus": job.auto_ml_job_secondary_status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
    }
    if job.job_end_time is not None:
        summary["EndTime"] = job.job_end_time
    if job.job_failure_reason:
        summary["FailureReason"] = job.job_failure_reason
    return summary


def _create_processing_job(self: SageMakerResponse) -> ActionResult:
    return _create_recorded_job(self, _CREATE_PROCESSING_JOB)


def _describe_processing_job(self: SageMakerResponse) -> ActionResult:
    return _describe_recorded_job(self, _PROCESSING, lambda job: job.describe())


def _stop_processing_job(self: SageMakerResponse) -> EmptyResult:
    return _stop_job(self, _PROCESSING)


def _list_processing_jobs(self: SageMakerResponse) -> ActionResult:
    return _list_jobs(self, _PROCESSING, _processing_summary, "ProcessingJobSummaries")


def _create_auto_ml_job(self: SageMakerResponse) -> ActionResult:
    return _create_recorded_job(self, _CREATE_AUTOML_JOB)


def _create_auto_ml_job_v2(self: SageMakerResponse) -> ActionResult:
    return _create_recorded_job(self, _CREATE_AUTOML_JOB_V2)


def _describe_auto_ml_job(self: SageMakerResponse) -> ActionResult:
    return _describe_recorded_job(self, _AUTOML, lambda job: job.describe_v1())


def _describe_auto_ml_job_v2(self: SageMakerResponse) -> ActionResult:
    return _describe_recorded_job(self, _AUTOML, lambda job: job.describe())


def _stop_auto_ml_job(self: SageMakerResponse) -> EmptyResult:
    return _stop_job(self, _AUTOML)


def _list_auto_ml_jobs(self: SageMakerResponse) -> ActionResult:
    return _list_jobs(self, _AUTOML, _automl_summary, "AutoMLJobSummaries")


def _add_tags(
    self: SageMakerModelBackend, arn: str, tags: list[dict[str, str]]
) -> list[dict[str, str]]:
    # SageMaker's AddTags overwrites the value of a key the resource already has; moto appends a
    # second tag with the same key, which would make a repeated remediation tag ambiguous.
    resource = self._get_resource_from_arn(arn)
    service_rules.check(
        service_rules.ADD_TAGS, {"ResourceArn": arn, "Tags": tags}, current_tags=resource.tags
    )
    for tag in tags:
        current = next((t for t in resource.tags if t["Key"] == tag["Key"]), None)
        if current is None:
            resource.tags.append(dict(tag))
        else:
            current["Value"] = tag["Value"]
    return resource.tags


# SageMakerResponse dispatches an action to the method named after it (snake_case).
_RESPONSE_METHODS: Mapping[str, Callable[[SageMakerResponse], ActionResult]] = {
    "create_training_job": _create_training_job,
    "describe_training_job": _describe_training_job,
    "stop_training_job": _stop_training_job,
    "create_hyper_parameter_tuning_job": _create_hyper_parameter_tuning_job,
    "describe_hyper_parameter_tuning_job": _describe_hyper_parameter_tuning_job,
    "stop_hyper_parameter_tuning_job": _stop_hyper_parameter_tuning_job,
    "list_training_jobs": _list_training_jobs,
    "list_hyper_parameter_tuning_jobs": _list_hyper_parameter_tuning_jobs,
    "create_processing_job": _create_processing_job,
    "describe_processing_job": _describe_processing_job,
    "stop_processing_job": _stop_processing_job,
    "list_processing_jobs": _list_processing_jobs,
    "create_auto_ml_job": _create_auto_ml_job,
    "create_auto_ml_job_v2": _create_auto_ml_job_v2,
    "describe_auto_ml_job": _describe_auto_ml_job,
    "describe_auto_ml_job_v2": _describe_auto_ml_job_v2,
    "stop_auto_ml_job": _stop_auto_ml_job,
    "list_auto_ml_jobs": _list_auto_ml_jobs,
}

_install_lock = threading.Lock()


def install() -> None:
    """Patch moto's SageMaker and install CloudTrail emission. Idempotent.

    Call it before or inside `mock_aws()`, or before starting a `ThreadedMotoServer` in-process.
    """
    with _install_lock:
        for method_name, method in _RESPONSE_METHODS.items():
            setattr(SageMakerResponse, method_name, method)
        SageMakerModelBackend.add_tags = _add_tags  # type: ignore[method-assign]
    cloudtrail.install()
    from sandbox import monitoring_extension  # imports this module, so imported here

    monitoring_extension.install()


def complete_training_job(
    account_id: str,
    region_name: str,
    name: str,
    status: str = "Completed",
    *,
    failure_reason: str | None = None,
) -> None:
    """Make a running (or stopping) training job end by itself with `status`.

    For race tests: the job the guard described as InProgress can be over by the time it acts.
    Raises ValidationException-like `ValidationError` for an unknown job, ValueError for a job that
    has already ended or a status that is not final.
    """
    backend = sagemaker_backends[account_id][region_name]
    job = _find(backend, _TRAINING, name)
    if status == "Failed" and failure_reason is None:
        failure_reason = "AlgorithmError: the training container exited with a non-zero code"
    job.finish(status, failure_reason)


def set_tuning_progress(
    account_id: str, region_name: str, name: str, *, completed: int = 0, in_progress: int = 0
) -> None:
    """Set how many of a tuning job's training jobs have completed or are running."""
    job = _find(sagemaker_backends[account_id][region_name], _TUNING, name)
    job.training_job_status_counters.update(Completed=completed, InProgress=in_progress)


def complete_tuning_job(
    account_id: str, region_name: str, name: str, status: str = "Completed"
) -> None:
    """Make a running (or stopping) tuning job end by itself with `status`."""
    _find(sagemaker_backends[account_id][region_name], _TUNING, name).finish(status)


def attach_to_tuning_job(account_id: str, region_name: str, name: str, tuning_job_name: str) -> None:
    """Make a training job one of a tuning job's training jobs (DescribeTrainingJob then names
    the parent in TuningJobArn), as the training jobs SageMaker launches for a tuning job are."""
    backend = sagemaker_backends[account_id][region_name]
    parent = _find(backend, _TUNING, tuning_job_name)
    _find(backend, _TRAINING, name).request["TuningJobArn"] = parent.arn


def _complete(
    kind: _JobKind, account_id: str, region_name: str, name: str, status: str, failure_reason: str | None
) -> Any:
    job = _find(sagemaker_backends[account_id][region_name], kind, name)
    job.finish(status, failure_reason)
    return job


def complete_processing_job(
    account_id: str,
    region_name: str,
    name: str,
    status: str = "Completed",
    *,
    failure_reason: str | None = None,
    exit_message: str | None = None,
) -> None:
    """Make a running (or stopping) processing job end by itself with `status` (and, as the
    container reports it, `exit_message`). Errors as `complete_training_job`."""
    if status == "Failed" and failure_reason is None:
        failure_reason = "AlgorithmError: the processing container exited with a non-zero code"
    job = _complete(_PROCESSING, account_id, region_name, name, status, failure_reason)
    if exit_message is not None:
        job.exit_message = exit_message


def complete_automl_job(
    account_id: str,
    region_name: str,
    name: str,
    status: str = "Completed",
    *,
    failure_reason: str | None = None,
) -> None:
    """Make a running (or stopping) AutoML job, V1 or V2, end by itself with `status`.
    Errors as `complete_training_job`; its child jobs are left as they are."""
    if status == "Failed" and failure_reason is None:
        failure_reason = "ClientError: the AutoML job failed"
    _complete(_AUTOML, account_id, region_name, name, status, failure_reason)


# The parents DescribeProcessingJob can name, by the resource type of their ARN.
_PROCESSING_PARENT_MEMBERS: Mapping[str, str] = {
    "monitoring-schedule": "MonitoringScheduleArn",
    "automl-job": "AutoMLJobArn",
    "training-job": "TrainingJobArn",
}
# The parents the embedded SageMaker keeps (moto has no monitoring schedules).
_PARENT_KINDS: Mapping[str, _JobKind] = {"automl-job": _AUTOML, "training-job": _TRAINING}


def attach_processing_job(account_id: str, region_name: str, name: str, parent_arn: str) -> None:
    """Make a processing job one launched by `parent_arn`: a monitoring schedule, an AutoML job or
    a training job (Debugger and profiler rules run as processing jobs). DescribeProcessingJob then
    names the parent in MonitoringScheduleArn, AutoMLJobArn or TrainingJobArn, by the ARN's
    resource type. An AutoML or training job parent must exist; a stopped AutoML parent stops it.

    Raises ValueError for another kind of ARN, the service's not-found error for an unknown job.
    """
    resource_type, _, parent_name = parent_arn.split(":", 5)[-1].partition("/")
    member = _PROCESSING_PARENT_MEMBERS.get(resource_type)
    if member is None or not parent_name:
        raise ValueError(
            f"{parent_arn!r} is not the ARN of a {', '.join(_PROCESSING_PARENT_MEMBERS)}"
        )
    backend = sagemaker_backends[account_id][region_name]
    job = _find(backend, _PROCESSING, name)
    parent_kind = _PARENT_KINDS.get(resource_type)
    if parent_kind is not None:
        parent = _find(backend, parent_kind, parent_name)
        parent_arn = parent.arn
        if isinstance(parent, _RecordedJob):
            parent.children.append((_PROCESSING, job.job_name))
    for other in _PROCESSING_PARENT_MEMBERS.values():  # one parent launched it
        job.request.pop(other, None)
    job.request[member] = parent_arn


def attach_to_automl_job(account_id: str, region_name: str, name: str, automl_job_name: str) -> None:
    """Make a training job one of an AutoML job's candidates (DescribeTrainingJob then names the
    parent in AutoMLJobArn), as `attach_to_tuning_job` does for tuning jobs. Stopping the AutoML
    job stops it while it runs."""
    backend = sagemaker_backends[account_id][region_name]
    parent = _find(backend, _AUTOML, automl_job_name)
    job = _find(backend, _TRAINING, name)
    job.request["AutoMLJobArn"] = parent.arn
    parent.children.append((_TRAINING, job.training_job_name))


class AutoMLChildren(NamedTuple):
    """The names of the jobs `start_automl_children` launched."""

    training_job_name: str
    processing_job_name: str


# The image SageMaker Autopilot's data processing and candidate jobs run: sagemaker-sklearn-automl,
# in the registry of SageMaker's versioned algorithms (the sagemaker-xgboost accounts).
_AUTOML_IMAGE = "{registry}.dkr.ecr.{region}.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"
_AUTOML_INSTANCE_TYPE = "ml.m5.4xlarge"


def start_automl_children(
    account_id: str, region_name: str, automl_job_name: str, *, instance_count: int = 1
) -> AutoMLChildren:
    """Start a training job and a processing job "launched by" an AutoML job (V1 or V2), as
    Autopilot launches its data processing and candidate jobs: Describe of each returns
    AutoMLJobArn, and each carries the AutoML job's SecurityConfig (inter-container traffic
    encryption and VpcConfig), role and output path. `instance_count` is SageMaker's choice in AWS.

    The children are put in the account directly, without Create calls: no CloudTrail event, no
    service rules (whether AWS records Autopilot's own calls in CloudTrail is not confirmed).
    Stopping the AutoML job stops them while they run.
    """
    backend = sagemaker_backends[account_id][region_name]
    parent = _find(backend, _AUTOML, automl_job_name)
    spec = parent.as_v2_request()
    security = spec.get("SecurityConfig") or {}
    encrypted = bool(security.get("EnableInterContainerTrafficEncryption", False))
    output = (spec.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
    registry = VERSIONED_ALGORITHM_REGISTRIES.get(region_name, "683313688378")
    image = _AUTOML_IMAGE.format(registry=registry, region=region_name)
    suffix = uuid.uuid4().hex[:10]
    training_name = f"{parent.job_name}-dpp0-1-{suffix}"
    processing_name = f"{parent.job_name}-db-1-{suffix}"
    training: dict[str, Any] = {
        "TrainingJobName": training_name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": spec.get("RoleArn"),
        "OutputDataConfig": {"S3OutputPath": f"{output}/{parent.job_name}/preprocessed-data"},
        "ResourceConfig": {
            "InstanceType": _AUTOML_INSTANCE_TYPE,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": 50,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "EnableInterContainerTrafficEncryption": encrypted,
        "AutoMLJobArn": parent.arn,
    }
    network: dict[str, Any] = {"EnableInterContainerTrafficEncryption": encrypted}
    if security.get("VpcConfig"):
        training["VpcConfig"] = copy.deepcopy(security["VpcConfig"])
        network["VpcConfig"] = copy.deepcopy(security["VpcConfig"])
    processing: dict[str, Any] = {
        "ProcessingJobName": processing_name,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": instance_count,
                "InstanceType": _AUTOML_INSTANCE_TYPE,
                "VolumeSizeInGB": 50,
            }
        },
        "AppSpecification": {"ImageUri": image},
        "RoleArn": spec.get("RoleArn"),
        "NetworkConfig": network,
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "AutoMLJobArn": parent.arn,
    }
    backend.training_jobs[training_name] = EmulatedTrainingJob(account_id, region_name, training)
    backend.processing_jobs[processing_name] = EmulatedProcessingJob(account_id, region_name, processing)
    parent.children.extend([(_TRAINING, training_name), (_PROCESSING, processing_name)])
    return AutoMLChildren(training_name, processing_name)
