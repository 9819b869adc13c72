"""The `ict-guard` CLI on the embedded AWS (moto in-process with the SageMaker extension), through
click's runner: scan before and after the guard acted, the CloudTrail and stack checks, explain
against what the real handler then does, exit codes and the JSON documents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws
from moto.sagemaker.models import sagemaker_backends

from ict_guard.clone import relaunch_name
from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli
from ict_guard_cli.session import AwsContext
from ict_guard_cli.stack import samconfig_stack_names
from sandbox import sagemaker_extension

pytestmark = pytest.mark.integration

ACCOUNT, REGION = "123456789012", "us-east-1"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def scan_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("--json", "scan", *args)
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def bare_aws():
    """moto alone, for checks that need none of the guard's resources (faster than `sandbox`)."""
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in document["jobs"]["unencrypted"]}


def add_trail(
    session: Any,
    name: str = "management",
    region: str = REGION,
    *,
    multi_region: bool = False,
    logging: bool = True,
    selectors: list[dict[str, Any]] | None = None,
    advanced: list[dict[str, Any]] | None = None,
) -> None:
    s3 = session.client("s3", region_name="us-east-1")
    bucket = f"trail-logs-{name}"
    s3.create_bucket(Bucket=bucket)
    cloudtrail = session.client("cloudtrail", region_name=region)
    cloudtrail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    if advanced is not None:
        cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    else:
        cloudtrail.put_event_selectors(
            TrailName=name,
            EventSelectors=selectors or [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
        )
    if logging:
        cloudtrail.start_logging(Name=name)


def deploy_guard_stack(
    session: Any, env: Any, stack_name: str = "sagemaker-ict-guard", **policy: str
) -> None:
    """What the guard's stack leaves for the CLI to read: the job guard function with its
    environment (as template.yaml sets it), the dead-letter queue and an EventBridge rule."""
    template = {
        "Resources": {
            "JobGuardFunction": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.lambda_handler",
                    "Role": env.role_arn,
                    "Code": {"ZipFile": "def lambda_handler(event, context):\n    return None\n"},
                    "Environment": {"Variables": env.function_environment(**policy)},
                },
            },
            "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
            "JobGuardFunctionTrainingJobCreated": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventPattern": {"source": ["aws.sagemaker"]}, "State": "ENABLED"},
            },
        },
        # The output by which the CLI recognises the guard's stack under any name.
        "Outputs": {"JobGuardFunctionArn": {"Value": {"Fn::GetAtt": ["JobGuardFunction", "Arn"]}}},
    }
    session.client("cloudformation").create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template)
    )


def stack_resource(session: Any, logical_id: str, stack_name: str = "sagemaker-ict-guard") -> str:
    resources = session.client("cloudformation").list_stack_resources(StackName=stack_name)[
        "StackResourceSummaries"
    ]
    return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == logical_id)


# -- scan -----------------------------------------------------------------------------------------


