"""The guard's policy applied to a Create* request before it is sent.

`iac` (templates, pipeline and state-machine definitions, Terraform plans) and `scan`'s pipeline
check read a request that has not run yet: they judge it the way `policy.decide` judges a
described job, in the same order (exempt tag, then fewer instances than the minimum, then the
flag), with one difference a request brings: a value that is not a literal (a pipeline parameter
`{"Get": "Parameters.X"}`, a CloudFormation `{"Ref": ...}`, a Step Functions `Key.$` path, a
Terraform value known only after apply) is *unknown*. An unknown instance count cannot prove the
job has one instance, and an unknown flag cannot prove it is on: both are findings.

Eleven actions take the flag (DESIGN.md); UpdateMonitoringSchedule has the shape of
CreateMonitoringSchedule, so ten request shapes are judged here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ict_guard.settings import Settings

FLAG = "EnableInterContainerTrafficEncryption"


class Unknown:
    """A value that is not a literal in the document; `source` says what it is."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"Unknown({self.source!r})"


class Action(enum.StrEnum):
    """The SageMaker actions whose request carries the flag."""

    TRAINING = "CreateTrainingJob"
    TUNING = "CreateHyperParameterTuningJob"
    PROCESSING = "CreateProcessingJob"
    AUTOML = "CreateAutoMLJob"
    AUTOML_V2 = "CreateAutoMLJobV2"
    DATA_QUALITY = "CreateDataQualityJobDefinition"
    MODEL_BIAS = "CreateModelBiasJobDefinition"
    MODEL_EXPLAINABILITY = "CreateModelExplainabilityJobDefinition"
    MODEL_QUALITY = "CreateModelQualityJobDefinition"
    MONITORING_SCHEDULE = "CreateMonitoringSchedule"


MONITORING_DEFINITIONS = (
    Action.DATA_QUALITY,
    Action.MODEL_BIAS,
    Action.MODEL_EXPLAINABILITY,
    Action.MODEL_QUALITY,
)


class State(enum.StrEnum):
    ENCRYPTED = "encrypted"
    UNENCRYPTED = "unencrypted"
    UNKNOWN = "unknown"  # the flag is not a literal
    BELOW_MINIMUM = "below-minimum"
    EXEMPT = "exempt"
    ELSEWHERE = "defined-elsewhere"  # a schedule that names a job definition: judged there


FINDING_STATES = frozenset({State.UNENCRYPTED, State.UNKNOWN})


@dataclass(frozen=True)
class Verdict:
    """The judgement of one job a request starts (a tuning job: one per training definition)."""

    state: State
    reason: str
    flag_path: str
    instance_count: int | None  # None: not a literal, or chosen by SageMaker (AutoML)
    part: str | None = None  # the training definition of a tuning job

    @property
    def finding(self) -> bool:
        return self.state in FINDING_STATES

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "finding": self.finding,
            "reason": self.reason,
            "flag": self.flag_path,
            "instance_count": self.instance_count,
            "definition": self.part,
        }


def member(container: Any, name: str) -> Any:
    """`container[name]`, None when absent, Unknown when the container or the value is not a
    literal. A Step Functions `Name.$` key means the value comes from the state's input."""
    if isinstance(container, Unknown):
        return container
    if not isinstance(container, Mapping):
        return None if container is None else Unknown(container)
    if f"{name}.$" in container:
        return Unknown({f"{name}.$": container[f"{name}.$"]})
    return container.get(name)


def _path(container: Any, *names: str) -> Any:
    for name in names:
        container = member(container, name)
        if container is None:
            return None
    return container


def literal_flag(value: Any) -> bool | Unknown | None:
    """True/False for a literal (CloudFormation also takes the strings "true"/"false"), None
    when absent, Unknown for an intrinsic, a parameter or a path."""
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return Unknown(value)


