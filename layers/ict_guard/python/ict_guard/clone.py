"""Build the encrypted copy of a job from its description, driven by the botocore service model.

The fields copied are the Create operation's inputs that the Describe operation returns, walked
recursively against the Create input shapes, so a field SageMaker adds tomorrow is carried over
by the boto3 in the Lambda runtime without a change here. What Describe returns that Create
refuses is handled below, one rule per class of field (each rule names its AWS source); what the
copy still cannot carry is checked before the stop by `preflight`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.model import ListShape, MapShape, StructureShape

from ict_guard.algorithms import builtin_algorithm
from ict_guard.jobs import (
    CLONE_MARK,
    GUARD_TAG_PREFIX,
    MAX_USER_TAGS,
    RELAUNCHED_FROM_TAG,
    RESERVED_TAG_PREFIX,
    TRAINING_API,
    TUNING_API,
    JobApi,
    get_path,
    set_path,
)

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

# CLONE_MARK and MAX_USER_TAGS live in jobs.py: the stop path needs them, this module it does not.

# Members of Create input shapes that SageMaker documents as output-only: Describe returns them,
# Create refuses them. The botocore model carries the service's own wording, e.g.
# ResourceConfig.SelectedInstanceType: "This field is read-only and isn't accepted in
# CreateTrainingJob requests." Matching the documentation covers the whole class, including
# members SageMaker adds later with the same sentence.
_OUTPUT_ONLY = re.compile(
    r"read-only and (?:isn't|is not) accepted|(?:isn't|is not) accepted in \w*Create\w* requests",
    re.IGNORECASE,
)


def relaunch_name(original: str, max_length: int = TRAINING_API.name_max_length, *, salt: str = "") -> str:
    """A valid, deterministic name for the re-launch of `original`.

    Deterministic so that a repeated attempt collides with the first one (ResourceInUse) instead
    of creating a second copy; the digest of the whole original name keeps two long names that
    share a prefix apart after truncation. Names match [a-zA-Z0-9](-*[a-zA-Z0-9])*. `salt` tells
    apart resources that reuse a name: a job definition deleted and created again under its name
    (the only way to change one) gets another copy, not the copy of its predecessor.
    """
    suffix = CLONE_MARK + hashlib.sha256((original + salt).encode()).hexdigest()[:6]
    base = original[: max_length - len(suffix)].rstrip("-")
    return base + suffix


def request_shape(service_model: ServiceModel, operation: str) -> StructureShape:
    """The operation's input structure (every Create* the guard sends has one)."""
    shape = service_model.operation_model(operation).input_shape
    if shape is None:
        raise ValueError(f"{operation} takes no input")
    return shape


def cloneable_members(service_model: ServiceModel, create_op: str, describe_op: str) -> list[str]:
    """Top-level fields that Create accepts and Describe returns (Tags come from ListTags)."""
    create_input = request_shape(service_model, create_op)
    describe_output = service_model.operation_model(describe_op).output_shape
    if describe_output is None:
        raise ValueError(f"{describe_op} returns nothing")
    return [name for name in create_input.members if name in describe_output.members]


def is_output_only(member: Shape) -> bool:
    """Whether the model documents this input member as read-only (refused by Create)."""
    return bool(_OUTPUT_ONLY.search(member.documentation or ""))


@functools.cache
def _input_members(shape: StructureShape) -> dict[str, Shape]:
    return {name: m for name, m in shape.members.items() if not is_output_only(m)}


def output_only_paths(shape: Shape, prefix: str = "", _seen: frozenset[str] = frozenset()) -> list[str]:
    """Dotted paths of every output-only member under `shape` (for tests and the preflight)."""
    paths: list[str] = []
    if shape.name in _seen:
        return paths
    seen = _seen | {shape.name}
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            path = f"{prefix}.{name}" if prefix else name
            if is_output_only(member):
                paths.append(path)
            else:
                paths += output_only_paths(member, path, seen)
    elif isinstance(shape, ListShape):
        paths += output_only_paths(shape.member, f"{prefix}[]", seen)
    elif isinstance(shape, MapShape):
        paths += output_only_paths(shape.value, f"{prefix}{{}}", seen)
    return paths