def test_scan_finds_unencrypted_jobs_lacking_groups_the_missing_trail_and_stack(sandbox):
    sandbox.create_training_job("resnet-ddp", encrypted=False)
    sandbox.create_training_job("bert-encrypted", encrypted=True)
    sandbox.create_training_job("smoke-test", instance_count=1)
    sandbox.create_training_job("exempt-benchmark", tags={"ict-guard:exempt": "true"})
    sandbox.create_training_job("flag-absent", encrypted=None)
    sandbox.create_tuning_job("hpo-search", encrypted=False)

    code, document = scan_json("--mode", "relaunch")  # no guard stack: judged as if in relaunch mode

    assert code == ExitCode.FINDINGS
    assert document["schema_version"] == "1.0"
    assert document["account"] == ACCOUNT and document["region"] == REGION
    assert document["jobs"]["listed"] == {
        "monitoring-schedule": 0,
        "automl-job": 0,
        "hyper-parameter-tuning-job": 1,
        "training-job": 5,
        "processing-job": 0,
    }
    assert document["jobs"]["described"] == 6
    assert (
        document["jobs"]["encrypted"] == 1 and document["jobs"]["below_minimum_instance_count"] == 1
    )
    found = rows(document)
    assert set(found) == {"resnet-ddp", "exempt-benchmark", "flag-absent", "hpo-search"}
    assert found["resnet-ddp"]["state"] == "running-unencrypted" and found["resnet-ddp"]["finding"]
    assert found["resnet-ddp"]["decision"]["action"] == "relaunch"
    assert found["flag-absent"]["state"] == "running-unencrypted"
    assert found["exempt-benchmark"] == {
        **found["exempt-benchmark"],
        "state": "exempt",
        "finding": False,
    }
    assert found["exempt-benchmark"]["decision"]["action"] == "notify"
    assert found["hpo-search"]["kind"] == "hyper-parameter-tuning-job"

    (group_set,) = document["security_groups"]["sets"]
    assert group_set["group_ids"] == [sandbox.env.bare_group_id, sandbox.env.second_group_id]
    assert {(r["direction"], r["protocol"]) for r in group_set["missing_rules"]} == {
        ("ingress", "udp"),
        ("ingress", "50"),
    }
    assert len(group_set["jobs"]) == 5  # every distributed job in a VPC, encrypted or not

    assert document["cloudtrail"] == {"ok": False, "trails": [], "error": None}
    assert document["stack"]["found"] is False
    checks = sorted({f["check"] for f in document["findings"]})
    assert checks == ["cloudtrail", "jobs", "security-groups", "stack"]
    jobs = sorted(f["resource"] for f in document["findings"] if f["check"] == "jobs")
    assert jobs == [
        "hyper-parameter-tuning-job/hpo-search",
        "training-job/flag-absent",
        "training-job/resnet-ddp",
    ]
    assert document["errors"] == [] and document["exit_code"] == 1


def test_scan_after_the_guard_acted_is_clean(sandbox):
    add_trail(sandbox.session)
    deploy_guard_stack(sandbox.session, sandbox.env)
    sandbox.create_training_job("resnet-ddp", encrypted=False)
    before, document = scan_json()
    assert before == ExitCode.FINDINGS
    assert rows(document)["resnet-ddp"]["state"] == "running-unencrypted"

    sandbox.deliver()

    after, document = scan_json()
    assert after == ExitCode.OK, document["findings"]
    original = rows(document)["resnet-ddp"]
    assert original["state"] == "remediated" and original["finding"] is False
    assert original["status"] in ("Stopping", "Stopped")
    assert relaunch_name("resnet-ddp") not in rows(document)  # encrypted
    assert document["jobs"]["encrypted"] == 1
    assert all(not s["finding"] for s in document["security_groups"]["sets"])
    assert document["cloudtrail"]["ok"] and document["stack"]["healthy"]
    assert document["settings"]["source"] == "the deployed stack sagemaker-ict-guard"


def test_scan_text_output_and_skipped_checks(sandbox):
    sandbox.create_training_job("resnet-ddp", encrypted=False)
    result = run("scan", "--skip", "cloudtrail", "--skip", "stack")
    assert result.exit_code == ExitCode.FINDINGS
    assert "resnet-ddp" in result.stdout and "running unencrypted" in result.stdout
    assert "missing" in result.stdout and "ingress UDP 500" in result.stdout
    assert "CloudTrail" not in result.stdout and "Guard stack" not in result.stdout
    assert "finding(s)" in result.stdout
    assert result.stderr == ""  # no progress display when stderr is not a terminal


def test_only_encrypted_jobs_give_exit_code_zero_when_other_checks_are_skipped(sandbox):
    sandbox.create_training_job("bert-encrypted", encrypted=True, vpc=False)
    sandbox.create_training_job("smoke-test", instance_count=1)
    code, document = scan_json("--skip", "cloudtrail", "--skip", "stack")
    assert code == ExitCode.OK
    assert (
        document["findings"] == [] and document["cloudtrail"] is None and document["stack"] is None
    )


def test_finished_jobs_count_within_the_window_and_old_ones_are_not_even_described(sandbox):
    for name in ("ran-yesterday", "ran-last-month"):
        sandbox.create_training_job(name)
        sagemaker_extension.complete_training_job(ACCOUNT, REGION, name, status="Completed")
    old = sagemaker_backends[ACCOUNT][REGION].training_jobs["ran-last-month"]
    old.creation_time = old.last_modified_time = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)

    code, document = scan_json("--since", "7d", "--skip", "cloudtrail", "--skip", "stack")
    assert document["jobs"]["described"] == 1  # the List filter kept the old job out
    assert rows(document)["ran-yesterday"]["state"] == "ran-unencrypted"
    assert code == ExitCode.FINDINGS

    _, document = scan_json("--since", "60d", "--skip", "cloudtrail", "--skip", "stack")
    assert set(rows(document)) == {"ran-yesterday", "ran-last-month"}


