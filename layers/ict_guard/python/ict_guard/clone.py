"""Build the encrypted copy of a job from its description, driven by the botocore service model.

The fields copied are the Create operation's inputs that the Describe operation returns, walked
recursively against the Create input shapes, so a field SageMaker adds tomorrow is carried over
by the boto3 in the Lambda runtime without a change here. What Describe returns that Create
rejects is handled below, one explicit rule each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ict_guard.jobs import (
    GUARD_TAG_PREFIX,
    RELAUNCHED_FROM_TAG,
    RESERVED_TAG_PREFIX,
    TRAINING_API,
    TUNING_API,
    JobApi,
)

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

CLONE_MARK = "-enc-"
MAX_WARM_START_PARENTS = 5  # HyperParameterTuningJobWarmStartConfig.ParentHyperParameterTuningJobs
# Warm start uses the results of earlier tuning jobs to choose what to try next; SageMaker offers
# it for Bayesian and Random search only.
WARM_START_STRATEGIES = {"Bayesian", "Random"}


def relaunch_name(original: str, max_length: int = TRAINING_API.name_max_length) -> str:
    """A valid, deterministic name for the re-launch of `original`.

    Deterministic so that a repeated attempt collides with the first one (ResourceInUse) instead
    of creating a second copy; the digest of the whole original name keeps two long names that
    share a prefix apart after truncation. Names match [a-zA-Z0-9](-*[a-zA-Z0-9])*.
    """
    suffix = CLONE_MARK + hashlib.sha256(original.encode()).hexdigest()[:6]
    base = original[: max_length - len(suffix)].rstrip("-")
    return base + suffix


def cloneable_members(service_model: ServiceModel, create_op: str, describe_op: str) -> list[str]:
    """Top-level fields that Create accepts and Describe returns (Tags come from ListTags)."""
    create_input = service_model.operation_model(create_op).input_shape
    describe_output = service_model.operation_model(describe_op).output_shape
    return [name for name in create_input.members if name in describe_output.members]


def filter_to_shape(value: Any, shape: Shape) -> Any:
    """Keep only what `shape` (an input shape) can carry; drop empty containers.

    Describe shapes can hold output-only members; Create rejects unknown members and empty lists
    or maps below a `min` length constraint, and an empty container means the same as absent.
    """
    if shape.type_name == "structure" and isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                continue
            filtered = filter_to_shape(item, member)
            if not _is_empty(filtered):
                kept[key] = filtered
        return kept
    if shape.type_name == "list" and isinstance(value, list):
        return [
            f for f in (filter_to_shape(item, shape.member) for item in value) if not _is_empty(f)
        ]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {k: filter_to_shape(v, shape.value) for k, v in value.items()}
    return value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (list, dict, str)) and len(value) == 0)


def carried_tags(tags: Mapping[str, str], original_name: str) -> list[dict[str, str]]:
    """ListTags of the original, minus keys Create rejects or that describe the guard's own work."""
    kept = [
        {"Key": k, "Value": v}
        for k, v in tags.items()
        if not k.startswith(RESERVED_TAG_PREFIX) and not k.startswith(GUARD_TAG_PREFIX)
    ]
    kept.append({"Key": RELAUNCHED_FROM_TAG, "Value": original_name})
    return kept


def _model_copy(api: JobApi, described: Mapping[str, Any], service_model: ServiceModel) -> dict[str, Any]:
    create_input = service_model.operation_model(api.create_operation).input_shape
    request: dict[str, Any] = {}
    for name in cloneable_members(service_model, api.create_operation, api.describe_operation):
        if name in described:
            value = filter_to_shape(described[name], create_input.members[name])
            if not _is_empty(value):
                request[name] = value
    return request


def _encrypted_definition(definition: dict[str, Any], metric_definitions_sent: bool | None) -> dict[str, Any]:
    """One training specification (a training job, or a tuning job's definition), encrypted."""
    definition = dict(definition)
    definition["EnableInterContainerTrafficEncryption"] = True

    # ResourceConfig: InstanceGroups (heterogeneous clusters) cannot be combined with
    # InstanceType/InstanceCount, which Describe may still report for such jobs.
    resource = definition.get("ResourceConfig")
    if resource and resource.get("InstanceGroups"):
        definition["ResourceConfig"] = {
            k: v for k, v in resource.items() if k not in ("InstanceType", "InstanceCount")
        }

    # AlgorithmSpecification.MetricDefinitions: Describe returns the metrics that SageMaker
    # defines for its built-in algorithms and for algorithm resources (AlgorithmName), and Create
    # refuses metric definitions for those. Keep them only when the caller sent them, or when
    # CloudTrail did not record whether it did and there is no AlgorithmName.
    algorithm = definition.get("AlgorithmSpecification")
    if algorithm and "MetricDefinitions" in algorithm:
        if algorithm.get("AlgorithmName") or metric_definitions_sent is False:
            definition["AlgorithmSpecification"] = {
                k: v for k, v in algorithm.items() if k != "MetricDefinitions"
            }
    return definition


