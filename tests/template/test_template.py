"""Contract checks of template.yaml against the code it deploys and the rules in DESIGN.md."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import re
import shlex
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from moto import mock_aws

from ict_guard.jobs import JOB_APIS_BY_EVENT, MANAGED_TAG, REMEDIATION_TAG, RemediationTag
from ict_guard.ledger import KEY_PREFIX, SWEEP_INDEX_ATTR, SWEEP_INDEX_NAME, RemediationLedger
from ict_guard.policy import Intent
from ict_guard.rule_changes import RULE_CHANGE_DIRECTIONS
from ict_guard.runtime import IDEMPOTENCY_EXPIRY_SECONDS
from ict_guard.settings import RemediationMode, Settings
from ict_guard.state_changes import TUNING_STATE_CHANGE
from sandbox.template import (
    REPO_ROOT,
    SERVERLESS_FUNCTION,
    create_dynamodb_table,
    dynamodb_hash_key,
    dynamodb_table_kwargs,
    dynamodb_ttl_attribute,
    event_rules,
    function_environment,
    function_properties,
    resources_of_type,
)

pytestmark = pytest.mark.template

CONTRACT_ENVIRONMENT = {
    "REMEDIATION_MODE",
    "MIN_INSTANCE_COUNT",
    "EXEMPT_TAG_KEY",
    "REPAIR_SECURITY_GROUPS",
    "ALERT_TOPIC_ARN",
    "IDEMPOTENCY_TABLE_NAME",
    "UNRELAUNCHABLE_JOB_ACTION",
}
ALERT_TOPIC = {"Fn::If": ["CreateAlertTopic", {"Ref": "AlertTopic"}, {"Ref": "ExistingAlertTopicArn"}]}
DLQ_ARN = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
# ec2:Vpc values: every VPC the account owns in the region, or the listed VPC IDs.
REPAIRABLE_VPCS = {
    "Fn::If": [
        "RepairInEveryOwnVpc",
        {"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/*"},
        {
            "Fn::Split": [
                ",",
                {
                    "Fn::Sub": [
                        "arn:*:ec2:*:*:vpc/${Ids}",
                        {"Ids": {"Fn::Join": [",arn:*:ec2:*:*:vpc/", {"Ref": "RepairVpcIds"}]}},
                    ]
                },
            ]
        },
    ]
}
# A service principal of this account's CloudWatch alarms (confused-deputy prevention).
THIS_ACCOUNTS_ALARMS = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {
        "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
    },
}
GUARDS = ["JobGuardFunction", "SecurityGroupGuardFunction"]
# Per function with EventBridge rules: the event source and the calls its parser accepts.
PARSED_EVENTS = {
    "JobGuardFunction": ("aws.sagemaker", set(JOB_APIS_BY_EVENT)),
    "SecurityGroupGuardFunction": ("aws.ec2", set(RULE_CHANGE_DIRECTIONS)),
}
# What the Lambda runtime and AWS's Powertools layer (built with all extras) provide.
RUNTIME_PACKAGES = {"boto3", "botocore", "aws_lambda_powertools", "pydantic", "aws_xray_sdk"}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: function_properties(template, logical_id)
        for logical_id in resources_of_type(template, SERVERLESS_FUNCTION)
    }


def _statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Statements of a policy document, each branch of a conditional statement included."""
    statements = document["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        if "Fn::If" in statement:
            _, *branches = statement["Fn::If"]
            yield from (b for b in branches if b != {"Ref": "AWS::NoValue"})
        else:
            yield statement


def _function_statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    return [s for document in _policy_documents(template, logical_id) for s in _statements(document)]


def _policy_documents(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """The documents of the function's execution role (a role of this template, see
    test_functions_run_as_roles_of_this_template), the optional managed policies excluded."""
    properties = function_properties(template, logical_id)
    assert "Policies" not in properties, f"{logical_id}: SAM would generate a role"
    role = template["Resources"][properties["Role"]["Fn::GetAtt"][0]]["Properties"]
    documents = []
    for arn in role.get("ManagedPolicyArns", []):
        # A managed policy of this template: its document is here to check. An AWS managed
        # policy (a literal ARN) grants more than we can see here.
        assert isinstance(arn, dict) and set(arn) == {"Ref"}, f"{logical_id}: {arn!r}"
        managed = template["Resources"][arn["Ref"]]
        assert managed["Type"] == "AWS::IAM::ManagedPolicy", f"{logical_id}: {arn!r}"
        documents.append(managed["Properties"]["PolicyDocument"])
    for inline in role.get("Policies", []):
        assert "Statement" in inline["PolicyDocument"], f"{logical_id}: {inline!r}"
        documents.append(inline["PolicyDocument"])
    return documents


def _actions(statement: dict[str, Any]) -> list[str]:
    assert "NotAction" not in statement
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _resource_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in properties:
                yield logical_id, properties[key]


# -- code paths ---------------------------------------------------------------------------------


def _imported_top_level_modules(path: Path) -> set[str]:
    """Modules a file imports at run time (imports under `if TYPE_CHECKING:` excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (Lambda loads handlers as top-level modules)"
            modules.add(str(node.module).split(".")[0])
    return modules


def test_handlers_exist_where_template_points(template: dict[str, Any]) -> None:
    functions = _functions(template)
    assert "JobGuardFunction" in functions
    job_guard = functions["JobGuardFunction"]
    assert Path(job_guard["CodeUri"]).as_posix().rstrip("/") == "functions/job_guard"
    assert job_guard["Handler"] == "app.lambda_handler"
    sg_guard = functions["SecurityGroupGuardFunction"]
    assert Path(sg_guard["CodeUri"]).as_posix().rstrip("/") == "functions/sg_guard"
    assert sg_guard["Handler"] == "app.lambda_handler"
    for logical_id, properties in functions.items():
        module, _, handler = properties["Handler"].rpartition(".")
        source = REPO_ROOT / properties["CodeUri"] / f"{module}.py"
        assert source.is_file(), f"{logical_id}: {source} does not exist"
        tree = ast.parse(source.read_text(encoding="utf-8"))
        defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert handler in defined, f"{logical_id}: {source} defines no {handler}"
        assert [a.arg for a in defined[handler].args.args] == ["event", "context"]


def test_deployed_code_imports_only_what_lambda_provides(template: dict[str, Any]) -> None:
    """Nothing is built before deploy: a handler sees its CodeUri folder, the stdlib, the runtime's
    boto3, the Powertools layer and our layer's packages, and nothing else."""
    layer_root = REPO_ROOT / template["Resources"]["IctGuardLayer"]["Properties"]["ContentUri"] / "python"
    layer_packages = {p.name for p in layer_root.iterdir() if (p / "__init__.py").is_file()}
    allowed = set(sys.stdlib_module_names) | RUNTIME_PACKAGES | layer_packages
    sources = list(layer_root.rglob("*.py"))
    for properties in _functions(template).values():
        code = REPO_ROOT / properties["CodeUri"]
        sources += list(code.rglob("*.py"))
        allowed |= {p.stem for p in code.glob("*.py")}
    for source in sources:
        assert _imported_top_level_modules(source) <= allowed, source


def test_layer_is_uploaded_in_the_python_layout(template: dict[str, Any]) -> None:
    layer = template["Resources"]["IctGuardLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    properties = layer["Properties"]
    assert (REPO_ROOT / properties["ContentUri"] / "python" / "ict_guard" / "__init__.py").is_file()
    assert "Metadata" not in layer, "the layer is uploaded as-is, without sam build"
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] in properties["CompatibleRuntimes"]
    assert set(globals_["Architectures"]) <= set(properties["CompatibleArchitectures"])
    for logical_id, function in _functions(template).items():
        assert {"Ref": "IctGuardLayer"} in function["Layers"], logical_id
        assert {"Ref": "PowertoolsLayerArn"} in function["Layers"], logical_id


def test_powertools_layer_matches_runtime_architecture_and_pinned_version(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["PowertoolsLayerArn"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    globals_ = template["Globals"]["Function"]
    (architecture,) = globals_["Architectures"]
    version = importlib.metadata.version("aws-lambda-powertools")
    expected = f"/aws/service/powertools/python/{architecture}/{globals_['Runtime']}/{version}"
    assert parameter["Default"] == expected


# -- configuration ------------------------------------------------------------------------------


def test_every_function_gets_the_contract_environment(template: dict[str, Any]) -> None:
    for logical_id, properties in _functions(template).items():
        variables = properties["Environment"]["Variables"]
        assert set(variables) >= CONTRACT_ENVIRONMENT, logical_id
        assert variables["POWERTOOLS_SERVICE_NAME"] == "ict-guard"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SageMakerICTGuard"
        assert variables["ALERT_TOPIC_ARN"] == ALERT_TOPIC
        assert variables["IDEMPOTENCY_TABLE_NAME"] == {"Ref": "IdempotencyTable"}


def test_parameter_defaults_make_the_settings_defaults(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    variables = function_properties(template, "JobGuardFunction")["Environment"]["Variables"]
    for name in CONTRACT_ENVIRONMENT - {"ALERT_TOPIC_ARN", "IDEMPOTENCY_TABLE_NAME"}:
        assert variables[name]["Ref"] in parameters, f"{name} is not a template parameter"
    environ = function_environment(
        template,
        "JobGuardFunction",
        {
            "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
            "IDEMPOTENCY_TABLE_NAME": "idempotency",
        },
    )

    settings = Settings.from_env(environ)

    defaults = Settings()
    # Watch first: a console or Serverless Application Repository deploy with default parameters
    # only alerts; enforcing is an explicit choice (samconfig.toml's prod). Compared with the
    # literal, not Settings(): settings.py's own default moves to notify in a separate change.
    assert settings.mode is RemediationMode.NOTIFY
    assert settings.min_instance_count == defaults.min_instance_count
    assert settings.exempt_tag_key == defaults.exempt_tag_key
    assert settings.repair_security_groups == defaults.repair_security_groups
    assert settings.unrelaunchable_job_action == defaults.unrelaunchable_job_action
    assert sorted(parameters["RemediationMode"]["AllowedValues"]) == sorted(m.value for m in RemediationMode)
    assert parameters["MinInstanceCount"]["MinValue"] == 1


def test_exempt_tag_key_pattern_matches_what_the_settings_accept(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["ExemptTagKey"]["AllowedPattern"])
    for key in ("ict-guard:exempt", "team/ml exempt", "a"):
        assert pattern.match(key)
        Settings.from_env({"EXEMPT_TAG_KEY": key})
    for key in ("aws:exempt", "", "x" * 129, "bad#key"):
        assert not pattern.match(key), key


def test_rules_only_let_through_calls_the_guard_can_parse(template: dict[str, Any]) -> None:
    rules = event_rules(template)
    assert rules
    for rule in rules:
        detail = rule.pattern["detail"]
        source, parsed = PARSED_EVENTS[rule.function_logical_id]
        assert rule.pattern["source"] == [source]
        assert rule.event_bus_name is None, "SageMaker's and CloudTrail's events use the default bus"
        if rule.pattern["detail-type"] == [TUNING_STATE_CHANGE]:
            # SageMaker's own event: only a guard-stopped tuning job that reached Stopped.
            assert detail["HyperParameterTuningJobStatus"] == ["Stopped"]
            assert detail["Tags"] == {REMEDIATION_TAG: [RemediationTag.RELAUNCH_PENDING.value]}
            continue
        assert detail["eventSource"] == [f"{source.removeprefix('aws.')}.amazonaws.com"]
        assert rule.pattern["detail-type"] == ["AWS API Call via CloudTrail"]
        assert detail["errorCode"] == [{"exists": False}]
        names = set(detail["eventName"])
        assert names <= parsed
        assert rule.event_bus_name is None, "CloudTrail events arrive on the default bus"


def test_security_group_guard_hears_every_call_that_can_drop_a_rule(
    template: dict[str, Any],
) -> None:
    (rule,) = [r for r in event_rules(template) if r.function_logical_id == "SecurityGroupGuardFunction"]
    assert set(rule.pattern["detail"]["eventName"]) == set(RULE_CHANGE_DIRECTIONS)
    assert set(rule.pattern["detail"]) == {"eventSource", "eventName", "errorCode"}


# -- least privilege ----------------------------------------------------------------------------


def test_no_wildcard_actions(template: dict[str, Any]) -> None:
    for logical_id in resources_of_type(template, SERVERLESS_FUNCTION):
        for statement in _function_statements(template, logical_id):
            for action in _actions(statement):
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"{logical_id}: {action}"
    for logical_id, document in _resource_documents(template):
        for statement in _statements(document):
            for action in _actions(statement):
                if "*" in action:
                    if statement["Effect"] == "Deny":
                        # Denying more grants nothing: a bucket's TLS-only statement.
                        continue
                    # A key policy's default statement: the account (through IAM) administers
                    # its own key. Anything else with a wildcard is a finding.
                    resource_type = template["Resources"][logical_id]["Type"]
                    assert resource_type == "AWS::KMS::Key" and action == "kms:*", logical_id
                    assert statement["Principal"] == {
                        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
                    }


# Actions whose Service Authorization Reference entry has no resource type: "*" is the only
# resource IAM accepts for them.
WITHOUT_RESOURCE_TYPES = {
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sagemaker:ListTrainingJobs",
    "sagemaker:ListHyperParameterTuningJobs",
    "sagemaker:ListProcessingJobs",
    "sagemaker:ListAutoMLJobs",
    "sagemaker:ListMonitoringSchedules",
}


@pytest.mark.parametrize("function", [*GUARDS, "SweeperFunction"])
def test_only_actions_without_resource_types_use_every_resource(template: dict[str, Any], function: str) -> None:
    for statement in _function_statements(template, function):
        if statement["Resource"] == "*":
            assert set(_actions(statement)) <= WITHOUT_RESOURCE_TYPES, statement


@pytest.mark.parametrize(
    "action",
    [
        "sagemaker:CreateTrainingJob",
        "sagemaker:CreateHyperParameterTuningJob",
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateAutoMLJobV2",
        "sagemaker:CreateDataQualityJobDefinition",
        "sagemaker:CreateModelQualityJobDefinition",
        "sagemaker:CreateModelBiasJobDefinition",
        "sagemaker:CreateModelExplainabilityJobDefinition",
    ],
)
def test_jobs_can_only_be_created_encrypted(template: dict[str, Any], action: str) -> None:
    creating = [s for s in _function_statements(template, "JobGuardFunction") if action in _actions(s)]
    assert creating
    for statement in creating:
        assert statement["Effect"] == "Allow"
        assert _actions(statement) == [action]
        assert statement["Condition"] == {"Bool": {"sagemaker:InterContainerTrafficEncryption": "true"}}


def test_roles_can_only_be_passed_to_sagemaker(template: dict[str, Any]) -> None:
    passing = [s for s in _function_statements(template, "JobGuardFunction") if "iam:PassRole" in _actions(s)]
    assert passing
    for statement in passing:
        assert _actions(statement) == ["iam:PassRole"]
        # Both condition keys of iam:PassRole: the service, and the job the role goes with.
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"},
            "ArnLikeIfExists": {
                "iam:AssociatedResourceArn": [
                    {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:training-job/*"},
                    {
                        "Fn::Sub": (
                            "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:hyper-parameter-tuning-job/*"
                        )
                    },
                    {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:processing-job/*"},
                    {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:automl-job/*"},
                    *(
                        {"Fn::Sub": f"arn:${{AWS::Partition}}:sagemaker:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/*"}
                        for kind in (
                            "monitoring-schedule",
                            "data-quality-job-definition",
                            "model-quality-job-definition",
                            "model-bias-job-definition",
                            "model-explainability-job-definition",
                        )
                    ),
                ]
            },
        }
        assert statement["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${SageMakerRoleNamePattern}"
        }


@pytest.mark.parametrize("function", GUARDS)
def test_security_group_changes_are_scoped(template: dict[str, Any], function: str) -> None:
    statements = _function_statements(template, function)
    ec2_writes = [
        s for s in statements if any(a.startswith("ec2:") and not a.startswith("ec2:Describe") for a in _actions(s))
    ]
    assert ec2_writes
    for statement in ec2_writes:
        assert statement["Resource"]["Fn::Sub"].endswith(":security-group/*")
        # Only groups of the VPCs RepairVpcIds allows (tests/template/test_least_privilege.py).
        assert statement["Condition"]["ArnLike"]["ec2:Vpc"] == REPAIRABLE_VPCS
        if "ec2:CreateTags" in _actions(statement):
            assert _actions(statement) == ["ec2:CreateTags"]
            condition = statement["Condition"]
            assert condition["ForAllValues:StringEquals"] == {"aws:TagKeys": [MANAGED_TAG]}
            assert condition["StringEquals"] == {f"aws:RequestTag/{MANAGED_TAG}": "true"}


def test_security_group_guard_has_its_own_role_that_only_restores_managed_groups(
    template: dict[str, Any],
) -> None:
    roles = {function_properties(template, f)["Role"]["Fn::GetAtt"][0] for f in GUARDS}
    assert len(roles) == len(GUARDS)
    statements = _function_statements(template, "SecurityGroupGuardFunction")

    assert {a for s in statements for a in _actions(s)} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sqs:SendMessage",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    authorizing = [s for s in statements if any("Authorize" in a for a in _actions(s))]
    assert authorizing
    for statement in authorizing:
        assert statement["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/{MANAGED_TAG}": "true"},
            "ArnLike": {"ec2:Vpc": REPAIRABLE_VPCS},
        }


@pytest.mark.parametrize("function", GUARDS)
def test_function_can_reach_its_table_topic_and_key(template: dict[str, Any], function: str) -> None:
    statements = _function_statements(template, function)
    by_action = {a: s for s in statements for a in _actions(s)}
    for action in (
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ):
        assert by_action[action]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert by_action["sns:Publish"]["Resource"] == ALERT_TOPIC
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert by_action[action]["Resource"] == {"Fn::GetAtt": ["AlertTopicKey", "Arn"]}
    # The topic key exists only when the stack creates the topic.
    raw = [s for document in _policy_documents(template, function) for s in document["Statement"]]
    conditional = [s["Fn::If"] for s in raw if "Fn::If" in s]
    assert ["CreateAlertTopic", by_action["kms:Decrypt"], {"Ref": "AWS::NoValue"}] in conditional


# -- encryption, table, failure path, alarms -----------------------------------------------------


def test_queue_and_topic_are_encrypted(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    queue = resources["DeadLetterQueue"]["Properties"]
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600

    topic = resources["AlertTopic"]
    assert topic["Condition"] == "CreateAlertTopic"
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertTopicKey", "Arn"]}
    key = resources["AlertTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = [s for s in _statements(key["KeyPolicy"]) if "Service" in s.get("Principal", {})]
    assert any(
        "cloudwatch.amazonaws.com" in s["Principal"]["Service"]
        and {"kms:GenerateDataKey", "kms:Decrypt"} <= set(_actions(s))
        for s in services
    ), "CloudWatch alarms must be able to publish to the encrypted topic"

    topic_policy = resources["AlertTopicPolicy"]["Properties"]["PolicyDocument"]
    statements = [s for s in _statements(topic_policy) if s["Effect"] == "Allow"]
    publishers = {st["Principal"]["Service"] for st in statements}
    assert publishers == {"cloudwatch.amazonaws.com"}
    for statement in statements:
        assert _actions(statement) == ["sns:Publish"]
        assert statement["Condition"] == THIS_ACCOUNTS_ALARMS


def test_table_matches_powertools_and_the_ledger(template: dict[str, Any]) -> None:
    powertools = inspect.signature(DynamoDBPersistenceLayer.__init__).parameters
    ledger = inspect.signature(RemediationLedger.__init__).parameters
    key = dynamodb_hash_key(template)
    ttl = dynamodb_ttl_attribute(template)

    assert key == powertools["key_attr"].default == ledger["key_attr"].default
    assert ttl == powertools["expiry_attr"].default == ledger["expiry_attr"].default
    assert powertools["sort_key_attr"].default is None
    kwargs = dynamodb_table_kwargs(template)
    assert kwargs["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}]
    assert kwargs["AttributeDefinitions"] == [
        {"AttributeName": key, "AttributeType": "S"},
        {"AttributeName": SWEEP_INDEX_ATTR, "AttributeType": "S"},
    ]
    # The ledger's sparse index of owed work, with what the sweep reads of it.
    (index,) = kwargs["GlobalSecondaryIndexes"]
    assert index["IndexName"] == SWEEP_INDEX_NAME
    assert index["KeySchema"] == [{"AttributeName": SWEEP_INDEX_ATTR, "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["job_name", "listed_through"]}
    assert kwargs["BillingMode"] == "PAY_PER_REQUEST"
    table = template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_ledger_works_on_the_table_the_template_defines(template: dict[str, Any]) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_dynamodb_table(dynamodb, template, "idempotency")
        ledger = RemediationLedger(dynamodb, "idempotency", clock=lambda: 1_000.0)

        ledger.record("training-job/demo", Intent.RELAUNCH, {"TrainingJobName": "demo-enc-1"})
        entry = ledger.lookup("training-job/demo")

        ttl = dynamodb.describe_time_to_live(TableName="idempotency")["TimeToLiveDescription"]
        item = dynamodb.scan(TableName="idempotency")["Items"][0]
    assert entry is not None and entry.relaunch_request == {"TrainingJobName": "demo-enc-1"}
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": dynamodb_ttl_attribute(template)}
    assert item[dynamodb_hash_key(template)]["S"].startswith(KEY_PREFIX)
    assert int(item[dynamodb_ttl_attribute(template)]["N"]) > 1_000


def test_the_sweep_finds_owed_work_through_the_templates_index(template: dict[str, Any]) -> None:
    """An item owes work from `record` to `settle`; the cursor is read by the same Query."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_dynamodb_table(dynamodb, template, "idempotency")
        ledger = RemediationLedger(dynamodb, "idempotency", clock=lambda: 1_000.0)
        ledger.record("training-job/owed-job", Intent.RELAUNCH, {"TrainingJobName": "x"}, job_name="Owed-Job")
        ledger.record("training-job/done-job", Intent.STOP, None, job_name="done-job")
        ledger.settle("training-job/done-job", "stop")
        assert ledger.advance_sweep_cursor(900.0) is True
        assert ledger.advance_sweep_cursor(800.0) is False  # never back

        state = ledger.sweep_state()
    assert [(o.key, o.kind, o.name) for o in state.owed] == [("training-job/owed-job", "training-job", "Owed-Job")]
    assert state.cursor == 900.0


def test_failures_retry_a_bounded_number_of_times_then_reach_the_queue(
    template: dict[str, Any],
) -> None:
    for logical_id, properties in _functions(template).items():
        invoke = properties["EventInvokeConfig"]
        assert 0 <= invoke["MaximumRetryAttempts"] <= 2, logical_id
        assert 60 <= invoke["MaximumEventAgeInSeconds"] <= 6 * 3600, logical_id
        assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": DLQ_ARN}
        # Duplicates and retries must meet the first outcome for as long as they can arrive.
        assert invoke["MaximumEventAgeInSeconds"] < IDEMPOTENCY_EXPIRY_SECONDS
        assert properties["Timeout"] <= 900

    queue_policy = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]
    allowed_sources = []
    for statement in _statements(queue_policy["PolicyDocument"]):
        if statement["Principal"] == {"Service": "events.amazonaws.com"}:
            sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
            allowed_sources += sources if isinstance(sources, list) else [sources]
    for rule in event_rules(template):
        event = template["Resources"][rule.function_logical_id]["Properties"]["Events"][rule.event_name]
        assert event["Properties"]["DeadLetterConfig"] == {"Arn": DLQ_ARN}
        retry = event["Properties"]["RetryPolicy"]
        assert retry["MaximumEventAgeInSeconds"] < IDEMPOTENCY_EXPIRY_SECONDS
        assert {"Fn::GetAtt": [rule.rule_logical_id, "Arn"]} in allowed_sources, rule.rule_name


def _referenced(value: dict[str, Any] | str) -> str:
    """The logical id a Ref or GetAtt points at (a literal dimension value as it is)."""
    if isinstance(value, str):
        return value
    return value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]


def test_alarms_watch_the_queue_and_the_function_and_notify_the_topic(
    template: dict[str, Any],
) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [ALERT_TOPIC], logical_id
    watched = {
        (
            a["Properties"]["Namespace"],
            a["Properties"]["MetricName"],
            _referenced(dimension["Value"]),
        )
        for a in alarms.values()
        for dimension in a["Properties"]["Dimensions"]
    }
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "DeadLetterQueue") in watched
    for function in _functions(template):
        assert ("AWS/Lambda", "Errors", function) in watched
        assert ("AWS/Lambda", "DestinationDeliveryFailures", function) in watched
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["Threshold"] == 0


def test_outputs_name_what_operators_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    for function in _functions(template):
        assert outputs[f"{function}Arn"]["Value"] == {"Fn::GetAtt": [function, "Arn"]}
    assert outputs["AlertTopicArn"]["Value"] == ALERT_TOPIC
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["IdempotencyTableName"]["Value"] == {"Ref": "IdempotencyTable"}


def _overrides(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(text))


def test_samconfig_watches_first_and_only_prod_enforces() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    modes = {
        name: _overrides(config[name]["deploy"]["parameters"]["parameter_overrides"]).get("RemediationMode", "notify")
        for name in config
        if name != "version"
    }
    assert modes == {
        "default": "notify",
        "dev": "notify",
        "prod": "relaunch",
        "prod-eu-west-1": "relaunch",
    }


def test_samconfig_overrides_are_valid_parameter_values(template: dict[str, Any]) -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = template["Parameters"]
    environments = [name for name in config if name != "version"]
    assert {"default", "prod"} <= set(environments)
    for environment in environments:
        deploy = config[environment]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        for name, value in _overrides(deploy["parameter_overrides"]).items():
            assert name in parameters, f"{environment}: unknown parameter {name}"
            definition = parameters[name]
            if "AllowedValues" in definition:
                assert value in [str(v) for v in definition["AllowedValues"]], (environment, name)
            if "AllowedPattern" in definition:
                assert re.match(definition["AllowedPattern"], value), (environment, name)
            if "MinValue" in definition:
                assert int(value) >= definition["MinValue"], (environment, name)
