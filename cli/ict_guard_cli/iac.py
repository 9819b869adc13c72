"""`iac`: find SageMaker jobs and job definitions without the flag before they are created.

Four kinds of document, recognised by their content (not their file name):

- CloudFormation and SAM templates, JSON or YAML with short-form intrinsics (`!Ref`), read by
  cfn-lint's own loader: the four monitoring job definitions and MonitoringSchedule
  (AWS::SageMaker::TrainingJob and ProcessingJob are left to the Checkov custom policies in
  policies/checkov), and the pipelines and state machines a template defines inline
  (`AWS::SageMaker::Pipeline` PipelineDefinitionBody, `AWS::StepFunctions::StateMachine`
  Definition / DefinitionString, `AWS::Serverless::StateMachine` Definition).
- SageMaker Pipelines definitions (the JSON DescribePipeline returns as PipelineDefinition): steps
  of Type Training, Tuning, Processing and AutoML, whose `Arguments` are the Create* request;
  Condition steps' IfSteps / ElseSteps are walked too.
- Step Functions state machines (Amazon States Language): Task states whose Resource is the
  SageMaker integration `arn:aws:states:::sagemaker:createTrainingJob(.sync)`,
  `createHyperParameterTuningJob`, `createProcessingJob`; Parameters (JSONPath) or Arguments
  (JSONata) are the request. Parallel branches and Map processors are walked too.
- Terraform plans (`terraform show -json`): resource_changes of `aws_sagemaker_training_job`
  (`enable_inter_container_traffic_encryption`, `resource_config`) and
  `aws_sagemaker_data_quality_job_definition` (`network_config`, `job_resources.cluster_config`),
  the provider's resources that take the flag; `aws_sagemaker_monitoring_schedule` only names a
  job definition there. A value known only after apply is unknown.

Every request is judged by `create_requests.judge_request`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ict_guard import __version__
from ict_guard.settings import Settings
from ict_guard_cli import ExitCode
from ict_guard_cli.create_requests import Action, Unknown, Verdict, judge_request

SCHEMA_VERSION = "1.0"
SUFFIXES = (".json", ".yaml", ".yml", ".template")
_SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "venv"}


class Source:
    CLOUDFORMATION = "cloudformation"
    PIPELINE = "sagemaker-pipeline"
    STEP_FUNCTIONS = "step-functions"
    TERRAFORM = "terraform-plan"


CFN_TYPES: dict[str, Action] = {
    "AWS::SageMaker::DataQualityJobDefinition": Action.DATA_QUALITY,
    "AWS::SageMaker::ModelBiasJobDefinition": Action.MODEL_BIAS,
    "AWS::SageMaker::ModelExplainabilityJobDefinition": Action.MODEL_EXPLAINABILITY,
    "AWS::SageMaker::ModelQualityJobDefinition": Action.MODEL_QUALITY,
    "AWS::SageMaker::MonitoringSchedule": Action.MONITORING_SCHEDULE,
}
STEP_ACTIONS: dict[str, Action] = {
    "Training": Action.TRAINING,
    "Tuning": Action.TUNING,
    "Processing": Action.PROCESSING,
    "AutoML": Action.AUTOML,
}
STATES_ACTIONS: dict[str, Action] = {
    "createTrainingJob": Action.TRAINING,
    "createHyperParameterTuningJob": Action.TUNING,
    "createProcessingJob": Action.PROCESSING,
}
# The partition may be a literal or `${AWS::Partition}` inside a Fn::Sub.
_STATES_RESOURCE = re.compile(
    r"^arn:.+:states:::sagemaker:(?P<api>" + "|".join(STATES_ACTIONS) + r")(\.sync|\.waitForTaskToken)?$"
)
TERRAFORM_TYPES: dict[str, Action] = {
    "aws_sagemaker_training_job": Action.TRAINING,
    "aws_sagemaker_data_quality_job_definition": Action.DATA_QUALITY,
}


class DocumentError(Exception):
    """A file that could not be read or is none of the four kinds."""


@dataclass
class IacResource:
    """One resource, step or state that creates a SageMaker job or job definition."""

    file: str
    source: str
    name: str  # logical id, step name, state name or Terraform address ("/" joins nesting)
    resource_type: str
    action: Action
    line: int | None
    verdicts: list[Verdict]

    @property
    def finding(self) -> bool:
        return any(v.finding for v in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "source": self.source,
            "name": self.name,
            "type": self.resource_type,
            "action": self.action.value,
            "line": self.line,
            "finding": self.finding,
            "verdicts": [v.as_dict() for v in self.verdicts],
        }


@dataclass
class FileResult:
    path: str
    source: str | None = None
    error: str | None = None
    resources: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "error": self.error,
            "resources": self.resources,
        }


@dataclass
class IacReport:
    settings: Settings
    files: list[FileResult] = field(default_factory=list)
    resources: list[IacResource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in a directory of no known kind

    @property
    def findings(self) -> list[IacResource]:
        return [r for r in self.resources if r.finding]

    @property
    def errors(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def exit_code(self) -> ExitCode:
        # A file that could not be read makes the check incomplete, as a check that could not
        # run makes `scan` incomplete: never "no findings".
        if self.errors:
            return ExitCode.AWS_ERROR
        return ExitCode.FINDINGS if self.findings else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "ict-guard", "version": __version__},
            "settings": {
                "min_instance_count": self.settings.min_instance_count,
                "exempt_tag_key": self.settings.exempt_tag_key,
            },
            "files": [f.as_dict() for f in self.files],
            "skipped": self.skipped,
            "resources": [r.as_dict() for r in self.resources],
            "findings": len(self.findings),
            "errors": [{"path": f.path, "error": f.error} for f in self.errors],
            "exit_code": int(self.exit_code),
        }


# -- files ----------------------------------------------------------------------------------------


def discover(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """(file, given explicitly) for each path; directories are walked for SUFFIXES, leaving out
    hidden folders (.aws-sam build output, .terraform, .venv) and dependency folders."""
    for path in paths:
        if not path.is_dir():
            yield path, True
            continue
        for root, directories, files in os.walk(path):
            directories[:] = sorted(d for d in directories if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES)
            for name in sorted(files):
                if name.endswith(SUFFIXES):
                    yield Path(root) / name, False


def load_document(path: Path) -> Any:
    """The document with cfn-lint's loader: YAML (short-form intrinsics become `{"Ref": ...}`)
    or JSON, with line marks on mappings."""
    from cfnlint.decode import decode  # cfn-lint is heavy: only `iac` needs it

    document, problems = decode(str(path))
    if problems:
        problem = problems[0]
        raise DocumentError(f"line {problem.linenumber}: {problem.message}")
    return document


def classify(document: Any) -> str | None:
    if not isinstance(document, Mapping):
        return None
    if isinstance(document.get("Resources"), Mapping) or "AWSTemplateFormatVersion" in document:
        return Source.CLOUDFORMATION
    if isinstance(document.get("resource_changes"), list) or "terraform_version" in document:
        return Source.TERRAFORM
    if isinstance(document.get("States"), Mapping) and "StartAt" in document:
        return Source.STEP_FUNCTIONS
    if isinstance(document.get("Steps"), list):
        return Source.PIPELINE
    return None


def audit_paths(paths: Iterable[Path], settings: Settings, base: Path | None = None) -> IacReport:
    report = IacReport(settings=settings)
    for path, explicit in discover(paths):
        shown = _display(path, base)
        try:
            document = load_document(path)
        except DocumentError as exc:
            if explicit or _looks_like_ours(path):
                report.files.append(FileResult(shown, error=str(exc)))
            else:
                report.skipped.append(shown)
            continue
        source = classify(document)
        if source is None:
            if explicit:
                report.files.append(
                    FileResult(
                        shown,
                        error="not a CloudFormation/SAM template, SageMaker Pipelines definition, "
                        "Step Functions definition or Terraform plan (terraform show -json)",
                    )
                )
            else:
                report.skipped.append(shown)
            continue
        found = list(extract(source, document, shown, settings))
        report.files.append(FileResult(shown, source, resources=len(found)))
        report.resources.extend(found)
    return report


# Top-level keys of the four kinds. A file in a directory that does not parse is an error when it
# names one of them (a broken template must not pass a CI gate unseen), else skipped: other YAML
# (workflows, mkdocs with its own tags) is none of ours.
_MARKERS = re.compile(r"AWSTemplateFormatVersion|\bResources\b|\bStartAt\b|resource_changes|\bSteps\b")


def _looks_like_ours(path: Path) -> bool:
    try:
        return bool(_MARKERS.search(path.read_text(errors="replace")))
    except OSError:
        return True


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def extract(source: str, document: Any, file: str, settings: Settings) -> Iterator[IacResource]:
    match source:
        case Source.CLOUDFORMATION:
            yield from cloudformation_resources(document, file, settings)
        case Source.PIPELINE:
            yield from pipeline_resources(document, file, settings)
        case Source.STEP_FUNCTIONS:
            yield from state_machine_resources(document, file, settings)
        case Source.TERRAFORM:
            yield from terraform_resources(document, file, settings)


def _line(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


# -- CloudFormation -------------------------------------------------------------------------------


def cloudformation_resources(template: Mapping[str, Any], file: str, settings: Settings) -> Iterator[IacResource]:
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        line = _line(resource)
        if kind in CFN_TYPES:
            action = CFN_TYPES[kind]
            yield IacResource(
                file,
                Source.CLOUDFORMATION,
                str(logical_id),
                kind,
                action,
                line,
                judge_request(action, properties, settings),
            )
        elif kind == "AWS::SageMaker::Pipeline":
            body = _embedded_json(_member_or_none(properties.get("PipelineDefinition"), "PipelineDefinitionBody"))
            if isinstance(body, Mapping):
                for found in pipeline_resources(body, file, settings, prefix=f"{logical_id}/"):
                    found.line, found.source = line, Source.CLOUDFORMATION
                    yield found
        elif kind in ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine"):
            definition = properties.get("Definition")
            if definition is None:
                definition = _embedded_json(properties.get("DefinitionString"))
            if isinstance(definition, Mapping):
                for found in state_machine_resources(definition, file, settings, prefix=f"{logical_id}/"):
                    if not properties.get("Definition"):  # a string: no line marks inside it
                        found.line = line
                    found.source = Source.CLOUDFORMATION
                    yield found


def _member_or_none(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else None


def _embedded_json(value: Any) -> Any:
    """A definition given as a JSON string, plain or in a Fn::Sub (whose ${...} sit inside JSON
    strings, so the text still parses); anything else (Fn::Join, an S3 location) is not read."""
    if isinstance(value, Mapping) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
        value = value[0] if isinstance(value, list) and value else value
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


# -- SageMaker Pipelines --------------------------------------------------------------------------


def pipeline_steps(steps: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, step) of every step, with the steps of Condition branches."""
    for step in steps if isinstance(steps, list) else ():
        if not isinstance(step, Mapping):
            continue
        name = f"{path}{step.get('Name', '?')}"
        yield name, step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments") or {}
            for branch in ("IfSteps", "ElseSteps"):
                yield from pipeline_steps(arguments.get(branch), f"{name}/{branch}/")


