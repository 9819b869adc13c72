"""The real SageMaker's documented request rules that moto and botocore's validator do not enforce.

moto accepts nearly any request, and botocore's client-side validator checks types, required
members and minimum lengths only (no maximum lengths, no cross-field rules). The guard's encrypted
re-launch is a copy built from DescribeTrainingJob / DescribeHyperParameterTuningJob, so the
embedded SageMaker has to refuse what the real service refuses, or the copy is proven against a
service more lenient than AWS.

`RULES` is the one table: per rule an id, the operations it applies to, what it refuses, the
error code, the message shape the service returns (a `str.format` template) and a public source.
Each rule's `enforce` function is called by the SageMaker extension's CreateTrainingJob,
CreateHyperParameterTuningJob, CreateProcessingJob, CreateAutoMLJob(V2) and AddTags handlers through
`check`, and raises moto's
`ValidationError` (error code `ValidationException`) with the rule's message.

Where a message below is the service's own text, the comment above the rule says where it is
quoted. Where no public quote was found, the message is marked `unverified` in the comment: the
rule itself is documented, only the wording is the sandbox's.

Message shapes of the AWS JSON protocol's own constraint checks (length, pattern) follow the form
every AWS JSON service returns, e.g. "1 validation error detected: Value '…' at
'tags.6.member.value' failed to satisfy constraint: Member must satisfy regular expression
pattern: …" (quoted in
https://github.com/SWO-GS/auto-tag/issues/90); the member path is lowerCamelCase.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape
from moto.sagemaker.exceptions import ValidationError

from sandbox.builtin_algorithms import builtin_algorithm

__all__ = [
    "ALLOWED_WARM_START_CHANGES",
    "MAX_AUTOML_JOB_NAME_LENGTH",
    "MAX_PROCESSING_JOB_NAME_LENGTH",
    "MAX_TAGS",
    "MAX_TRAINING_JOB_NAME_LENGTH",
    "MAX_TUNING_JOB_NAME_LENGTH",
    "MAX_WARM_START_PARENTS",
    "READ_ONLY_DOCUMENTATION",
    "RULES",
    "RuleContext",
    "ServiceRule",
    "check",
    "read_only_members",
    "rule",
    "tag_list_value",
]

CREATE_TRAINING_JOB = "CreateTrainingJob"
CREATE_TUNING_JOB = "CreateHyperParameterTuningJob"
ADD_TAGS = "AddTags"
CREATE_PROCESSING_JOB = "CreateProcessingJob"
CREATE_AUTOML_JOB = "CreateAutoMLJob"
CREATE_AUTOML_JOB_V2 = "CreateAutoMLJobV2"

MAX_TAGS = 50  # user tags per SageMaker resource; `aws:` tags do not count
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
RESERVED_TAG_PREFIX = "aws:"
MAX_TRAINING_JOB_NAME_LENGTH = 63
MAX_TUNING_JOB_NAME_LENGTH = 32
MAX_PROCESSING_JOB_NAME_LENGTH = 63
MAX_AUTOML_JOB_NAME_LENGTH = 32
MAX_WARM_START_PARENTS = 5
# Warm start reads the parents' finished evaluations: the developer guide's "Warm Start Tuning
# Restrictions" require every parent to be in a terminal state (Completed, Stopped, or Failed).
WARM_START_PARENT_STATUSES = ("Completed", "Stopped", "Failed")
# The TrainingJobDefinition fields a warm-start tuning job may change from its parents, in the
# order of the service's error text (sagemaker-python-sdk issue 3693, quoted below).
ALLOWED_WARM_START_CHANGES = (
    "AlgorithmSpecification",
    "InputDataConfig",
    "OutputDataConfig",
    "StaticHyperParameters",
    "RoleArn",
    "ResourceConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
)
# What DescribeHyperParameterTuningJob reports for a definition member the request left out, so
# that "absent" and the default compare equal (SageMaker reports the three flags as false).
_DEFINITION_DEFAULTS: Mapping[str, Any] = {
    "EnableNetworkIsolation": False,
    "EnableInterContainerTrafficEncryption": False,
    "EnableManagedSpotTraining": False,
}
# InstancePreferences "is mutually exclusive with InstanceType, InstanceGroups,
# InstancePlacementConfig, and EnableManagedSpotTraining" (botocore model, ResourceConfig).
_EXCLUSIVE_WITH_INSTANCE_PREFERENCES = ("InstanceType", "InstanceGroups", "InstancePlacementConfig")

# The class of output-only members: the botocore model documents each one as "This field is
# read-only and isn't accepted in CreateTrainingJob requests." (ResourceConfig.SelectedInstanceType
# and .SelectedInstanceCount today; ProcessingClusterConfig has the same for CreateProcessingJob).
# Matched on the documentation with its HTML tags removed.
READ_ONLY_DOCUMENTATION = re.compile(
    r"\bread-only\b[^.]*?\b(?:isn't|isn\u2019t|is not|not) accepted in "  # \u2019: a curly apostrophe
    r"(?P<operation>Create\w+) requests",
    re.IGNORECASE,
)
_HTML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class RuleContext:
    """What a rule sees of a request.

    operation: the SageMaker operation (`CreateTrainingJob`, `CreateHyperParameterTuningJob`,
        `CreateProcessingJob`, `CreateAutoMLJob`, `CreateAutoMLJobV2`, `AddTags`); request: its
        parameters as sent; tuning_job: the DescribeHyperParameterTuningJob response of a tuning
        job by name, or None if there is none;
        current_tags: for AddTags, the tags the resource already has.
    """

    operation: str
    request: Mapping[str, Any]
    tuning_job: Callable[[str], Mapping[str, Any] | None] = lambda name: None
    current_tags: Sequence[Mapping[str, str]] = ()


@dataclass(frozen=True)
class ServiceRule:
    """One rule of the real SageMaker. `enforce(rule, context)` raises `rule.refuse(...)`."""

    id: str
    operations: frozenset[str]
    refuses: str  # one sentence
    error_code: str
    message: str  # str.format template of the service's message
    source: str  # public URL
    enforce: Callable[[ServiceRule, RuleContext], None] = field(repr=False)

    def refuse(self, **values: Any) -> ValidationError:
        """The exception the service answers with; `values` fill the message template."""
        if self.error_code != "ValidationException":
            raise NotImplementedError(f"no moto exception for {self.error_code}")
        return ValidationError(self.message.format(**values))


@functools.cache
def _model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


# --- enforcement functions ------------------------------------------------------------------


def _training_job_name_length(rule: ServiceRule, context: RuleContext) -> None:
    name = context.request.get("TrainingJobName") or ""
    if len(name) > MAX_TRAINING_JOB_NAME_LENGTH:
        raise rule.refuse(value=name)


def _tuning_job_name_length(rule: ServiceRule, context: RuleContext) -> None:
    name = context.request.get("HyperParameterTuningJobName") or ""
    if len(name) > MAX_TUNING_JOB_NAME_LENGTH:
        raise rule.refuse(value=name)


def _name_length(parameter: str, maximum: int) -> Callable[[ServiceRule, RuleContext], None]:
    """The enforcement of a job name's maximum length (the API reference's Length Constraints)."""

    def enforce(rule: ServiceRule, context: RuleContext) -> None:
        name = context.request.get(parameter) or ""
        if len(name) > maximum:
            raise rule.refuse(value=name)

    return enforce


def _is_reserved(key: str) -> bool:
    # AWS reserves the prefix in any letter case (AWS tagging best practices, "Tag naming
    # limits and requirements"); being stricter than SageMaker here costs nothing.
    return key.casefold().startswith(RESERVED_TAG_PREFIX)


def _reserved_tag_keys(rule: ServiceRule, context: RuleContext) -> None:
    for tag in context.request.get("Tags") or []:
        key = tag.get("Key") or ""
        if _is_reserved(key):
            raise rule.refuse(key=key)


def _tag_lengths(rule: ServiceRule, context: RuleContext) -> None:
    for index, tag in enumerate(context.request.get("Tags") or [], start=1):
        key, value = tag.get("Key") or "", tag.get("Value") or ""
        if len(key) > MAX_TAG_KEY_LENGTH:
            raise rule.refuse(value=key, at=f"tags.{index}.member.key", max=MAX_TAG_KEY_LENGTH)
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise rule.refuse(
                value=value, at=f"tags.{index}.member.value", max=MAX_TAG_VALUE_LENGTH
            )


def tag_list_value(tags: Sequence[Mapping[str, str]]) -> str:
    """A tag list as the tags-max-50 message shows it (the service renders its Java objects)."""
    return "[" + ", ".join(f"Tag(Key={t.get('Key')}, Value={t.get('Value')})" for t in tags) + "]"


def _tag_count(rule: ServiceRule, context: RuleContext) -> None:
    tags = list(context.request.get("Tags") or [])
    if len(tags) > MAX_TAGS:  # the TagList shape itself holds at most 50 members
        raise rule.refuse(value=tag_list_value(tags))
    if context.operation != ADD_TAGS:
        return
    # AddTags adds new keys and overwrites existing ones: what counts is the resource's user tags
    # after the call.
    keys = {t["Key"] for t in context.current_tags if not _is_reserved(t["Key"])}
    keys.update(t["Key"] for t in tags if not _is_reserved(t["Key"]))
    if len(keys) > MAX_TAGS:
        raise rule.refuse(value=tag_list_value(tags))


@functools.cache
def _read_only_paths(operation: str) -> tuple[tuple[str, str, str], ...]:
    """(structure shape name, member name, path) of each read-only member reachable from the
    operation's input shape, by every path; path is dotted, with `[]` for list items."""
    found: list[tuple[str, str, str]] = []

    def walk(shape: Shape, path: str, ancestors: frozenset[str]) -> None:
        if shape.type_name == "list":
            walk(shape.member, path + "[]", ancestors)
            return
        if shape.type_name == "map":
            walk(shape.value, path + "{}", ancestors)
            return
        if shape.type_name != "structure" or shape.name in ancestors:  # recursive shapes
            return
        for name, member in shape.members.items():
            member_path = f"{path}.{name}" if path else name
            documentation = _HTML_TAG.sub("", member.documentation or "")
            if READ_ONLY_DOCUMENTATION.search(documentation):
                found.append((shape.name, name, member_path))
            else:
                walk(member, member_path, ancestors | {shape.name})

    walk(_model().operation_model(operation).input_shape, "", frozenset())
    return tuple(found)


