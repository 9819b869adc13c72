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
same lifecycle (`complete_tuning_job`, `set_tuning_progress`). Everything else of moto's SageMaker
is untouched. `install()` also installs CloudTrail
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
from typing import Any

import botocore.session
from botocore.model import ServiceModel
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import camelcase_to_underscores
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import (
    FakeTrainingJob,
    HyperParameterTuningJob,
    SageMakerModelBackend,
    sagemaker_backends,
)
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from sandbox import cloudtrail, service_rules
from sandbox.builtin_algorithms import BUILT_IN_ALGORITHM_METRICS, builtin_algorithm

__all__ = [
    "BUILT_IN_ALGORITHM_METRICS",
    "builtin_algorithm",
    "complete_training_job",
    "install",
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


@dataclass(frozen=True)
class _JobKind:
    """Where a SageMaker job type lives in moto's backend and how its API names it."""

    collection: str  # attribute of SageMakerModelBackend
    name_parameter: str
    name_attribute: str = ""


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
        raise ValidationError(_NOT_FOUND)
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
    descending = self._get_param("SortOrder", "Ascending") == "Descending"
    jobs.sort(key=lambda job: (_as_utc(job.creation_time), getattr(job, kind.name_attribute)), reverse=descending)
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