def test_status_and_kind_filters(sandbox):
    sandbox.create_training_job("running-job")
    sandbox.create_training_job("failed-job")
    sagemaker_extension.complete_training_job(ACCOUNT, REGION, "failed-job", status="Failed")
    sandbox.create_tuning_job("hpo-search")

    _, document = scan_json(
        "--status", "InProgress", "--kind", "training", "--skip", "cloudtrail", "--skip", "stack"
    )
    assert document["jobs"]["listed"] == {"training-job": 1}
    assert set(rows(document)) == {"running-job"}

    _, document = scan_json("--status", "Failed", "--skip", "cloudtrail", "--skip", "stack")
    assert set(rows(document)) == {"failed-job"}


def test_many_jobs_are_paged_and_described_with_bounded_concurrency(sandbox):
    for i in range(130):
        sandbox.create_training_job(f"bulk-{i:03d}", encrypted=i % 2 == 0, vpc=False)
    code, document = scan_json(
        "--concurrency", "4", "--skip", "cloudtrail", "--skip", "stack", "--status", "InProgress"
    )
    assert document["jobs"]["listed"]["training-job"] == 130
    assert document["jobs"]["encrypted"] == 65
    assert len(rows(document)) == 65
    assert code == ExitCode.FINDINGS


def test_children_of_a_tuning_job_are_counted_with_it(sandbox):
    sandbox.create_tuning_job("hpo-parent")
    for i in range(3):
        child = f"hpo-parent-{i:03d}-abcdef12"
        sandbox.create_training_job(child)
        sagemaker_extension.attach_to_tuning_job(ACCOUNT, REGION, child, "hpo-parent")
    _, document = scan_json("--skip", "cloudtrail", "--skip", "stack")
    found = rows(document)
    assert set(found) == {"hpo-parent"}
    assert found["hpo-parent"]["training_jobs_seen"] == 3
    assert document["jobs"]["children_counted_with_their_tuning_job"] == 3

    # Scanning training jobs only, a child is a finding of its own, left to its parent.
    _, document = scan_json("--kind", "training", "--skip", "cloudtrail", "--skip", "stack")
    child = rows(document)["hpo-parent-000-abcdef12"]
    assert child["state"] == "child" and child["decision"]["action"] == "leave-to-parent"


def test_known_children_of_a_tuning_job_are_not_even_described(sandbox, answered):
    sandbox.create_tuning_job("hpo-busy")
    children = [f"hpo-busy-{i:03d}-abcdef12" for i in range(3)]
    for child in children:
        sandbox.create_training_job(child)
        sagemaker_extension.attach_to_tuning_job(ACCOUNT, REGION, child, "hpo-busy")
    sagemaker_extension.set_tuning_progress(ACCOUNT, REGION, "hpo-busy", completed=1, in_progress=2)
    # The embedded AWS lacks ListTrainingJobsForHyperParameterTuningJob: answer it as SageMaker would.
    answered["ListTrainingJobsForHyperParameterTuningJob"] = {
        "TrainingJobSummaries": [
            {
                "TrainingJobName": c,
                "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{c}",
                "CreationTime": dt.datetime.now(dt.UTC),
                "TrainingJobStatus": "InProgress",
                "TunedHyperParameters": {},
            }
            for c in children
        ]
    }
    _, document = scan_json("--skip", "cloudtrail", "--skip", "stack")
    assert document["jobs"]["listed"] == {
        "monitoring-schedule": 0,
        "automl-job": 0,
        "hyper-parameter-tuning-job": 1,
        "training-job": 3,
        "processing-job": 0,
    }
    assert document["jobs"]["described"] == 1  # the tuning job only
    assert rows(document)["hpo-busy"]["training_jobs_seen"] == 3
    assert document["jobs"]["children_counted_with_their_tuning_job"] == 3