def read_only_members(operation: str) -> list[str]:
    """Paths of the members of `operation`'s input that the botocore model documents as
    read-only / not accepted in Create requests, e.g. `ResourceConfig.SelectedInstanceType`."""
    return sorted(path for _, _, path in _read_only_paths(operation))


def _set_members(value: Any, shape: Shape, path: str) -> Iterator[tuple[Shape, str, str]]:
    """(structure shape, member name, path) of every member set in `value`, recursively."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                continue
            member_path = f"{path}.{name}" if path else name
            yield shape, name, member_path
            yield from _set_members(member_value, member, member_path)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _set_members(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _set_members(item, shape.value, f"{path}.{key}")


def _read_only_members(rule: ServiceRule, context: RuleContext) -> None:
    read_only = {(shape, member) for shape, member, _ in _read_only_paths(context.operation)}
    if not read_only:
        return
    input_shape = _model().operation_model(context.operation).input_shape
    for shape, member, path in _set_members(context.request, input_shape, ""):
        if (shape.name, member) in read_only:
            raise rule.refuse(path=path, operation=context.operation)


def _algorithm_specifications(context: RuleContext) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, AlgorithmSpecification) of the training job or of each tuning definition."""
    request = context.request
    if context.operation == CREATE_TRAINING_JOB:
        yield "AlgorithmSpecification", request.get("AlgorithmSpecification") or {}
        return
    for path, definition in _tuning_definitions(request):
        yield f"{path}.AlgorithmSpecification", definition.get("AlgorithmSpecification") or {}