def _hint(hints: Sequence[bool | None], index: int) -> bool | None:
    return hints[index] if index < len(hints) else None


def build_encrypted_training_clone(
    described: Mapping[str, Any],
    tags: Mapping[str, str],
    service_model: ServiceModel,
    *,
    metric_definitions_sent: Sequence[bool | None] = (),
) -> dict[str, Any]:
    """The CreateTrainingJob request for an encrypted copy of the described training job."""
    request = _encrypted_definition(
        _model_copy(TRAINING_API, described, service_model), _hint(metric_definitions_sent, 0)
    )
    original = described[TRAINING_API.name_member]
    request[TRAINING_API.name_member] = relaunch_name(original, TRAINING_API.name_max_length)
    request["Tags"] = carried_tags(tags, original)
    return request


def build_encrypted_tuning_clone(
    described: Mapping[str, Any],
    tags: Mapping[str, str],
    service_model: ServiceModel,
    *,
    metric_definitions_sent: Sequence[bool | None] = (),
) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request for an encrypted copy: every definition
    encrypted; WarmStartConfig and Autotune kept as they were."""
    request = _model_copy(TUNING_API, described, service_model)
    if "TrainingJobDefinition" in request:
        request["TrainingJobDefinition"] = _encrypted_definition(
            request["TrainingJobDefinition"], _hint(metric_definitions_sent, 0)
        )
    if "TrainingJobDefinitions" in request:
        request["TrainingJobDefinitions"] = [
            _encrypted_definition(d, _hint(metric_definitions_sent, i))
            for i, d in enumerate(request["TrainingJobDefinitions"])
        ]
    original = described[TUNING_API.name_member]
    request[TUNING_API.name_member] = relaunch_name(original, TUNING_API.name_max_length)
    request["Tags"] = carried_tags(tags, original)
    return request


def build_encrypted_clone(
    api: JobApi,
    described: Mapping[str, Any],
    tags: Mapping[str, str],
    service_model: ServiceModel,
    *,
    metric_definitions_sent: Sequence[bool | None] = (),
) -> dict[str, Any]:
    build = build_encrypted_tuning_clone if api is TUNING_API else build_encrypted_training_clone
    return build(described, tags, service_model, metric_definitions_sent=metric_definitions_sent)


def warm_start_from(request: Mapping[str, Any], parent_name: str) -> tuple[dict[str, Any], str | None]:
    """Add the stopped original as a warm-start parent of its encrypted copy.

    With IDENTICAL_DATA_AND_ALGORITHM the copy continues the original's search instead of
    starting over: it learns from the training jobs the original completed, and those count
    against the copy's MaxNumberOfTrainingJobs, so completed work is not paid for twice. An
    existing warm start keeps its type and gains the original as one more parent. Returns the
    request and, when the warm start cannot be added, the reason.
    """
    strategy = (request.get("HyperParameterTuningJobConfig") or {}).get("Strategy")
    if strategy not in WARM_START_STRATEGIES:
        return dict(request), f"warm start is not available for the {strategy} strategy"
    existing = request.get("WarmStartConfig") or {}
    parents = list(existing.get("ParentHyperParameterTuningJobs") or [])
    if any(p.get("HyperParameterTuningJobName") == parent_name for p in parents):
        return dict(request), None
    if len(parents) >= MAX_WARM_START_PARENTS:
        return dict(request), f"the copy already has {len(parents)} warm-start parents, the maximum"
    warm = {
        "ParentHyperParameterTuningJobs": [*parents, {"HyperParameterTuningJobName": parent_name}],
        "WarmStartType": existing.get("WarmStartType") or "IDENTICAL_DATA_AND_ALGORITHM",
    }
    return {**request, "WarmStartConfig": warm}, None