def test_policy_options_change_the_decisions(sandbox):
    sandbox.create_training_job("three-nodes", instance_count=3)
    _, document = scan_json(
        "--mode", "notify", "--min-instance-count", "4", "--skip", "cloudtrail", "--skip", "stack"
    )
    assert rows(document) == {}
    assert (
        document["settings"]["mode"] == "notify" and document["settings"]["min_instance_count"] == 4
    )
    _, document = scan_json("--mode", "stop", "--skip", "cloudtrail", "--skip", "stack")
    assert rows(document)["three-nodes"]["decision"]["action"] == "stop"


# -- CloudTrail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trail", "ok"),
    [
        ({}, True),
        ({"logging": False}, False),
        ({"selectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}, False),
        ({"selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, True),
        (
            {
                "selectors": [
                    {
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": False,
                        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
                    }
                ]
            },
            False,
        ),
        (
            {
                "advanced": [
                    {
                        "Name": "management",
                        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
                    }
                ]
            },
            True,
        ),
        (
            {
                "advanced": [
                    {
                        "Name": "reads",
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ],
                    }
                ]
            },
            False,
        ),
        (
            {
                "advanced": [
                    {
                        "Name": "s3 data",
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        ],
                    }
                ]
            },
            False,
        ),
        ({"region": "us-west-2"}, False),  # lives elsewhere and covers only its own region
        ({"region": "us-west-2", "multi_region": True}, True),  # a shadow trail here
    ],
    ids=[
        "basic-all",
        "stopped",
        "read-only",
        "write-only",
        "data-only",
        "advanced-management",
        "advanced-read-only",
        "advanced-data-only",
        "other-region",
        "multi-region-elsewhere",
    ],
)
def test_the_cloudtrail_prerequisite(bare_aws, trail, ok):
    add_trail(bare_aws, **trail)
    code, document = scan_json("--skip", "jobs", "--skip", "security-groups", "--skip", "stack")
    assert document["cloudtrail"]["ok"] is ok
    assert code == (ExitCode.OK if ok else ExitCode.FINDINGS)
    if trail.get("region") == "us-west-2" and not trail.get("multi_region"):
        assert document["cloudtrail"]["trails"] == []
    else:
        (checked,) = document["cloudtrail"]["trails"]
        assert checked["qualifies"] is ok
        assert (checked["problem"] is None) is ok


# -- the guard stack ------------------------------------------------------------------------------


def test_a_healthy_stack_supplies_the_deployed_policy(sandbox):
    deploy_guard_stack(sandbox.session, sandbox.env, REMEDIATION_MODE="notify")
    sandbox.create_training_job("resnet-ddp")
    _, document = scan_json("--skip", "cloudtrail")
    stack = document["stack"]
    assert stack["found"] and stack["healthy"] and stack["status"] == "CREATE_COMPLETE"
    assert [f["logical_id"] for f in stack["functions"]] == ["JobGuardFunction"]
    assert stack["dead_letter_queues"][0]["depth"] == 0
    assert stack["rules"][0]["state"] == "ENABLED"
    assert document["settings"]["mode"] == "notify"
    assert rows(document)["resnet-ddp"]["decision"]["action"] == "notify"


def test_an_unhealthy_stack_is_a_finding(sandbox):
    deploy_guard_stack(sandbox.session, sandbox.env, stack_name="guard-prod")
    sandbox.sqs.send_message(
        QueueUrl=stack_resource(sandbox.session, "DeadLetterQueue", "guard-prod"), MessageBody="{}"
    )
    sandbox.session.client("events").disable_rule(
        Name=stack_resource(sandbox.session, "JobGuardFunctionTrainingJobCreated", "guard-prod")
    )
    code, document = scan_json(
        "--stack-name",
        "guard-prod",
        "--skip",
        "jobs",
        "--skip",
        "security-groups",
        "--skip",
        "cloudtrail",
    )
    assert code == ExitCode.FINDINGS
    messages = [f["message"] for f in document["findings"]]
    assert any("dead-letter queue" in m for m in messages)
    assert any("DISABLED" in m for m in messages)
    assert document["stack"]["healthy"] is False


# -- finding the guard's stack --------------------------------------------------------------------

SAMCONFIG = Path(__file__).resolve().parents[2] / "samconfig.toml"


def test_samconfig_names_the_stacks_it_deploys_to_a_region():
    assert samconfig_stack_names(SAMCONFIG, "us-east-1") == [
        "sagemaker-ict-guard", "sagemaker-ict-guard-prod", "sagemaker-ict-guard-dev",
    ]  # fmt: skip
    assert samconfig_stack_names(SAMCONFIG, "eu-west-1") == ["sagemaker-ict-guard-prod"]
    assert samconfig_stack_names(SAMCONFIG, "ap-south-1") == []
    assert samconfig_stack_names(SAMCONFIG.parent / "no-such-file.toml", "us-east-1") == []


def test_a_plain_scan_finds_a_stack_deployed_as_prod_and_decides_with_its_policy(
    sandbox, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # no samconfig.toml: the stack's outputs alone find it
    deploy_guard_stack(sandbox.session, sandbox.env, "sagemaker-ict-guard-prod", REMEDIATION_MODE="stop")
    sandbox.create_training_job("resnet-ddp")

    _, document = scan_json("--skip", "cloudtrail")

    assert document["stack"]["name"] == "sagemaker-ict-guard-prod"
    assert document["stack"]["found"] and "guard's outputs" in document["stack"]["found_by"]
    assert document["settings"]["source"] == "the deployed stack sagemaker-ict-guard-prod"
    assert rows(document)["resnet-ddp"]["decision"]["action"] == "stop"
    # explain finds it the same way
    explained = json.loads(run("--json", "explain", "resnet-ddp").stdout)
    assert explained["settings"]["source"] == "the deployed stack sagemaker-ict-guard-prod"


def test_two_guard_stacks_are_a_finding_and_samconfig_picks_which_to_read(sandbox, tmp_path, monkeypatch):
    deploy_guard_stack(sandbox.session, sandbox.env, "guard-a", REMEDIATION_MODE="stop")
    deploy_guard_stack(sandbox.session, sandbox.env, "guard-b", REMEDIATION_MODE="notify")
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "guard-b"\nregion = "us-east-1"\n'
    )
    monkeypatch.chdir(tmp_path)

    code, document = scan_json("--skip", "cloudtrail", "--skip", "jobs", "--skip", "security-groups")

    assert document["stack"]["name"] == "guard-b" and document["settings"]["mode"] == "notify"
    assert code == ExitCode.FINDINGS
    assert any("2 guard stacks" in f["message"] for f in document["findings"])
    # --stack-name still wins
    _, named = scan_json("--stack-name", "guard-a", "--skip", "cloudtrail")
    assert named["stack"]["name"] == "guard-a" and named["settings"]["mode"] == "stop"


def test_without_a_deployed_stack_samconfig_names_the_one_expected(bare_aws, tmp_path, monkeypatch):
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[prod.global.parameters]\nstack_name = "guard-prod"\nregion = "us-east-1"\n'
    )
    monkeypatch.chdir(tmp_path)

    _, document = scan_json("--skip", "cloudtrail")

    assert document["stack"]["name"] == "guard-prod" and not document["stack"]["found"]
    assert document["settings"]["source"] == "defaults: stack guard-prod not found"