def _tuning_definitions(request: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    definitions: list[tuple[str, Mapping[str, Any]]] = []
    if request.get("TrainingJobDefinition"):
        definitions.append(("TrainingJobDefinition", request["TrainingJobDefinition"]))
    for index, definition in enumerate(request.get("TrainingJobDefinitions") or []):
        definitions.append((f"TrainingJobDefinitions[{index}]", definition))
    return definitions


def _algorithm_name_or_image(rule: ServiceRule, context: RuleContext) -> None:
    for path, spec in _algorithm_specifications(context):
        if spec.get("AlgorithmName") and spec.get("TrainingImage"):
            raise rule.refuse(path=path)


def _builtin_metric_definitions(rule: ServiceRule, context: RuleContext) -> None:
    for _, spec in _algorithm_specifications(context):
        if spec.get("MetricDefinitions") and builtin_algorithm(spec.get("TrainingImage")):
            raise rule.refuse()


def _algorithm_resource_metric_definitions(rule: ServiceRule, context: RuleContext) -> None:
    for _, spec in _algorithm_specifications(context):
        if spec.get("MetricDefinitions") and spec.get("AlgorithmName"):
            raise rule.refuse(algorithm=spec["AlgorithmName"])


def _resource_configs(context: RuleContext) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """(path, ResourceConfig, EnableManagedSpotTraining) of the job or of each definition."""
    request = context.request
    if context.operation == CREATE_TRAINING_JOB:
        yield (
            "ResourceConfig",
            request.get("ResourceConfig") or {},
            request.get("EnableManagedSpotTraining"),
        )
        return
    for path, definition in _tuning_definitions(request):
        yield (
            f"{path}.ResourceConfig",
            definition.get("ResourceConfig") or {},
            definition.get("EnableManagedSpotTraining"),
        )


def _instance_preferences(rule: ServiceRule, context: RuleContext) -> None:
    for path, config, spot in _resource_configs(context):
        if not config.get("InstancePreferences"):
            continue
        conflicting = [m for m in _EXCLUSIVE_WITH_INSTANCE_PREFERENCES if config.get(m)]
        # An explicit false spot flag asks for no spot capacity: it does not conflict.
        if spot:
            conflicting.append("EnableManagedSpotTraining")
        if conflicting:
            raise rule.refuse(path=path, members=", ".join(conflicting))


def _parents(context: RuleContext) -> list[str]:
    warm_start = context.request.get("WarmStartConfig") or {}
    return [
        parent.get("HyperParameterTuningJobName") or ""
        for parent in warm_start.get("ParentHyperParameterTuningJobs") or []
    ]


def _warm_start_parent_count(rule: ServiceRule, context: RuleContext) -> None:
    parents = (context.request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs")
    if parents and len(parents) > MAX_WARM_START_PARENTS:
        value = json.dumps(parents, separators=(",", ":"))
        raise rule.refuse(value=value)


def _warm_start_parents_ended(rule: ServiceRule, context: RuleContext) -> None:
    for name in _parents(context):
        parent = context.tuning_job(name)
        if parent is None:
            raise ValidationError("Requested resource not found.")
        status = parent.get("HyperParameterTuningJobStatus")
        if status not in WARM_START_PARENT_STATUSES:
            raise rule.refuse(name=parent.get("HyperParameterTuningJobName", name), status=status)


def _normalised(definition: Mapping[str, Any], member: str) -> Any:
    value = definition.get(member)
    if value is None or value == {} or value == []:
        return _DEFINITION_DEFAULTS.get(member)
    return value


def _changed_members(new: Mapping[str, Any], parent: Mapping[str, Any]) -> list[str]:
    members = set(new) | set(parent) | set(_DEFINITION_DEFAULTS)
    return sorted(
        member
        for member in members - set(ALLOWED_WARM_START_CHANGES)
        if _normalised(new, member) != _normalised(parent, member)
    )


def _warm_start_definition(rule: ServiceRule, context: RuleContext) -> None:
    new_definitions = [definition for _, definition in _tuning_definitions(context.request)]
    for name in _parents(context):
        parent = context.tuning_job(name)
        if parent is None:
            continue  # warm-start-parent-ended refuses it
        parent_definitions = [definition for _, definition in _tuning_definitions(parent)]
        # Definitions pair up in order (a single TrainingJobDefinition with the parent's).
        for new, old in zip(new_definitions, parent_definitions, strict=False):
            if _changed_members(new, old):
                raise rule.refuse()


# --- the table ------------------------------------------------------------------------------

_CREATE = frozenset({CREATE_TRAINING_JOB, CREATE_TUNING_JOB})
# Every job creation the embedded SageMaker emulates; tags and read-only members are checked on all.
_JOB_CREATES = _CREATE | {CREATE_PROCESSING_JOB, CREATE_AUTOML_JOB, CREATE_AUTOML_JOB_V2}
_TAGGING = _JOB_CREATES | {ADD_TAGS}
_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference"
_GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg"

RULES: tuple[ServiceRule, ...] = (
    ServiceRule(
        id="training-job-name-max-63",
        operations=frozenset({CREATE_TRAINING_JOB}),
        refuses="A training job name longer than 63 characters.",
        error_code="ValidationException",
        # The JSON protocol's length constraint message (see the module docstring).
        message=(
            "1 validation error detected: Value '{value}' at 'trainingJobName' failed to satisfy "
            "constraint: Member must have length less than or equal to "
            f"{MAX_TRAINING_JOB_NAME_LENGTH}"
        ),
        source=(
            f"{_API}/API_CreateTrainingJob.html#sagemaker-CreateTrainingJob-request-TrainingJobName"
        ),
        enforce=_training_job_name_length,
    ),
    ServiceRule(
        id="tuning-job-name-max-32",
        operations=frozenset({CREATE_TUNING_JOB}),
        refuses="A hyperparameter tuning job name longer than 32 characters.",
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at 'hyperParameterTuningJobName' failed "
            "to satisfy constraint: Member must have length less than or equal to "
            f"{MAX_TUNING_JOB_NAME_LENGTH}"
        ),
        source=(
            f"{_API}/API_CreateHyperParameterTuningJob.html"
            "#sagemaker-CreateHyperParameterTuningJob-request-HyperParameterTuningJobName"
        ),
        enforce=_tuning_job_name_length,
    ),
    ServiceRule(
        id="processing-job-name-max-63",
        operations=frozenset({CREATE_PROCESSING_JOB}),
        refuses="A processing job name longer than 63 characters.",
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at 'processingJobName' failed to satisfy "
            "constraint: Member must have length less than or equal to "
            f"{MAX_PROCESSING_JOB_NAME_LENGTH}"
        ),
        source=(
            f"{_API}/API_CreateProcessingJob.html"
            "#sagemaker-CreateProcessingJob-request-ProcessingJobName"
        ),
        enforce=_name_length("ProcessingJobName", MAX_PROCESSING_JOB_NAME_LENGTH),
    ),
    # CreateAutoMLJob and CreateAutoMLJobV2 share the AutoMLJobName shape (1 to 32 characters).
    ServiceRule(
        id="automl-job-name-max-32",
        operations=frozenset({CREATE_AUTOML_JOB, CREATE_AUTOML_JOB_V2}),
        refuses="An AutoML job name (V1 or V2) longer than 32 characters.",
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at 'autoMLJobName' failed to satisfy "
            "constraint: Member must have length less than or equal to "
            f"{MAX_AUTOML_JOB_NAME_LENGTH}"
        ),
        source=f"{_API}/API_CreateAutoMLJobV2.html#sagemaker-CreateAutoMLJobV2-request-AutoMLJobName",
        enforce=_name_length("AutoMLJobName", MAX_AUTOML_JOB_NAME_LENGTH),
    ),
    # SageMaker's own text for the reserved prefix, quoted from its DeleteTags answer in
    # https://github.com/aws/sagemaker-python-sdk/issues/1301 ("System prefix 'aws:' reserved for
    # AWS usage in tag key: aws:cloudformation:stack-name"); Create* and AddTags use the same check.
    ServiceRule(
        id="tags-reserved-aws-prefix",
        operations=_TAGGING,
        refuses="A tag key that starts with the reserved prefix `aws:`.",
        error_code="ValidationException",
        message="System prefix 'aws:' reserved for AWS usage in tag key: {key}",
        source="https://github.com/aws/sagemaker-python-sdk/issues/1301",
        enforce=_reserved_tag_keys,
    ),
    # Searched the issues and docs corpora for "Member must have length less than or equal to 50"
    # with tags and for "TagLimitExceeded": no SageMaker quote. The developer guide states the
    # limit ("SageMaker AI resources have a 50 tag limit. If the number of tags added to a resource
    # exceeds 50, SageMaker AI returns an error") without its text, and the Tags member's TagList
    # shape has max 50 in the botocore model, whose violation the JSON protocol reports in the
    # constraint form used here. The AddTags total (existing user tags plus new keys) gets the same
    # form: unverified wording.
    ServiceRule(
        id="tags-max-50",
        operations=_TAGGING,
        refuses=(
            "More than 50 user tags on a resource (`aws:` keys do not count); for AddTags, the "
            "resource's user tags plus the new keys."
        ),
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TAGS}"
        ),
        source=f"{_GUIDE}/custom-tags.html",
        enforce=_tag_count,
    ),
    ServiceRule(
        id="tags-key-value-length",
        operations=_TAGGING,
        refuses="A tag key longer than 128 characters or a tag value longer than 256.",
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at '{at}' failed to satisfy "
            "constraint: Member must have length less than or equal to {max}"
        ),
        source=f"{_API}/API_Tag.html",
        enforce=_tag_lengths,
    ),
    # Unverified wording; the rule is the model's documentation of the member.
    ServiceRule(
        id="read-only-members",
        operations=_JOB_CREATES,
        refuses=(
            "A member of the Create input (at any depth) that the botocore model documents as "
            "read-only / not accepted in Create requests, e.g. ResourceConfig.SelectedInstanceType."
        ),
        error_code="ValidationException",
        message="{path} is read-only and isn't accepted in {operation} requests.",
        source=f"{_API}/API_ResourceConfig.html#sagemaker-Type-ResourceConfig-SelectedInstanceType",
        enforce=_read_only_members,
    ),
    # Unverified wording.
    ServiceRule(
        id="algorithm-name-xor-training-image",
        operations=_CREATE,
        refuses="An AlgorithmSpecification that names both AlgorithmName and TrainingImage.",
        error_code="ValidationException",
        message=(
            "{path}: AlgorithmName and TrainingImage are mutually exclusive. Specify only one of "
            "them."
        ),
        source=(
            f"{_API}/API_AlgorithmSpecification.html"
            "#sagemaker-Type-AlgorithmSpecification-AlgorithmName"
        ),
        enforce=_algorithm_name_or_image,
    ),
    # Wording kept from the extension's earlier rule; no public quote found (unverified).
    ServiceRule(
        id="builtin-algorithm-metric-definitions",
        operations=_CREATE,
        refuses=(
            "MetricDefinitions for a built-in algorithm image (SageMaker's algorithm registry "
            "and repository), whose metrics SageMaker defines itself."
        ),
        error_code="ValidationException",
        message=(
            "You can't override the metric definitions for Amazon SageMaker algorithms. "
            "Please retry the request without specifying metric definitions."
        ),
        source=f"{_GUIDE}/automatic-model-tuning-define-metrics-variables.html",
        enforce=_builtin_metric_definitions,
    ),
    # An algorithm resource carries its metrics in TrainingSpecification.MetricDefinitions
    # (CreateAlgorithm). Unverified wording.
    ServiceRule(
        id="algorithm-resource-metric-definitions",
        operations=_CREATE,
        refuses="MetricDefinitions together with an AlgorithmName (an algorithm resource).",
        error_code="ValidationException",
        message=(
            "You can't override the metric definitions of algorithm {algorithm}. "
            "Please retry the request without specifying metric definitions."
        ),
        source=(
            f"{_API}/API_TrainingSpecification.html"
            "#sagemaker-Type-TrainingSpecification-MetricDefinitions"
        ),
        enforce=_algorithm_resource_metric_definitions,
    ),
    # Unverified wording; the rule is the botocore model's documentation of InstancePreferences.
    ServiceRule(
        id="instance-preferences-exclusive",
        operations=_CREATE,
        refuses=(
            "ResourceConfig.InstancePreferences together with InstanceType, InstanceGroups, "
            "InstancePlacementConfig or EnableManagedSpotTraining=true."
        ),
        error_code="ValidationException",
        message=(
            "{path}.InstancePreferences is mutually exclusive with InstanceType, InstanceGroups, "
            "InstancePlacementConfig, and EnableManagedSpotTraining; the request also sets "
            "{members}."
        ),
        source=f"{_API}/API_ResourceConfig.html#sagemaker-Type-ResourceConfig-InstancePreferences",
        enforce=_instance_preferences,
    ),
    ServiceRule(
        id="warm-start-max-5-parents",
        operations=frozenset({CREATE_TUNING_JOB}),
        refuses="A WarmStartConfig with more than 5 ParentHyperParameterTuningJobs.",
        error_code="ValidationException",
        message=(
            "1 validation error detected: Value '{value}' at "
            "'warmStartConfig.parentHyperParameterTuningJobs' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_WARM_START_PARENTS}"
        ),
        source=f"{_API}/API_HyperParameterTuningJobWarmStartConfig.html",
        enforce=_warm_start_parent_count,
    ),
    # The developer guide allows Completed, Stopped, or Failed parents; a parent that does not
    # exist is "Requested resource not found." like every other missing SageMaker resource.
    # Unverified wording for the status.
    ServiceRule(
        id="warm-start-parent-ended",
        operations=frozenset({CREATE_TUNING_JOB}),
        refuses="A warm-start parent that does not exist or is not Completed, Stopped or Failed.",
        error_code="ValidationException",
        message=(
            "Parent tuning job {name} is in status {status}; warm start needs Completed, "
            "Stopped or Failed parents."
        ),
        source=f"{_GUIDE}/automatic-model-tuning-warm-start.html#warm-start-tuning-restrictions",
        enforce=_warm_start_parents_ended,
    ),
    # The service's own text, quoted in https://github.com/aws/sagemaker-python-sdk/issues/3693
    # ("Failed to invoke sagemaker:CreateHyperParameterTuningJob. Error Details: Only the following
    # fields in TrainingJobDefinition are allowed to change: [...]") for a definition whose
    # Environment differed from its parent's.
    ServiceRule(
        id="warm-start-definition-unchanged",
        operations=frozenset({CREATE_TUNING_JOB}),
        refuses=(
            "A warm-start training job definition that differs from its parent's outside "
            "the ten fields the service lets change (so not in "
            "EnableInterContainerTrafficEncryption)."
        ),
        error_code="ValidationException",
        message=(
            "Only the following fields in TrainingJobDefinition are allowed to change: ["
            + ", ".join(f[0].lower() + f[1:] for f in ALLOWED_WARM_START_CHANGES)
            + "]."
        ),
        source="https://github.com/aws/sagemaker-python-sdk/issues/3693",
        enforce=_warm_start_definition,
    ),
)

