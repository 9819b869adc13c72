"""Build the encrypted copy of a job from its description, driven by the botocore service model.

The fields copied are the Create operation's inputs that the Describe operation returns, walked
recursively against the Create input shapes, so a field SageMaker adds tomorrow is carried over
by the boto3 in the Lambda runtime without a change here. What Describe returns that Create
rejects is handled below, one explicit rule each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ict_guard.jobs import GUARD_TAG_PREFIX, RELAUNCHED_FROM_TAG, RESERVED_TAG_PREFIX

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

TRAINING_NAME_MAX = 63  # TrainingJobName: 1-63 characters
CLONE_MARK = "-enc-"


def relaunch_name(original: str, max_length: int = TRAINING_NAME_MAX) -> str:
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


def build_encrypted_training_clone(
    described: Mapping[str, Any],
    tags: Mapping[str, str],
    service_model: ServiceModel,
    *,
    metric_definitions_sent: bool | None,
) -> dict[str, Any]:
    """The CreateTrainingJob request for an encrypted copy of the described training job."""
    create_input = service_model.operation_model("CreateTrainingJob").input_shape
    request: dict[str, Any] = {}
    for name in cloneable_members(service_model, "CreateTrainingJob", "DescribeTrainingJob"):
        if name in described:
            value = filter_to_shape(described[name], create_input.members[name])
            if not _is_empty(value):
                request[name] = value

    original = described["TrainingJobName"]
    request["TrainingJobName"] = relaunch_name(original)
    request["EnableInterContainerTrafficEncryption"] = True
    request["Tags"] = carried_tags(tags, original)

    # ResourceConfig: InstanceGroups (heterogeneous clusters) cannot be combined with
    # InstanceType/InstanceCount, which Describe may still report for such jobs.
    resource = request.get("ResourceConfig")
    if resource and resource.get("InstanceGroups"):
        request["ResourceConfig"] = {
            k: v for k, v in resource.items() if k not in ("InstanceType", "InstanceCount")
        }

    # AlgorithmSpecification.MetricDefinitions: Describe returns the metrics that SageMaker
    # defines for its built-in algorithms and for algorithm resources (AlgorithmName), and
    # CreateTrainingJob refuses metric definitions for those. Keep them only when the caller
    # sent them or when CloudTrail did not record whether it did and there is no AlgorithmName.
    algorithm = request.get("AlgorithmSpecification")
    if algorithm and "MetricDefinitions" in algorithm:
        if algorithm.get("AlgorithmName") or metric_definitions_sent is False:
            request["AlgorithmSpecification"] = {
                k: v for k, v in algorithm.items() if k != "MetricDefinitions"
            }
    return request
