"""Before the stop: can the guard re-launch this job as the same workload?

Stopping comes first in the remediation, so a copy that SageMaker would refuse turns a running job
into a lost one. Everything known of the service is checked here, on the finished request, while
the original still runs: botocore's validator (the model's types, required members, unknown
members and minimum lengths and values; not enums, patterns or maximums), then the service's own
rules that the validator does not know. Each rule
has an id shared with the embedded SageMaker's rule table (`sandbox/service_rules.py`), which
enforces the same rules independently, with the error the service returns and the source.

What fails here is "unrelaunchable" and follows the deployment's UnrelaunchableJobAction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.model import ListShape, StructureShape
from botocore.validate import ParamValidator

from ict_guard.algorithms import builtin_algorithm
from ict_guard.clone import MAX_USER_TAGS, is_output_only, request_shape
from ict_guard.jobs import API_BY_KIND, RESERVED_TAG_PREFIX, Job, JobApi, get_path
from ict_guard.ledger import MAX_STORED_REQUEST_BYTES, stored_request_size

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

    from ict_guard.settings import Settings

MAX_WARM_START_PARENTS = 5
# Tag keys up to 128 characters, values up to 256 (API reference, Tag); botocore checks minimums only.
MAX_TAG_KEY, MAX_TAG_VALUE = 128, 256

# The embedded SageMaker's rules (sandbox/service_rules.py, by id) that this preflight checks, and
# the ones it need not check, with the reason. tests/unit/test_preflight.py keeps the two in step.
CHECKED_SERVICE_RULES = frozenset(
    {
        *(api.name_rule for api in API_BY_KIND.values()),  # each kind's name length
        "tags-reserved-aws-prefix",
        "tags-max-50",
        "tags-key-value-length",
        "read-only-members",
        "algorithm-name-xor-training-image",
        "builtin-algorithm-metric-definitions",
        "algorithm-resource-metric-definitions",
        "instance-preferences-exclusive",
        "warm-start-max-5-parents",
        "warm-start-definition-unchanged",
    }
)
UNCHECKED_SERVICE_RULES = {
    "warm-start-parent-ended": "the copy never carries a warm start (see clone.build_encrypted_copy)",
    "monitoring-schedule-one-definition": (
        "the guard's UpdateMonitoringSchedule keeps the one the schedule has: its inline definition, or the name "
        "of its definition replaced by the copy's (plan._definition_copy)"
    ),
    "monitoring-schedule-definition-exists": (
        "the guard points a schedule only at the definition copy the same plan creates first, of the schedule's "
        "own MonitoringType (plan._in_place_plan)"
    ),
}


@dataclass(frozen=True)
class Refusal:
    """One reason the re-launch would be refused or would not be the same workload."""

    rule: str  # the id in sandbox/service_rules.py, or a workload reason ("pipeline-step", ...)
    message: str

    def __str__(self) -> str:
        return self.message


def workload_refusals(job: Job, settings: Settings, *, session_chaining: bool | None = None) -> list[Refusal]:
    """Reasons this job must not be re-launched by the guard, whatever its copy looks like."""
    refusals = []
    if job.pipeline_execution_arn:
        step = job.pipeline_step_name or "its step"
        refusals.append(
            Refusal(
                "pipeline-step",
                f"started by SageMaker Pipelines (execution {job.pipeline_execution_arn}, step "
                f"{step}): a copy made outside the pipeline would leave the step failed and the "
                f"copy orphaned. Turn encryption on in the pipeline definition (step {step}: "
                "EnableInterContainerTrafficEncryption=True; SageMaker Python SDK: "
                "encrypt_inter_container_traffic=True) and start a new execution",
            )
        )
    if session_chaining:
        refusals.append(
            Refusal(
                "session-chaining",
                "created with SessionChainingConfig (EnableSessionTagChaining): its session tags "
                "belong to the creator's session, and Describe* does not return the "
                "setting, so a copy started by the guard would run as someone else",
            )
        )
    blocked = [role for role in job.role_arns if not settings.may_pass_role(role)]
    if blocked:
        refusals.append(
            Refusal(
                "role-outside-pattern",
                f"the guard may not pass its role {blocked[0]} (outside SageMakerRoleNamePattern "
                f"{settings.relaunch_role_pattern}): re-launch it with encryption by hand, or widen "
                "the pattern",
            )
        )
    return refusals


def preflight(api: JobApi, request: Mapping[str, Any], service_model: ServiceModel) -> list[Refusal]:
    """Everything the guard knows the service would refuse in this Create* request."""
    input_shape = request_shape(service_model, api.create_operation)
    refusals = [Refusal("botocore-validation", line.strip()) for line in _validation_errors(request, input_shape)]
    refusals += _tag_refusals(request.get("Tags") or [])
    refusals += [
        Refusal("read-only-members", f"{path} is output-only and refused by {api.create_operation}")
        for path in _output_only_present(request, input_shape)
    ]
    name = str(request.get(api.name_member, ""))
    if len(name) > api.name_max_length:
        refusals.append(Refusal(api.name_rule, f"{api.name_member} is longer than {api.name_max_length}"))
    for definition in api.specs(request):
        refusals += _algorithm_refusals(definition.get("AlgorithmSpecification") or {})
        refusals += _instance_preference_refusals(definition)
    emr_role = get_path(request, ("AutoMLComputeConfig", "EmrServerlessComputeConfig", "ExecutionRoleARN"))
    if emr_role:
        # An AutoML job that runs its data processing on EMR Serverless passes a second role, for
        # EMR Serverless; the guard's iam:PassRole grant is for roles passed to SageMaker only, so
        # the copy would be refused (AccessDenied) after the stop.
        refusals.append(
            Refusal(
                "emr-serverless-role",
                f"it runs on EMR Serverless as {emr_role} (AutoMLComputeConfig): the guard may pass roles to "
                "SageMaker only, so it cannot start the copy; re-launch it with encryption by hand",
            )
        )
    size = stored_request_size(dict(request))
    if size > MAX_STORED_REQUEST_BYTES:
        refusals.append(
            Refusal(
                "ledger-item-size",
                f"the copy's request needs {size // 1000} KB even compressed: more than the guard can record "
                "durably before the stop (a DynamoDB item holds 400 KB)",
            )
        )
    warm = request.get("WarmStartConfig") or {}
    if warm:
        parents = warm.get("ParentHyperParameterTuningJobs") or []
        if len(parents) > MAX_WARM_START_PARENTS:
            refusals.append(Refusal("warm-start-max-5-parents", f"{len(parents)} warm-start parents, at most 5"))
        refusals.append(
            Refusal(
                "warm-start-definition-unchanged",
                "a warm start from parents whose training definition differs in "
                "EnableInterContainerTrafficEncryption is refused",
            )
        )
    return refusals


def _validation_errors(request: Mapping[str, Any], shape: Shape) -> list[str]:
    report = ParamValidator().validate(dict(request), shape)
    if not report.has_errors():
        return []
    return [line for line in report.generate_report().splitlines() if line.strip()]


def _tag_refusals(tags: list[Mapping[str, Any]]) -> list[Refusal]:
    keys = [str(t.get("Key", "")) for t in tags]
    refusals = []
    reserved = [k for k in keys if k.startswith(RESERVED_TAG_PREFIX)]
    if reserved:
        refusals.append(Refusal("tags-reserved-aws-prefix", f"tag key {reserved[0]!r} uses the reserved aws: prefix"))
    if len(keys) > MAX_USER_TAGS:
        refusals.append(Refusal("tags-max-50", f"{len(keys)} tags, at most {MAX_USER_TAGS}"))
    long = [
        k
        for k, t in zip(keys, tags, strict=True)
        if len(k) > MAX_TAG_KEY or len(str(t.get("Value", ""))) > MAX_TAG_VALUE
    ]
    if long:
        refusals.append(Refusal("tags-key-value-length", f"tag {long[0][:40]!r} is longer than SageMaker allows"))
    return refusals


def _output_only_present(value: Any, shape: Shape, path: str = "") -> Iterator[str]:
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                continue  # botocore's validator reports unknown members
            where = f"{path}.{key}" if path else key
            if is_output_only(member):
                yield where
            else:
                yield from _output_only_present(item, member, where)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _output_only_present(item, shape.member, f"{path}[{index}]")


def _algorithm_refusals(algorithm: Mapping[str, Any]) -> list[Refusal]:
    refusals = []
    if algorithm.get("AlgorithmName") and algorithm.get("TrainingImage"):
        refusals.append(
            Refusal("algorithm-name-xor-training-image", "AlgorithmName and TrainingImage exclude each other")
        )
    if algorithm.get("MetricDefinitions"):
        builtin = builtin_algorithm(algorithm.get("TrainingImage"))
        if builtin:
            refusals.append(
                Refusal(
                    "builtin-algorithm-metric-definitions",
                    f"metric definitions are refused for the built-in algorithm {builtin}",
                )
            )
        elif algorithm.get("AlgorithmName"):
            refusals.append(
                Refusal(
                    "algorithm-resource-metric-definitions",
                    f"metric definitions are refused for the algorithm resource {algorithm['AlgorithmName']}",
                )
            )
    return refusals


def _instance_preference_refusals(definition: Mapping[str, Any]) -> list[Refusal]:
    resource = definition.get("ResourceConfig") or {}
    if not resource.get("InstancePreferences"):
        return []
    clashing = [k for k in ("InstanceType", "InstanceGroups", "InstancePlacementConfig") if resource.get(k)]
    if definition.get("EnableManagedSpotTraining"):
        clashing.append("EnableManagedSpotTraining")
    if not clashing:
        return []
    return [
        Refusal(
            "instance-preferences-exclusive",
            f"ResourceConfig.InstancePreferences excludes {', '.join(clashing)}",
        )
    ]
