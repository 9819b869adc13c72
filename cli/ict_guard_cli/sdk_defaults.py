"""`defaults`: a SageMaker Python SDK config file (`config.yaml`) that turns the flag on wherever
the SDK reads it as a default.

The paths are the ones the SDK's own schema (`sagemaker/config/config_schema.py`, SageMaker Python
SDK 2.257) declares for the flag: the `*_INTER_CONTAINER_ENCRYPTION_PATH` constants of the
training, processing, AutoML (V1 and V2) and monitoring-schedule APIs and of `@remote` functions,
plus the ModelTrainer's free-form space (`SageMaker.PythonSDK.Modules.ModelTrainer`, read
attribute by attribute with graphene's `to_camel_case`, so its `networking` key is lower case and
its value is the `Networking` model's own snake_case fields). Estimators and tuners build on the
TrainingJob default; Pipelines steps are built by those same classes.

A default is only a default: the SDK uses it when the code leaves the value unset. An explicit
`encrypt_inter_container_traffic=False` in code wins, as does a ModelTrainer given a `networking`
of its own, jobs created with boto3, the console, CloudFormation or Terraform never read it, and
whoever runs the code can point SAGEMAKER_ADMIN_CONFIG_OVERRIDE elsewhere. That is why the guard
(and `guardrail`) stay necessary.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = "1.0"
FLAG = "EnableInterContainerTrafficEncryption"

# (path in the config file, what reads it)
FLAG_PATHS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("SageMaker", "TrainingJob", FLAG), "Estimator, HyperparameterTuner (CreateTrainingJob)"),
    (("SageMaker", "ProcessingJob", "NetworkConfig", FLAG), "Processor (CreateProcessingJob)"),
    (
        ("SageMaker", "AutoMLJob", "AutoMLJobConfig", "SecurityConfig", FLAG),
        "AutoML (CreateAutoMLJob)",
    ),
    (("SageMaker", "AutoMLJobV2", "SecurityConfig", FLAG), "AutoMLV2 (CreateAutoMLJobV2)"),
    (
        (
            "SageMaker",
            "MonitoringSchedule",
            "MonitoringScheduleConfig",
            "MonitoringJobDefinition",
            "NetworkConfig",
            FLAG,
        ),
        "ModelMonitor schedules (CreateMonitoringSchedule)",
    ),
    (
        ("SageMaker", "PythonSDK", "Modules", "RemoteFunction", FLAG),
        "@remote functions (CreateTrainingJob)",
    ),
    (
        (
            "SageMaker",
            "PythonSDK",
            "Modules",
            "ModelTrainer",
            "networking",
            "enable_inter_container_traffic_encryption",
        ),
        "ModelTrainer without a networking of its own (CreateTrainingJob)",
    ),
)


class ConfigShapeError(Exception):
    """The file has a value that is not a mapping where the SDK expects one."""


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class PathCheck:
    path: tuple[str, ...]
    reader: str
    state: str  # "true", "false", "missing", "not-boolean"

    @property
    def ok(self) -> bool:
        return self.state == "true"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": dotted(self.path),
            "read_by": self.reader,
            "state": self.state,
            "ok": self.ok,
        }


def _lookup(config: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    node = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def check_config(config: Any) -> list[PathCheck]:
    """Every flag path and whether the file sets it to true."""
    found = []
    for path, reader in FLAG_PATHS:
        present, value = _lookup(config, path)
        if not present:
            state = "missing"
        elif value is True:
            state = "true"
        elif value is False:
            state = "false"
        else:
            state = "not-boolean"  # the SDK's schema rejects the whole file then
        found.append(PathCheck(path, reader, state))
    return found


def merge_defaults(config: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """`config` with every flag path set to true; returns (merged, the paths changed). Nothing
    else in the file changes; SchemaVersion is added when absent."""
    merged: dict[str, Any] = copy.deepcopy(dict(config or {}))
    changed: list[str] = []
    merged.setdefault("SchemaVersion", SCHEMA_VERSION)
    for path, _ in FLAG_PATHS:
        node = merged
        for depth, key in enumerate(path[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigShapeError(f"{dotted(path[: depth + 1])} is a {type(child).__name__}, not a mapping")
            node = child
        if node.get(path[-1]) is not True:
            node[path[-1]] = True
            changed.append(dotted(path))
    return merged, changed


def defaults_config() -> dict[str, Any]:
    return merge_defaults(None)[0]


HEADER = """\
# SageMaker Python SDK defaults: inter-container traffic encryption on for every job the SDK
# creates without an explicit value (written by `ict-guard defaults`).
# Admin file: /etc/xdg/sagemaker/config.yaml on Linux (platformdirs' site config dir), or point
# SAGEMAKER_ADMIN_CONFIG_OVERRIDE at this file, a folder or an S3 prefix holding it.
# An explicit False in code still wins, and boto3, the console, CloudFormation and Terraform never
# read this file: keep the guard (and the `ict-guard guardrail` SCP) for those.
"""


def render_yaml(config: Mapping[str, Any], header: bool = True) -> str:
    import yaml  # PyYAML: a dependency of the cli extra

    text = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
    return (HEADER if header else "") + text


def load_yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)