# --- model monitoring (sandbox/monitoring_extension.py) --------------------------------------
#
# Kept in one block, after the table, so that it merges apart from other kinds' rules; the
# entries join `RULES` like every other rule. Monitoring rules need a lookup of job definitions,
# so `check_monitoring` (not `check`) applies them, with a `MonitoringRuleContext`.
#
# No rule for changing a job definition: definitions are immutable, there is no
# Update*JobDefinition API (a new definition has to be created and the schedule pointed at it),
# so there is nothing to refuse. No rule for UpdateMonitoringSchedule changing MonitoringType
# either: neither the API reference nor the botocore model restricts it, and the CloudFormation
# reference lists MonitoringScheduleConfig.MonitoringType as "Update requires: No interruption"
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-sagemaker-monitoringschedule-monitoringscheduleconfig.html),
# i.e. updated in place; the new config is validated like a create's (definition-exists).

CREATE_MONITORING_SCHEDULE = "CreateMonitoringSchedule"
UPDATE_MONITORING_SCHEDULE = "UpdateMonitoringSchedule"
MONITORING_TYPES = ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
CREATE_MONITORING_JOB_DEFINITIONS = frozenset(f"Create{kind}JobDefinition" for kind in MONITORING_TYPES)
MAX_MONITORING_NAME_LENGTH = 63  # MonitoringScheduleName and MonitoringJobDefinitionName shapes
# The shapes' pattern, anchored (the API reference writes it ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$).
MONITORING_NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