def test_bad_stack_name_and_since_are_usage_errors(bare_aws):
    assert run("scan", "--stack-name", "not a stack!").exit_code == ExitCode.USAGE
    result = run("scan", "--since", "yesterday")
    assert result.exit_code == ExitCode.USAGE and "--since" in result.stderr
    assert run("scan", "--since", "2999-01-01").exit_code == ExitCode.USAGE


# -- explain --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["relaunch", "stop", "notify"])
def test_explain_says_what_the_handler_then_does(sandbox, configure, mode):
    hardened = {
        "SecurityGroupIds": [sandbox.env.second_group_id],
        "Subnets": sandbox.env.subnet_ids,
    }
    SCENARIOS = {
        "unencrypted": {"encrypted": False},
        "encrypted-vpc": {"encrypted": True, "VpcConfig": hardened},  # groups of its own
        "single": {"instance_count": 1},
        "exempt": {"tags": {"ict-guard:exempt": "true"}},
    }
    configure(REMEDIATION_MODE=mode)
    deploy_guard_stack(sandbox.session, sandbox.env, REMEDIATION_MODE=mode)
    for name, kwargs in SCENARIOS.items():
        sandbox.create_training_job(name, **kwargs)
    explained = {}
    for name in SCENARIOS:
        result = run("--json", "explain", name)
        explained[name] = json.loads(result.stdout)
        assert result.exit_code == (
            ExitCode.FINDINGS if explained[name]["would_act"] else ExitCode.OK
        )
        assert explained[name]["settings"]["source"] == "the deployed stack sagemaker-ict-guard"

    outcomes = {
        i.result["job"]: i.result for i in sandbox.deliver() if i.result["job"] in SCENARIOS
    }
    for name in SCENARIOS:
        assert explained[name]["decision"]["action"] == outcomes[name]["outcome"], name
        assert explained[name]["decision"]["reason"] == outcomes[name]["reason"], name
    assert explained["single"]["would_act"] is False
    relaunch = explained["unencrypted"]
    if mode == "relaunch":
        assert (
            relaunch["relaunch_request"]["TrainingJobName"]
            == outcomes["unencrypted"]["relaunched_as"]
        )
        assert relaunch["relaunch_request"]["EnableInterContainerTrafficEncryption"] is True
        assert any("CreateTrainingJob" in step for step in relaunch["steps"])
    else:
        assert relaunch["relaunch_request"] is None
    (groups,) = explained["encrypted-vpc"]["security_groups"]
    assert len(groups["missing_rules"]) == 4 == outcomes["encrypted-vpc"]["rules_added"]