def filter_to_shape(value: Any, shape: Shape) -> Any:
    """Keep only what `shape` (an input shape) can carry; drop empty containers.

    Describe shapes can hold output-only members; Create refuses unknown members, output-only
    ones, and empty lists or maps below a `min` length constraint, and an empty container means
    the same as absent.
    """
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        members = _input_members(shape)
        kept = {}
        for key, item in value.items():
            member = members.get(key)
            if member is None:
                continue
            filtered = filter_to_shape(item, member)
            if not _is_empty(filtered):
                kept[key] = filtered
        return kept
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [f for f in (filter_to_shape(item, shape.member) for item in value) if not _is_empty(f)]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {k: filter_to_shape(v, shape.value) for k, v in value.items()}
    return value


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (list, dict, str)) and len(value) == 0)


def carried_tags(tags: Mapping[str, str], original_name: str) -> tuple[list[dict[str, str]], bool]:
    """The copy's tags, and whether the link to the original fits among them.

    The user's own tags come first (ListTags of the original minus `aws:` keys, which Create
    refuses, and minus the guard's own); `ict-guard:relaunched-from` is added only while the copy
    stays within the 50-tag limit. Without it the link lives in the ledger and the alert.
    """
    kept = [
        {"Key": k, "Value": v}
        for k, v in tags.items()
        if not k.startswith(RESERVED_TAG_PREFIX) and not k.startswith(GUARD_TAG_PREFIX)
    ]
    linked = len(kept) < MAX_USER_TAGS
    if linked:
        kept.append({"Key": RELAUNCHED_FROM_TAG, "Value": original_name})
    return kept, linked


@dataclass(frozen=True)
class EncryptedCopy:
    """The Create* request of the encrypted copy, and what about it a person should know."""

    request: dict[str, Any]
    notes: tuple[str, ...] = ()
    linked_by_tag: bool = True


def _model_copy(api: JobApi, described: Mapping[str, Any], service_model: ServiceModel) -> dict[str, Any]:
    create_input = request_shape(service_model, api.create_operation)
    request: dict[str, Any] = {}
    for name in cloneable_members(service_model, api.create_operation, api.describe_operation):
        if name in described:
            value = filter_to_shape(described[name], create_input.members[name])
            if not _is_empty(value):
                request[name] = value
    return request


# A static hyperparameter SageMaker adds to every tuning job's definitions itself; Describe returns
# it. The SageMaker Python SDK removes it before re-creating a tuner from a description ("Remove
# hyperparameter reserved by SageMaker for tuning jobs", sagemaker/tuner.py,
# _prepare_estimator_from_job_description), and the developer guide counts it among the 100
# hyperparameters (automatic-model-tuning-define-ranges).
RESERVED_TUNING_HYPERPARAMETERS = frozenset({"_tuning_objective_metric"})


def _encrypted_definition(
    api: JobApi, definition: Mapping[str, Any], metric_definitions_sent: bool | None
) -> dict[str, Any]:
    """One spec (jobs.JobApi.specs: a job, or a tuning job's definition), encrypted.

    The rules below name members of training specifications (a training job, a tuning job's
    definition); a spec without them (processing, AutoML) only gets the flag."""
    definition = dict(definition)
    set_path(definition, api.flag_path, True)
    static = definition.get("StaticHyperParameters")
    if static and RESERVED_TUNING_HYPERPARAMETERS & set(static):
        kept = {k: v for k, v in static.items() if k not in RESERVED_TUNING_HYPERPARAMETERS}
        if kept:
            definition["StaticHyperParameters"] = kept
        else:
            del definition["StaticHyperParameters"]

    # ResourceConfig: InstanceGroups (heterogeneous clusters) and InstancePreferences (an ordered
    # list SageMaker picks from) each exclude InstanceType, which Describe may still report for
    # such jobs (API reference, ResourceConfig).
    resource = definition.get("ResourceConfig")
    if resource and (resource.get("InstanceGroups") or resource.get("InstancePreferences")):
        dropped = ("InstanceType", "InstanceCount") if resource.get("InstanceGroups") else ("InstanceType",)
        definition["ResourceConfig"] = {k: v for k, v in resource.items() if k not in dropped}

    # AlgorithmSpecification.MetricDefinitions: Describe returns the metrics that SageMaker
    # defines for its built-in algorithms and for algorithm resources (AlgorithmName), and Create
    # refuses metric definitions for those. Keep them only when the caller sent them (the
    # CloudTrail hint), or, without a hint, when the image is not one of SageMaker's algorithms.
    algorithm = definition.get("AlgorithmSpecification")
    if (
        algorithm
        and "MetricDefinitions" in algorithm
        and not _keeps_metric_definitions(algorithm, metric_definitions_sent)
    ):
        definition["AlgorithmSpecification"] = {k: v for k, v in algorithm.items() if k != "MetricDefinitions"}
    return definition