@dataclass(frozen=True)
class MonitoringRuleContext(RuleContext):
    """A RuleContext that can also look up a monitoring job definition:
    `job_definition(monitoring_type, name)` is its Describe*JobDefinition response, or None."""

    job_definition: Callable[[str, str], Mapping[str, Any] | None] = lambda monitoring_type, name: None


def _monitoring_name(rule: ServiceRule, context: RuleContext, parameter: str) -> None:
    name = context.request.get(parameter)
    if not isinstance(name, str):
        return
    at = parameter[:1].lower() + parameter[1:]
    if len(name) > MAX_MONITORING_NAME_LENGTH:
        constraint = f"Member must have length less than or equal to {MAX_MONITORING_NAME_LENGTH}"
        raise rule.refuse(value=name, at=at, constraint=constraint)
    if not re.fullmatch(MONITORING_NAME_PATTERN, name):
        constraint = f"Member must satisfy regular expression pattern: {MONITORING_NAME_PATTERN}"
        raise rule.refuse(value=name, at=at, constraint=constraint)


def _monitoring_schedule_name(rule: ServiceRule, context: RuleContext) -> None:
    _monitoring_name(rule, context, "MonitoringScheduleName")


def _monitoring_job_definition_name(rule: ServiceRule, context: RuleContext) -> None:
    _monitoring_name(rule, context, "JobDefinitionName")