def test_explain_after_the_guard_acted(sandbox):
    sandbox.create_training_job("resnet-ddp")
    sandbox.deliver()
    result = run("--json", "explain", "resnet-ddp")
    document = json.loads(result.stdout)
    assert result.exit_code == ExitCode.OK
    assert document["decision"]["action"] == "nothing"
    assert "already remediated" in document["decision"]["reason"]

    clone = run("explain", relaunch_name("resnet-ddp"))
    assert clone.exit_code == ExitCode.OK  # encrypted, its groups already repaired
    assert "repair-security-groups" in clone.stdout and "covered" in clone.stdout


def test_explain_text_output(sandbox):
    sandbox.create_training_job("resnet-ddp")
    # No guard stack here: the CLI judges with the template's defaults (notify) unless told.
    result = run("explain", "resnet-ddp", "--show-request", "--mode", "relaunch")
    assert result.exit_code == ExitCode.FINDINGS
    for text in (
        "Decision: relaunch",
        "StopTrainingJob resnet-ddp",
        relaunch_name("resnet-ddp"),
        "missing ingress UDP 500",
        "Re-launch request",
        '"EnableInterContainerTrafficEncryption": true',
    ):
        assert text in result.stdout, text


def test_explain_a_tuning_job_and_a_child(sandbox):
    sandbox.create_tuning_job("hpo-parent")
    sandbox.create_training_job("hpo-parent-001-abcdef12")
    sagemaker_extension.attach_to_tuning_job(
        ACCOUNT, REGION, "hpo-parent-001-abcdef12", "hpo-parent"
    )

    result = run("--json", "explain", "hpo-parent", "--kind", "tuning", "--mode", "relaunch")
    assert json.loads(result.stdout)["decision"]["action"] == "relaunch"

    result = run("--json", "explain", "hpo-parent-001-abcdef12", "--mode", "relaunch")
    document = json.loads(result.stdout)
    assert document["decision"]["action"] == "leave-to-parent"
    assert document["parent"]["decision"]["action"] == "relaunch"
    assert result.exit_code == ExitCode.FINDINGS  # the guard acts, on the parent


def test_explain_errors(sandbox):
    sandbox.create_tuning_job("hpo-only")
    missing = run("explain", "no-such-job")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert (
        "no training-job named no-such-job" in missing.stderr and "Traceback" not in missing.stderr
    )
    wrong_kind = run("explain", "hpo-only")
    assert wrong_kind.exit_code == ExitCode.NOT_FOUND and "--kind tuning" in wrong_kind.stderr
    invalid = run("explain", "not_a_valid_name")
    assert invalid.exit_code == ExitCode.USAGE
    as_json = run("--json", "explain", "no-such-job")
    assert json.loads(as_json.stdout)["exit_code"] == ExitCode.NOT_FOUND