def literal_count(value: Any) -> int | Unknown:
    if isinstance(value, bool):
        return Unknown(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return Unknown(value)


def _sum(counts: list[int | Unknown]) -> int | Unknown:
    unknown = [c for c in counts if isinstance(c, Unknown)]
    return unknown[0] if unknown else sum(c for c in counts if isinstance(c, int))


def _max(counts: list[int | Unknown]) -> int | Unknown:
    unknown = [c for c in counts if isinstance(c, Unknown)]
    return unknown[0] if unknown else max((c for c in counts if isinstance(c, int)), default=0)


def _items(value: Any) -> list[Any] | Unknown:
    if isinstance(value, Unknown):
        return value
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return Unknown(value)


def resource_config_count(config: Any) -> int | Unknown:
    """`jobs.instance_count` over a request's ResourceConfig, with non-literals kept unknown."""
    if config is None:
        return Unknown("no ResourceConfig")
    groups = _items(member(config, "InstanceGroups"))
    if isinstance(groups, Unknown):
        return groups
    if groups:
        return _sum([literal_count(member(g, "InstanceCount")) for g in groups])
    counts = [literal_count(member(config, "InstanceCount"))]
    preferences = _items(member(config, "InstancePreferences"))
    if isinstance(preferences, Unknown):
        return preferences
    counts += [literal_count(member(p, "InstanceCount")) for p in preferences]
    if member(config, "InstanceCount") is None:
        counts = counts[1:] or [Unknown("no InstanceCount")]
    return _max(counts)


def tuning_definition_count(definition: Any) -> int | Unknown:
    """`jobs.definition_instance_count`, with non-literals kept unknown."""
    if member(definition, "ResourceConfig") is not None:
        return resource_config_count(member(definition, "ResourceConfig"))
    flexible = member(definition, "HyperParameterTuningResourceConfig")
    if flexible is None:
        return Unknown("no ResourceConfig")
    configs = _items(member(flexible, "InstanceConfigs"))
    if isinstance(configs, Unknown):
        return configs
    counts = [literal_count(member(c, "InstanceCount")) for c in configs]
    if member(flexible, "InstanceCount") is not None:
        counts.append(literal_count(member(flexible, "InstanceCount")))
    return _max(counts) if counts else Unknown("no InstanceCount")


def _cluster_count(resources: Any) -> int | Unknown:
    count = _path(resources, "ClusterConfig", "InstanceCount")
    return Unknown("no InstanceCount") if count is None else literal_count(count)


@dataclass(frozen=True)
class _Part:
    flag_path: str
    flag: Any
    count: int | Unknown | None  # None: SageMaker chooses (AutoML)
    name: str | None = None


def _parts(action: Action, request: Any) -> Iterator[_Part]:
    """What decides each job the request starts; nothing for a schedule that names a definition."""
    match action:
        case Action.TRAINING:
            yield _Part(
                FLAG,
                member(request, FLAG),
                resource_config_count(member(request, "ResourceConfig")),
            )
        case Action.TUNING:
            single = member(request, "TrainingJobDefinition")
            many = _items(member(request, "TrainingJobDefinitions"))
            if single is not None:
                yield _Part(
                    f"TrainingJobDefinition.{FLAG}",
                    member(single, FLAG),
                    tuning_definition_count(single),
                )
            if isinstance(many, Unknown):
                yield _Part(f"TrainingJobDefinitions[].{FLAG}", many, many)
                return
            for index, definition in enumerate(many):
                name = member(definition, "DefinitionName")
                yield _Part(
                    f"TrainingJobDefinitions[{index}].{FLAG}",
                    member(definition, FLAG),
                    tuning_definition_count(definition),
                    name if isinstance(name, str) else f"#{index}",
                )
        case Action.PROCESSING:
            yield _Part(
                f"NetworkConfig.{FLAG}",
                _path(request, "NetworkConfig", FLAG),
                _cluster_count(member(request, "ProcessingResources")),
            )
        case Action.AUTOML:
            yield _Part(
                f"AutoMLJobConfig.SecurityConfig.{FLAG}",
                _path(request, "AutoMLJobConfig", "SecurityConfig", FLAG),
                None,
            )
        case Action.AUTOML_V2:
            yield _Part(f"SecurityConfig.{FLAG}", _path(request, "SecurityConfig", FLAG), None)
        case Action.MONITORING_SCHEDULE:
            definition = _path(request, "MonitoringScheduleConfig", "MonitoringJobDefinition")
            if definition is None:
                return
            yield _Part(
                f"MonitoringScheduleConfig.MonitoringJobDefinition.NetworkConfig.{FLAG}",
                _path(definition, "NetworkConfig", FLAG),
                _cluster_count(member(definition, "MonitoringResources")),
            )
        case _:
            yield _Part(
                f"NetworkConfig.{FLAG}",
                _path(request, "NetworkConfig", FLAG),
                _cluster_count(member(request, "JobResources")),
            )


def _exempt(request: Any, settings: Settings) -> bool:
    tags = _items(member(request, "Tags"))
    if isinstance(tags, Unknown):
        return False
    for tag in tags:
        value = member(tag, "Value")
        if member(tag, "Key") == settings.exempt_tag_key and isinstance(value, str):
            return value.strip().lower() == "true"
    return False


def judge_request(action: Action, request: Any, settings: Settings) -> list[Verdict]:
    """One verdict per job the request starts, in `policy.decide`'s order: the exemption, the
    minimum instance count, then the flag."""
    verdicts: list[Verdict] = []
    exempt = _exempt(request, settings)
    for part in _parts(action, request):
        count = part.count if isinstance(part.count, int) else None
        flag = literal_flag(part.flag)
        if exempt:
            state, reason = State.EXEMPT, f"exempt by tag {settings.exempt_tag_key}=true"
        elif isinstance(part.count, int) and part.count < settings.min_instance_count:
            state, reason = (
                State.BELOW_MINIMUM,
                f"{part.count} instance(s), below the minimum of {settings.min_instance_count}: "
                "encryption has no effect",
            )
        elif flag is True:
            state, reason = State.ENCRYPTED, f"{part.flag_path} is true"
        elif isinstance(flag, Unknown):
            state, reason = (
                State.UNKNOWN,
                f"{part.flag_path} is not a literal ({_describe(flag)}): it cannot be shown to be true",
            )
        else:
            said = "false" if flag is False else "absent (SageMaker's default is false)"
            state, reason = (
                State.UNENCRYPTED,
                f"{part.flag_path} is {said}; {_instances(part.count)}",
            )
        verdicts.append(Verdict(state, reason, part.flag_path, count, part.name))
    if not verdicts and action is Action.MONITORING_SCHEDULE:
        name = _path(request, "MonitoringScheduleConfig", "MonitoringJobDefinitionName")
        verdicts.append(
            Verdict(
                State.ELSEWHERE,
                f"runs the job definition {_describe(name)}: the flag is judged on that definition",
                "MonitoringScheduleConfig.MonitoringJobDefinitionName",
                None,
            )
        )
    return verdicts


def _instances(count: int | Unknown | None) -> str:
    if count is None:
        return "SageMaker chooses the instances (distributed candidates are possible)"
    if isinstance(count, Unknown):
        return f"instance count not a literal ({_describe(count)})"
    return f"{count} instances"


def _describe(value: Any) -> str:
    source = value.source if isinstance(value, Unknown) else value
    if isinstance(source, Mapping) and len(source) == 1:
        key, inner = next(iter(source.items()))
        return f"{key}: {_short(inner)}"
    return _short(source)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