def _monitoring_one_definition(rule: ServiceRule, context: RuleContext) -> None:
    config = context.request.get("MonitoringScheduleConfig") or {}
    inline, named = config.get("MonitoringJobDefinition"), config.get("MonitoringJobDefinitionName")
    if bool(inline) == bool(named):
        raise rule.refuse(operation=context.operation)


def _monitoring_definition_exists(rule: ServiceRule, context: RuleContext) -> None:
    config = context.request.get("MonitoringScheduleConfig") or {}
    name = config.get("MonitoringJobDefinitionName")
    if not name:
        return  # an inline definition (monitoring-schedule-one-definition refuses neither)
    monitoring_type = config.get("MonitoringType") or ""
    lookup = context.job_definition if isinstance(context, MonitoringRuleContext) else None
    if monitoring_type not in MONITORING_TYPES or lookup is None or lookup(monitoring_type, name) is None:
        raise rule.refuse(name=name, type=monitoring_type or "null")


_MONITORING_SCHEDULE_WRITES = frozenset({CREATE_MONITORING_SCHEDULE, UPDATE_MONITORING_SCHEDULE})
# Every operation a monitoring rule applies to.
MONITORING_OPERATIONS = _MONITORING_SCHEDULE_WRITES | CREATE_MONITORING_JOB_DEFINITIONS