# -- AWS failures ---------------------------------------------------------------------------------


def _deny(operation: str, code: str = "AccessDeniedException"):
    def hook(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    return hook


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch):
    """Make one AWS operation fail for the CLI's clients, as a missing permission would."""
    hooks: dict[str, Any] = {}
    original = AwsContext.client

    def client(self: AwsContext, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)
        for event, hook in hooks.items():
            if event.split(".")[1] == made.meta.service_model.service_id.hyphenize():
                made.meta.events.register(event, hook, unique_id=event)
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    return hooks


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch):
    """Answer one SageMaker operation for the CLI's clients with a given response."""
    responses: dict[str, dict[str, Any]] = {}
    original = AwsContext.client

    def client(self: AwsContext, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)
        for operation, response in responses.items():
            made.meta.events.register(
                f"before-call.{service}.{operation}",
                lambda response=response, **_: (AWSResponse("", 200, {}, None), response),
                unique_id=f"answer-{operation}",
            )
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    return responses


def test_a_check_that_cannot_run_makes_the_scan_incomplete(bare_aws, denied):
    denied["before-call.cloudtrail.DescribeTrails"] = _deny("DescribeTrails")
    code, document = scan_json("--skip", "stack")
    assert code == ExitCode.AWS_ERROR
    assert document["errors"] == [
        {
            "check": "cloudtrail",
            "message": "permission denied: DescribeTrails (AccessDeniedException)",
        }
    ]


def test_rejected_credentials_are_one_clear_message(bare_aws, denied):
    denied["before-call.sts.GetCallerIdentity"] = _deny("GetCallerIdentity", "ExpiredToken")
    result = run("scan")
    assert result.exit_code == ExitCode.AWS_ERROR
    assert "AWS rejected the credentials (ExpiredToken on GetCallerIdentity)" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = run("--json", "explain", "any-job")
    assert json.loads(as_json.stdout)["error"].startswith("AWS rejected the credentials")


def test_global_options_work_before_and_after_the_subcommand(sandbox):
    sandbox.create_training_job("resnet-ddp")
    before = run("--json", "--region", "us-east-1", "explain", "resnet-ddp")
    after = run("explain", "resnet-ddp", "--region", "us-east-1", "--json")
    assert json.loads(before.stdout)["decision"] == json.loads(after.stdout)["decision"]
    elsewhere = run("explain", "resnet-ddp", "--region", "eu-west-1")
    assert elsewhere.exit_code == ExitCode.NOT_FOUND and "eu-west-1" in elsewhere.stderr


def test_explain_an_automl_child_is_explained_through_its_parent(sandbox):
    sandbox.create_training_job("automl-child")
    job = sagemaker_backends[ACCOUNT][REGION].training_jobs["automl-child"]
    job.request["AutoMLJobArn"] = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:automl-job/auto-1"
    result = run("--json", "explain", "automl-child")
    document = json.loads(result.stdout)
    # The AutoML job is remediated (issue 11): the child is left to it, and explain follows it.
    assert document["decision"]["action"] == "leave-to-parent" and document["parent"] is None
    assert any("its parent is gone" in note for note in document["notes"])
    assert result.exit_code == ExitCode.OK


def test_scan_and_explain_say_a_pipeline_step_is_not_relaunched(sandbox):
    execution = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/churn/execution/abc123"
    sandbox.create_training_job(
        "pipelines-abc123-TrainStep-Xyz",
        tags={"sagemaker:pipeline-execution-arn": execution, "sagemaker:pipeline-step-name": "TrainStep"},
    )
    _, document = scan_json("--mode", "relaunch")
    row = rows(document)["pipelines-abc123-TrainStep-Xyz"]
    assert row["decision"]["action"] == "notify" and execution in row["decision"]["reason"]

    explained = json.loads(run("--json", "explain", "pipelines-abc123-TrainStep-Xyz", "--mode", "relaunch").stdout)
    assert explained["decision"]["action"] == "notify"
    assert explained["steps"] == ["publish a 'notified' alert (action needed)"]
    assert any("SageMaker Pipelines" in note for note in explained["notes"])