def pipeline_resources(
    definition: Mapping[str, Any], file: str, settings: Settings, prefix: str = ""
) -> Iterator[IacResource]:
    for name, step in pipeline_steps(definition.get("Steps")):
        step_type = step.get("Type")
        if step_type not in STEP_ACTIONS:
            continue
        arguments = step.get("Arguments")
        action = STEP_ACTIONS[step_type]
        if action is Action.AUTOML and isinstance(arguments, Mapping) and "AutoMLProblemTypeConfig" in arguments:
            action = Action.AUTOML_V2
        yield IacResource(
            file,
            Source.PIPELINE,
            prefix + name,
            f"{step_type} step",
            action,
            _line(step),
            judge_request(action, arguments if arguments is not None else Unknown("no Arguments"), settings),
        )


# -- Step Functions -------------------------------------------------------------------------------


def task_states(states: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, state) of every state, with those of Parallel branches and Map processors."""
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        full = f"{path}{name}"
        yield full, state
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, Mapping):
                yield from task_states(branch.get("States"), f"{full}/{index}/")
        for key in ("ItemProcessor", "Iterator"):
            inner = state.get(key)
            if isinstance(inner, Mapping):
                yield from task_states(inner.get("States"), f"{full}/")


def state_machine_resources(
    definition: Mapping[str, Any], file: str, settings: Settings, prefix: str = ""
) -> Iterator[IacResource]:
    for name, state in task_states(definition.get("States")):
        resource = state.get("Resource")
        match = _STATES_RESOURCE.match(resource) if isinstance(resource, str) else None
        if state.get("Type") != "Task" or match is None:
            continue
        action = STATES_ACTIONS[match["api"]]
        request = state.get("Parameters", state.get("Arguments"))
        if isinstance(request, str):  # JSONata: the whole request is one expression
            request = Unknown(request)
        yield IacResource(
            file,
            Source.STEP_FUNCTIONS,
            prefix + name,
            f"Task {resource}",
            action,
            _line(state),
            judge_request(action, request if request is not None else Unknown("no Parameters"), settings),
        )


# -- Terraform ------------------------------------------------------------------------------------


def terraform_resources(plan: Mapping[str, Any], file: str, settings: Settings) -> Iterator[IacResource]:
    for change in plan.get("resource_changes") or ():
        if not isinstance(change, Mapping) or change.get("mode", "managed") != "managed":
            continue
        kind = change.get("type")
        details = change.get("change") or {}
        if kind not in TERRAFORM_TYPES or details.get("actions") == ["delete"]:
            continue
        action = TERRAFORM_TYPES[kind]
        after = details.get("after") or {}
        unknown = details.get("after_unknown") or {}
        yield IacResource(
            file,
            Source.TERRAFORM,
            str(change.get("address")),
            kind,
            action,
            _line(change),
            judge_request(action, terraform_request(kind, after, unknown), settings),
        )


def _at(container: Any, step: str | int) -> Any:
    try:
        return container[step]
    except (KeyError, IndexError, TypeError):  # absent, or None where a block was expected
        return None


def _tf(after: Any, unknown: Any, *path: str | int) -> Any:
    """The planned value at `path`, Unknown where after_unknown (which mirrors `after` with
    `true` for every value known only after apply) marks it or a block above it."""
    for step in path:
        if unknown is True:
            return Unknown("known after apply")
        after, unknown = _at(after, step), _at(unknown, step)
    if unknown is True:
        return Unknown("known after apply")
    return after


def terraform_request(kind: str, after: Any, unknown: Any) -> dict[str, Any]:
    """The part of the Create* request the judge reads, from a resource's planned values (the
    provider expands its snake_case blocks into the API's members one to one)."""
    request: dict[str, Any] = {}
    tags = _tf(after, unknown, "tags_all")
    tags = tags if isinstance(tags, Mapping) else _tf(after, unknown, "tags")
    if isinstance(tags, Mapping):
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if kind == "aws_sagemaker_training_job":
        request["EnableInterContainerTrafficEncryption"] = _tf(
            after, unknown, "enable_inter_container_traffic_encryption"
        )
        config = _tf(after, unknown, "resource_config", 0)
        if isinstance(config, Unknown):
            request["ResourceConfig"] = config
        elif isinstance(config, Mapping):
            groups = _tf(after, unknown, "resource_config", 0, "instance_groups")
            request["ResourceConfig"] = {
                "InstanceCount": _tf(after, unknown, "resource_config", 0, "instance_count"),
                "InstanceGroups": groups
                if isinstance(groups, Unknown)
                else [
                    {
                        "InstanceCount": _tf(
                            after,
                            unknown,
                            "resource_config",
                            0,
                            "instance_groups",
                            i,
                            "instance_count",
                        )
                    }
                    for i in range(len(groups or ()))
                ],
            }
    else:
        request["NetworkConfig"] = {
            "EnableInterContainerTrafficEncryption": _tf(
                after, unknown, "network_config", 0, "enable_inter_container_traffic_encryption"
            )
        }
        request["JobResources"] = {
            "ClusterConfig": {
                "InstanceCount": _tf(after, unknown, "job_resources", 0, "cluster_config", 0, "instance_count")
            }
        }
    return request