RULES += (
    # The JSON protocol's constraint messages (see the module docstring), for the name's length
    # and pattern; the service checks both before anything else.
    ServiceRule(
        id="monitoring-schedule-name-max-63",
        operations=frozenset({CREATE_MONITORING_SCHEDULE}),
        refuses="A monitoring schedule name longer than 63 characters or outside its pattern.",
        error_code="ValidationException",
        message="1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}",
        source=(
            f"{_API}/API_CreateMonitoringSchedule.html"
            "#sagemaker-CreateMonitoringSchedule-request-MonitoringScheduleName"
        ),
        enforce=_monitoring_schedule_name,
    ),
    ServiceRule(
        id="monitoring-job-definition-name-max-63",
        operations=CREATE_MONITORING_JOB_DEFINITIONS,
        refuses="A monitoring job definition name longer than 63 characters or outside its pattern.",
        error_code="ValidationException",
        message="1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}",
        source=(
            f"{_API}/API_CreateDataQualityJobDefinition.html"
            "#sagemaker-CreateDataQualityJobDefinition-request-JobDefinitionName"
        ),
        enforce=_monitoring_job_definition_name,
    ),
    # MonitoringScheduleConfig documents MonitoringJobDefinition and MonitoringJobDefinitionName as
    # the two ways to say what runs (each "Required: No"); the service needs exactly one.
    # Unverified wording.
    ServiceRule(
        id="monitoring-schedule-one-definition",
        operations=_MONITORING_SCHEDULE_WRITES,
        refuses=(
            "A MonitoringScheduleConfig with both an inline MonitoringJobDefinition and a "
            "MonitoringJobDefinitionName, or with neither."
        ),
        error_code="ValidationException",
        message=(
            "{operation}: specify exactly one of MonitoringScheduleConfig.MonitoringJobDefinition "
            "and MonitoringScheduleConfig.MonitoringJobDefinitionName."
        ),
        source=f"{_API}/API_MonitoringScheduleConfig.html",
        enforce=_monitoring_one_definition,
    ),
    # A schedule that names a definition runs that definition: it must exist, as a definition of
    # MonitoringType (the type says which of the four kinds to look in). CreateMonitoringSchedule
    # lists no ResourceNotFound among its errors (ResourceInUse, ResourceLimitExceeded), hence
    # ValidationException. Unverified wording: no public quote found (searched the issues, docs
    # and pages corpora).
    ServiceRule(
        id="monitoring-schedule-definition-exists",
        operations=_MONITORING_SCHEDULE_WRITES,
        refuses=(
            "A MonitoringJobDefinitionName that is not the name of an existing job definition of "
            "the config's MonitoringType (or a name without a MonitoringType)."
        ),
        error_code="ValidationException",
        message="Could not find a monitoring job definition with name {name} and monitoring type {type}.",
        source=f"{_API}/API_MonitoringScheduleConfig.html",
        enforce=_monitoring_definition_exists,
    ),
)