def _keeps_metric_definitions(algorithm: Mapping[str, Any], sent: bool | None) -> bool:
    if algorithm.get("AlgorithmName") or sent is False:
        return False
    return sent is True or builtin_algorithm(algorithm.get("TrainingImage")) is None


def _hint(hints: Sequence[bool | None], index: int) -> bool | None:
    return hints[index] if index < len(hints) else None


def _encrypt_specs(api: JobApi, request: dict[str, Any], hints: Sequence[bool | None]) -> None:
    """Every spec of the request encrypted, in place (the request is the copy's own)."""
    for path in api.spec_paths:
        if not path:
            encrypted = _encrypted_definition(api, request, _hint(hints, 0))
            request.clear()
            request.update(encrypted)
            return
        value = get_path(request, path)
        if isinstance(value, Mapping):
            set_path(request, path, _encrypted_definition(api, value, _hint(hints, 0)))
        elif isinstance(value, list):
            set_path(request, path, [_encrypted_definition(api, d, _hint(hints, i)) for i, d in enumerate(value)])


def _drop_warm_start(request: dict[str, Any], described: Mapping[str, Any], api: JobApi) -> str:
    """A tuning job's WarmStartConfig, dropped (see build_encrypted_copy); the note says what the
    copy gives up."""
    parents = (request.pop("WarmStartConfig", None) or {}).get("ParentHyperParameterTuningJobs") or []
    name = described[api.name_member]
    also = ", ".join(str(p.get("HyperParameterTuningJobName")) for p in parents)
    completed = (described.get("TrainingJobStatusCounters") or {}).get("Completed")
    cost = (
        f"the {completed} training jobs {name} completed are"
        if completed
        else "the training jobs the original completed are"
    )
    return (
        "the copy starts its search over: SageMaker refuses a warm start from a parent whose "
        "training definition differs in EnableInterContainerTrafficEncryption, so it cannot "
        f"continue from {name}{f' or its own parents ({also})' if also else ''}; {cost} not reused"
    )


def build_encrypted_copy(
    api: JobApi,
    described: Mapping[str, Any],
    tags: Mapping[str, str],
    service_model: ServiceModel,
    *,
    metric_definitions_sent: Sequence[bool | None] = (),
) -> EncryptedCopy:
    """The Create* request for an encrypted copy of the described job (any kind in jobs.JOB_APIS).

    Every spec gets the flag at `api.flag_path` set to True; the name is
    `relaunch_name`; the tags are `carried_tags`. A tuning job's WarmStartConfig is dropped: the
    service refuses a warm start whose training definition differs from its parents' outside
    AlgorithmSpecification, InputDataConfig, OutputDataConfig, StaticHyperParameters, RoleArn,
    ResourceConfig, StoppingCondition, VpcConfig, EnableManagedSpotTraining and CheckpointConfig
    (its error text, quoted in SageMaker Python SDK issue 3693). The original's parents match the
    original (the service checked them when it accepted it), so each of them, like the original
    itself, differs from the encrypted copy in EnableInterContainerTrafficEncryption.
    """
    request = _model_copy(api, described, service_model)
    notes: list[str] = []
    _encrypt_specs(api, request, metric_definitions_sent)
    if api is TUNING_API:  # every tuning copy starts its search over, with or without a warm start
        notes.append(_drop_warm_start(request, described, api))
    if api.in_place:  # the same resource, updated: its own name, and Update* takes no tags
        return EncryptedCopy(request)
    original = described[api.name_member]
    request[api.name_member] = relaunch_name(original, api.name_max_length)
    request["Tags"], linked = carried_tags(tags, original)
    if not linked:
        notes.append(
            f"the copy carries the original's {MAX_USER_TAGS} tags, the most SageMaker allows, so "
            f"it has no {RELAUNCHED_FROM_TAG} tag: the link to {original} is in this alert and "
            "the guard's ledger"
        )
    return EncryptedCopy(request, tuple(notes), linked)