def check_monitoring(
    operation: str,
    request: Mapping[str, Any],
    *,
    job_definition: Callable[[str, str], Mapping[str, Any] | None] = lambda monitoring_type, name: None,
) -> None:
    """`check` for the model-monitoring operations: every rule of `operation`, in table order,
    with `job_definition(monitoring_type, name)` to look definitions up."""
    context = MonitoringRuleContext(operation, request, job_definition=job_definition)
    for entry in RULES:
        if operation in entry.operations:
            entry.enforce(entry, context)


_BY_ID = {r.id: r for r in RULES}


def rule(rule_id: str) -> ServiceRule:
    """The table entry `rule_id`; KeyError for an unknown id."""
    return _BY_ID[rule_id]


def check(
    operation: str,
    request: Mapping[str, Any],
    *,
    tuning_job: Callable[[str], Mapping[str, Any] | None] = lambda name: None,
    current_tags: Sequence[Mapping[str, str]] = (),
) -> None:
    """Apply every rule of `operation` to `request`, in table order.

    Raises moto's `ValidationError` (ValidationException) with the first refusing rule's
    message; returns None when the real service would accept the request as far as the table
    knows. `tuning_job(name)` answers DescribeHyperParameterTuningJob for warm-start parents;
    `current_tags` are the resource's tags before an AddTags.
    """
    context = RuleContext(operation, request, tuning_job, current_tags)
    for entry in RULES:
        if operation in entry.operations:
            entry.enforce(entry, context)
