"""Least privilege that holds in a real account (issue 10): the policy documents of template.yaml
and org/central-alert-topic.yaml, asserted statement by statement, and the deploy-time guards.

Each test names the finding of the security review it keeps fixed: a change that brings one
back fails here, not in an account."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from ict_guard.settings import Settings
from sandbox.template import (
    REPO_ROOT,
    SERVERLESS_FUNCTION,
    condition_values,
    function_environment,
    function_properties,
    load_template,
    parameter_value,
    resources_of_type,
)

pytestmark = pytest.mark.template

ACCOUNT = "123456789012"
REGION = "us-east-1"
GUARD_ROLE_PATH = "/sagemaker-ict-guard/"
RESOLVED = {"ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts", "IDEMPOTENCY_TABLE_NAME": "t"}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in _list(document["Statement"]):
        if "Fn::If" in statement:
            _, *branches = statement["Fn::If"]
            yield from (b for b in branches if b != {"Ref": "AWS::NoValue"})
        else:
            yield statement


def _functions(template: dict[str, Any]) -> list[str]:
    return list(resources_of_type(template, SERVERLESS_FUNCTION))


def _role(template: dict[str, Any], function: str) -> dict[str, Any]:
    return template["Resources"][function_properties(template, function)["Role"]["Fn::GetAtt"][0]]


def _role_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = _role(template, function)["Properties"]
    documents = [
        template["Resources"][a["Ref"]]["Properties"]["PolicyDocument"] for a in role.get("ManagedPolicyArns", [])
    ]
    documents += [p["PolicyDocument"] for p in role.get("Policies", [])]
    return [s for d in documents for s in _statements(d)]


def _by_action(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_action: dict[str, dict[str, Any]] = {}
    for statement in statements:
        for action in _list(statement["Action"]):
            assert action not in by_action, f"{action} granted twice"
            by_action[action] = statement
    return by_action


def _sub(value: Any, variables: Mapping[str, Any]) -> Any:
    """Resolve the few intrinsics an ARN in this template is made of (Sub, Join, Split, Ref)."""
    if not isinstance(value, dict):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return variables[argument]
    if function == "Fn::Sub":
        text, local = (argument, {}) if isinstance(argument, str) else argument
        scope = {**variables, **{k: _sub(v, variables) for k, v in local.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(scope[m.group(1)]), text)
    if function == "Fn::Join":
        delimiter, items = argument
        return delimiter.join(_sub(items, variables))
    if function == "Fn::Split":
        delimiter, text = argument
        return _sub(text, variables).split(delimiter)
    raise AssertionError(f"unexpected intrinsic {function}")


PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


# -- 1. iam:PassRole -----------------------------------------------------------------------------


def test_the_default_deployment_passes_only_the_roles_sagemaker_creates(template: dict[str, Any]) -> None:
    default = template["Parameters"]["SageMakerRoleNamePattern"]["Default"]
    assert default == "service-role/AmazonSageMaker-ExecutionRole-*"
    (passing,) = [s for s in _role_statements(template, "JobGuardFunction") if "iam:PassRole" in _list(s["Action"])]
    resource = _sub(passing["Resource"], {**PSEUDO, "SageMakerRoleNamePattern": default})
    assert resource == f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-*"
    conditions = passing["Condition"]
    assert conditions["StringEquals"] == {"iam:PassedToService": "sagemaker.amazonaws.com"}
    associated = [_sub(a, PSEUDO) for a in conditions["ArnLikeIfExists"]["iam:AssociatedResourceArn"]]
    assert associated == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:automl-job/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:data-quality-job-definition/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-quality-job-definition/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-bias-job-definition/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-explainability-job-definition/*",
    ]


@pytest.mark.parametrize(
    ("role", "passable"),
    [
        ("service-role/AmazonSageMaker-ExecutionRole-20250101T000000", True),
        ("AmazonSageMaker-ExecutionRole-20250101T000000", False),  # not SageMaker's path
        ("OrganizationAccountAccessRole", False),
        ("SageMakerAdmin", False),
        ("service-role/AmazonSageMakerServiceCatalogProductsUseRole", False),
    ],
)
def test_the_code_may_pass_exactly_what_iam_lets_it_pass(template: dict[str, Any], role: str, passable: bool) -> None:
    """RELAUNCH_ROLE_PATTERN and the PassRole resource come from one parameter: a job whose role IAM
    would refuse is reported, never stopped for a copy that cannot start."""
    for function in ("JobGuardFunction", "SweeperFunction"):
        variables = function_properties(template, function)["Environment"]["Variables"]
        assert variables["RELAUNCH_ROLE_PATTERN"] == {"Ref": "SageMakerRoleNamePattern"}
        settings = Settings.from_env(function_environment(template, function, RESOLVED))
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        assert settings.may_pass_role(role_arn) is passable
        # IAM's * matches across "/" in a resource ARN, as fnmatch does.
        iam_pattern = f"arn:aws:iam::{ACCOUNT}:role/{template['Parameters']['SageMakerRoleNamePattern']['Default']}"
        assert fnmatch.fnmatchcase(role_arn, iam_pattern) is passable


# -- 2. security groups only in the repairable VPCs ------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "allowed"),
    [
        ("", [f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*"]),
        ("vpc-0a1b2c3d4e5f60718", ["arn:*:ec2:*:*:vpc/vpc-0a1b2c3d4e5f60718"]),
        ("vpc-1,vpc-2", ["arn:*:ec2:*:*:vpc/vpc-1", "arn:*:ec2:*:*:vpc/vpc-2"]),
    ],
)
def test_security_group_writes_are_limited_to_the_repairable_vpcs(
    template: dict[str, Any], listed: str, allowed: list[str]
) -> None:
    parameter = template["Parameters"]["RepairVpcIds"]
    assert parameter["Type"] == "CommaDelimitedList" and parameter["Default"] == ""
    every_own_vpc = condition_values(template, {"RepairVpcIds": listed})["RepairInEveryOwnVpc"]
    assert every_own_vpc is (listed == "")
    writes = 0
    for function in ("JobGuardFunction", "SecurityGroupGuardFunction"):
        for statement in _role_statements(template, function):
            ec2_writes = [
                a for a in _list(statement["Action"]) if a.startswith("ec2:") and not a.startswith("ec2:Describe")
            ]
            if not ec2_writes:
                continue
            writes += len(ec2_writes)
            condition, when_all, when_listed = statement["Condition"]["ArnLike"]["ec2:Vpc"]["Fn::If"]
            assert condition == "RepairInEveryOwnVpc"
            value = when_all if every_own_vpc else when_listed
            variables = {**PSEUDO, "RepairVpcIds": listed.split(",")}
            assert _list(_sub(value, variables)) == allowed, function
    # Job guard: Authorize in/out and CreateTags; security-group guard: Authorize in/out.
    assert writes == 5


def test_the_job_guard_reads_subnets_to_find_the_jobs_vpc(template: dict[str, Any]) -> None:
    by_action = _by_action(_role_statements(template, "JobGuardFunction"))
    assert by_action["ec2:DescribeSubnets"]["Resource"] == "*"  # Describe* has no resource types
    code = (REPO_ROOT / "layers/ict_guard/python/ict_guard/security_groups.py").read_text(encoding="utf-8")
    assert "describe_subnets" in code


# -- 3. Security Hub (the provider's call only): tests/template/test_operator_features.py -------


def test_no_role_may_update_findings_of_other_products(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        document = (resource.get("Properties") or {}).get("PolicyDocument")
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and document:
            actions = {a for s in _statements(document) for a in _list(s["Action"])}
            assert "securityhub:BatchUpdateFindings" not in actions, logical_id


# -- 4. TLS only, service principals of this account only, no unused grants -----------------------


@pytest.mark.parametrize(
    ("policy", "resource", "action"),
    [
        ("AlertTopicPolicy", {"Ref": "AlertTopic"}, "sns:Publish"),
        ("ChatTopicPolicy", {"Ref": "ChatTopic"}, "sns:Publish"),
        ("DeadLetterQueuePolicy", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, "sqs:*"),
    ],
)
def test_topics_and_queue_refuse_requests_without_tls(
    template: dict[str, Any], policy: str, resource: dict[str, Any], action: str
) -> None:
    document = template["Resources"][policy]["Properties"]["PolicyDocument"]
    denies = [s for s in _statements(document) if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": action,
            "Resource": resource,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    # Every topic and queue of the template has such a policy.
    covered = {
        _list(r["Properties"].get("Topics") or r["Properties"].get("Queues"))[0]["Ref"]
        for r in template["Resources"].values()
        if r["Type"] in {"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}
    }
    assert covered == set(resources_of_type(template, "AWS::SNS::Topic")) | set(
        resources_of_type(template, "AWS::SQS::Queue")
    )


def _service_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("PolicyDocument", "KeyPolicy"):
            # Key, topic and queue policies (the trail bucket's policy, for CloudTrail, is
            # tested in test_operator_features.py with the User Guide's aws:SourceArn).
            if key in properties and resource["Type"] in {
                "AWS::KMS::Key",
                "AWS::SNS::TopicPolicy",
                "AWS::SQS::QueuePolicy",
            }:
                for statement in _statements(properties[key]):
                    principal = statement.get("Principal")
                    if isinstance(principal, dict) and "Service" in principal and statement["Effect"] == "Allow":
                        yield logical_id, statement


def test_every_service_principal_is_bound_to_this_account_and_its_source(template: dict[str, Any]) -> None:
    seen = set()
    for logical_id, statement in _service_statements(template):
        conditions = {key for operator in statement["Condition"].values() for key in operator}
        assert {"aws:SourceAccount", "aws:SourceArn"} <= conditions, logical_id
        seen.add((logical_id, statement["Principal"]["Service"]))
    assert seen == {
        ("DeadLetterQueuePolicy", "events.amazonaws.com"),  # the rules' dead-letter config
        ("AlertTopicKey", "cloudwatch.amazonaws.com"),  # alarms publish to the encrypted topic
        ("AlertTopicPolicy", "cloudwatch.amazonaws.com"),
    }
    # Nothing of the stack publishes to the alert topic as EventBridge.
    for logical_id in ("AlertTopicKey", "AlertTopicPolicy"):
        assert "events.amazonaws.com" not in str(template["Resources"][logical_id]), logical_id


def test_alarm_grants_name_this_accounts_alarms(template: dict[str, Any]) -> None:
    for logical_id, statement in _service_statements(template):
        if statement["Principal"]["Service"] == "cloudwatch.amazonaws.com":
            assert _sub(statement["Condition"]["StringEquals"]["aws:SourceAccount"], PSEUDO) == ACCOUNT
            assert _sub(statement["Condition"]["ArnLike"]["aws:SourceArn"], PSEUDO) == (
                f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"
            ), logical_id


# -- 5. logs only on the functions' own log groups ------------------------------------------------


@pytest.mark.parametrize("function", ["JobGuardFunction", "SweeperFunction", "SecurityGroupGuardFunction"])
def test_functions_write_logs_only_to_their_own_log_group(template: dict[str, Any], function: str) -> None:
    properties = function_properties(template, function)
    assert "Policies" not in properties, "SAM would generate a role with AWSLambdaBasicExecutionRole"
    role = _role(template, function)
    assert role["Type"] == "AWS::IAM::Role"
    # No AWS managed policy (AWSLambdaBasicExecutionRole grants logs on "*").
    assert all(set(arn) == {"Ref"} for arn in role["Properties"].get("ManagedPolicyArns", []))
    log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
    name = _sub(
        {"Fn::Sub": template["Resources"][log_group]["Properties"]["LogGroupName"]["Fn::Sub"]},
        {**PSEUDO, "AWS::StackName": "guard"},
    )
    logs = [s for s in _role_statements(template, function) if any(a.startswith("logs:") for a in _list(s["Action"]))]
    assert [sorted(_list(s["Action"])) for s in logs] == [["logs:CreateLogStream", "logs:PutLogEvents"]]
    resources = [_sub(r, {**PSEUDO, log_group: name}) for r in logs[0]["Resource"]]
    assert resources == [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:log-stream:*",
    ]
    by_action = _by_action(_role_statements(template, function))
    assert by_action["sqs:SendMessage"]["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert by_action["xray:PutTraceSegments"]["Resource"] == "*"


# -- 6. the central topic's publishers are the guard's roles -----------------------------------------


def test_the_central_topic_defaults_to_the_guards_roles(template: dict[str, Any]) -> None:
    central = load_template(REPO_ROOT / "org" / "central-alert-topic.yaml")
    pattern = central["Parameters"]["PublisherRoleNamePattern"]["Default"]
    assert pattern == "sagemaker-ict-guard/*"
    for function in _functions(template):
        assert _role(template, function)["Properties"]["Path"] == GUARD_ROLE_PATH
        # aws:PrincipalArn of a role session is the role's ARN, path included.
        role_arn = f"arn:aws:iam::{ACCOUNT}:role{GUARD_ROLE_PATH}StackSet-guard-1a2b-JobGuardFunctionRole-XyZ"
        assert fnmatch.fnmatchcase(role_arn, f"arn:aws:iam::*:role/{pattern}")
    assert not fnmatch.fnmatchcase(f"arn:aws:iam::{ACCOUNT}:role/Admin", f"arn:aws:iam::*:role/{pattern}")


# -- 7. no reserved concurrency -----------------------------------------------------------------------


def test_no_function_reserves_concurrency(template: dict[str, Any]) -> None:
    for function in _functions(template):
        assert "ReservedConcurrentExecutions" not in function_properties(template, function), function


# -- 8. AlertEmail only with the topic the stack creates ----------------------------------------------


def _rule_holds(template: dict[str, Any], rule: Mapping[str, Any], parameters: Mapping[str, str]) -> bool:
    def evaluate(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            return parameter_value(template, argument, parameters)
        if function == "Fn::Equals":
            return str(evaluate(argument[0])) == str(evaluate(argument[1]))
        if function == "Fn::Not":
            return not evaluate(argument[0])
        raise AssertionError(f"unexpected rule function {function}")

    if "RuleCondition" in rule and not evaluate(rule["RuleCondition"]):
        return True
    return all(evaluate(a["Assert"]) for a in rule["Assertions"])


@pytest.mark.parametrize(
    ("parameters", "accepted"),
    [
        ({}, True),
        ({"AlertEmail": "sec@example.com"}, True),
        ({"ExistingAlertTopicArn": "arn:aws:sns:us-east-1:111122223333:central"}, True),
        (
            {"ExistingAlertTopicArn": "arn:aws:sns:us-east-1:111122223333:central", "AlertEmail": "sec@example.com"},
            False,
        ),
    ],
)
def test_an_email_for_an_existing_topic_is_refused_before_deploying(
    template: dict[str, Any], parameters: dict[str, str], accepted: bool
) -> None:
    rule = template["Rules"]["AlertEmailOnlyWithTheCreatedTopic"]
    assert _rule_holds(template, rule, parameters) is accepted
    assert "subscribe the address to the existing topic" in rule["Assertions"][0]["AssertDescription"]


def test_no_samconfig_environment_breaks_a_rule(template: dict[str, Any]) -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    for environment, sections in config.items():
        if environment == "version":
            continue
        overrides = sections["deploy"]["parameters"]["parameter_overrides"]
        parameters = dict(re.findall(r'(\w+)="([^"]*)"', overrides))
        for name, rule in template["Rules"].items():
            assert _rule_holds(template, rule, parameters), (environment, name)


# -- 9. every resource type the Create calls touch -------------------------------------------------


def test_create_training_job_covers_jobs_on_training_plans(template: dict[str, Any]) -> None:
    by_action = _by_action(_role_statements(template, "JobGuardFunction"))
    training = [_sub(r, PSEUDO) for r in _list(by_action["sagemaker:CreateTrainingJob"]["Resource"])]
    assert training == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-plan/*",
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:reserved-capacity/*",
    ]
    tuning = [_sub(r, PSEUDO) for r in _list(by_action["sagemaker:CreateHyperParameterTuningJob"]["Resource"])]
    assert tuning == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/*"]
    for action in ("sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"):
        assert by_action[action]["Condition"] == {"Bool": {"sagemaker:InterContainerTrafficEncryption": "true"}}


# -- 9b. the four kinds of job and monitoring schedules, and nothing beyond them ------------------

# The types the guard reads, stops and tags, as the Service Authorization Reference (Amazon
# SageMaker) names them: the four kinds of job, monitoring schedules and the four job definitions a
# schedule may name; and the calls it makes on them.
MONITORING_DEFINITION_TYPES = [
    "data-quality-job-definition",
    "model-quality-job-definition",
    "model-bias-job-definition",
    "model-explainability-job-definition",
]
JOB_TYPES = [
    "training-job",
    "hyper-parameter-tuning-job",
    "processing-job",
    "automl-job",
    "monitoring-schedule",
    *MONITORING_DEFINITION_TYPES,
]
READ_STOP_TAG = {
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:DescribeProcessingJob",
    # Describes AutoML jobs of both API versions; DescribeAutoMLJob (V1 only) is not needed.
    "sagemaker:DescribeAutoMLJobV2",
    "sagemaker:DescribeMonitoringSchedule",
    "sagemaker:DescribeDataQualityJobDefinition",
    "sagemaker:DescribeModelQualityJobDefinition",
    "sagemaker:DescribeModelBiasJobDefinition",
    "sagemaker:DescribeModelExplainabilityJobDefinition",
    "sagemaker:StopTrainingJob",
    "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:StopAutoMLJob",
    "sagemaker:StopMonitoringSchedule",
    "sagemaker:ListTags",
    "sagemaker:AddTags",
}
# The copy of each kind, and the resource types its request is authorized against.
CREATES = {
    "sagemaker:CreateTrainingJob": ["training-job", "training-plan", "reserved-capacity"],
    "sagemaker:CreateHyperParameterTuningJob": ["hyper-parameter-tuning-job"],
    "sagemaker:CreateProcessingJob": ["processing-job"],
    # Every AutoML copy is made with the V2 API, whatever version made the original.
    "sagemaker:CreateAutoMLJobV2": ["automl-job"],
    # The encrypted copy of a job definition a schedule names (definitions are immutable).
    "sagemaker:CreateDataQualityJobDefinition": ["data-quality-job-definition"],
    "sagemaker:CreateModelQualityJobDefinition": ["model-quality-job-definition"],
    "sagemaker:CreateModelBiasJobDefinition": ["model-bias-job-definition"],
    "sagemaker:CreateModelExplainabilityJobDefinition": ["model-explainability-job-definition"],
}
# A schedule is encrypted in place.
UPDATES = {"sagemaker:UpdateMonitoringSchedule": ["monitoring-schedule"]}
LISTS = {
    "sagemaker:ListTrainingJobs",
    "sagemaker:ListHyperParameterTuningJobs",
    "sagemaker:ListProcessingJobs",
    "sagemaker:ListAutoMLJobs",
    "sagemaker:ListMonitoringSchedules",
}
# The other actions that take sagemaker:InterContainerTrafficEncryption (the guard never creates a
# V1 AutoML job, and encrypts a schedule in place instead of creating one), and what would start,
# delete or re-list what the guard only reads: no grant for any of them.
NOT_GRANTED = {
    "sagemaker:CreateAutoMLJob",
    "sagemaker:DescribeAutoMLJob",
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:StartMonitoringSchedule",
    "sagemaker:DeleteMonitoringSchedule",
    "sagemaker:DeleteDataQualityJobDefinition",
    "sagemaker:DeleteModelQualityJobDefinition",
    "sagemaker:DeleteModelBiasJobDefinition",
    "sagemaker:DeleteModelExplainabilityJobDefinition",
    "sagemaker:ListDataQualityJobDefinitions",
    "sagemaker:ListModelQualityJobDefinitions",
    "sagemaker:ListModelBiasJobDefinitions",
    "sagemaker:ListModelExplainabilityJobDefinitions",
}


def _sagemaker_actions(template: dict[str, Any], function: str) -> set[str]:
    return {a for s in _role_statements(template, function) for a in _list(s["Action"]) if a.startswith("sagemaker:")}


def test_the_job_guard_reads_stops_and_tags_exactly_the_four_kinds(template: dict[str, Any]) -> None:
    by_action = _by_action(_role_statements(template, "JobGuardFunction"))
    for action in READ_STOP_TAG:
        resources = [_sub(r, PSEUDO) for r in _list(by_action[action]["Resource"])]
        assert resources == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/*" for kind in JOB_TYPES], action
        assert "Condition" not in by_action[action], action


@pytest.mark.parametrize("action", sorted(CREATES))
def test_every_copy_is_created_only_encrypted_on_its_own_resource_types(template: dict[str, Any], action: str) -> None:
    statement = _by_action(_role_statements(template, "JobGuardFunction"))[action]
    assert statement["Effect"] == "Allow"
    assert _list(statement["Action"]) == [action]
    resources = [_sub(r, PSEUDO) for r in _list(statement["Resource"])]
    assert resources == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/*" for kind in CREATES[action]]
    # The training grant's condition, exactly: a request without the flag, or with false, is
    # denied (a missing key fails Bool), so the guard can never start an unencrypted job.
    assert statement["Condition"] == {"Bool": {"sagemaker:InterContainerTrafficEncryption": "true"}}


def test_roles_are_passed_only_for_jobs_of_the_four_kinds_and_schedules(template: dict[str, Any]) -> None:
    (passing,) = [s for s in _role_statements(template, "JobGuardFunction") if "iam:PassRole" in _list(s["Action"])]
    associated = [_sub(a, PSEUDO) for a in passing["Condition"]["ArnLikeIfExists"]["iam:AssociatedResourceArn"]]
    assert associated == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/*" for kind in JOB_TYPES]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("JobGuardFunction", READ_STOP_TAG | set(CREATES) | set(UPDATES) | {"sagemaker:ListMonitoringSchedules"}),
        ("SweeperFunction", READ_STOP_TAG | set(CREATES) | set(UPDATES) | LISTS),
        ("SecurityGroupGuardFunction", set()),
    ],
)
def test_no_sagemaker_action_beyond_the_four_kinds(template: dict[str, Any], function: str, expected: set[str]) -> None:
    actions = _sagemaker_actions(template, function)
    assert actions == expected
    assert not actions & NOT_GRANTED
    assert all("*" not in a for a in actions)
    # Every SageMaker resource a role names is one of the kinds' (or a training plan's).
    allowed = {kind for kinds in (*CREATES.values(), *UPDATES.values()) for kind in kinds}
    for statement in _role_statements(template, function):
        if any(a.startswith("sagemaker:") for a in _list(statement["Action"])):
            for resource in _list(statement["Resource"]):
                if resource == "*":
                    assert set(_list(statement["Action"])) <= LISTS, statement
                    continue
                kind = _sub(resource, PSEUDO).split(":")[-1].split("/")[0]
                assert kind in allowed, resource


def test_schedules_are_updated_only_encrypted_or_pointed_at_a_named_definition(template: dict[str, Any]) -> None:
    """UpdateMonitoringSchedule, on schedules only. BoolIfExists, unlike the Create grants: an update
    that names a job definition carries no flag, and whether SageMaker puts the key in the request
    context for it is documented nowhere; with Bool an absent key would deny the guard's own
    update. Where the key is there it must be true. The definitions the guard can create, and so
    point a schedule at, are encrypted (the Create grants above, with Bool)."""
    statement = _by_action(_role_statements(template, "JobGuardFunction"))["sagemaker:UpdateMonitoringSchedule"]
    assert statement["Effect"] == "Allow"
    assert _list(statement["Action"]) == ["sagemaker:UpdateMonitoringSchedule"]
    assert [_sub(r, PSEUDO) for r in _list(statement["Resource"])] == [
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/*"
    ]
    assert statement["Condition"] == {"BoolIfExists": {"sagemaker:InterContainerTrafficEncryption": "true"}}
    # The exception is this one action: every Create keeps Bool (test above).
    relaxed = [
        s
        for s in _role_statements(template, "JobGuardFunction")
        if "sagemaker:InterContainerTrafficEncryption" in (s.get("Condition") or {}).get("BoolIfExists", {})
    ]
    assert relaxed == [statement]


def test_only_the_sweeper_lists_jobs(template: dict[str, Any]) -> None:
    by_action = _by_action(_role_statements(template, "SweeperFunction"))
    for action in LISTS:
        # SageMaker List* actions have no resource types: "*" is the only resource IAM accepts.
        assert by_action[action]["Resource"] == "*", action
    # The job guard lists one thing: the schedules that run a job definition created without the
    # flag (ListMonitoringSchedules by MonitoringJobDefinitionName).
    assert _sagemaker_actions(template, "JobGuardFunction") & LISTS == {"sagemaker:ListMonitoringSchedules"}


# -- 7b. the sweep's schedule keeps what it cannot deliver ------------------------------------------


def test_the_sweep_schedule_has_a_dead_letter_queue(template: dict[str, Any]) -> None:
    sweep = function_properties(template, "SweeperFunction")["Events"]["Sweep"]
    assert sweep["Type"] == "Schedule"
    assert sweep["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert sweep["Properties"]["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 900
    queue_policy = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    (events,) = [s for s in _statements(queue_policy) if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    # SAM names the schedule's rule <function><event>.
    assert {"Fn::GetAtt": ["SweeperFunctionSweep", "Arn"]} in events["Condition"]["ArnEquals"]["aws:SourceArn"]


# -- 9c. every managed policy fits IAM's size quota where names are longest --------------------------

# IAM: a managed policy holds at most 6,144 characters, whitespace not counted (IAM User Guide, "IAM
# and AWS STS quotas"). ARNs are most of a policy here, and their length depends on the partition
# and the region: measured with the longest ones the guard may be deployed to, a 256-character
# existing topic name (SNS's maximum), five repairable VPCs and the default role-name pattern.
MANAGED_POLICY_MAX_CHARS = 6144
LONGEST_NAMES = {"AWS::Partition": "aws-us-gov", "AWS::Region": "ap-southeast-4", "AWS::AccountId": ACCOUNT}


def _resolved(value: Any, variables: Mapping[str, Any]) -> Any:
    """The policy document with every intrinsic replaced by a value, the longer branch of an If."""
    if isinstance(value, list):
        return [_resolved(v, variables) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::If"}:
        _, *branches = value["Fn::If"]
        resolved = [_resolved(b, variables) for b in branches]
        return max(resolved, key=lambda b: len(json.dumps(b, separators=(",", ":"))))
    if set(value) == {"Fn::GetAtt"}:
        # A key's or a table's ARN; twice the name, longer than either.
        logical_id, attribute = value["Fn::GetAtt"]
        partition, region = variables["AWS::Partition"], variables["AWS::Region"]
        return f"arn:{partition}:x:{region}:{ACCOUNT}:{logical_id}-{attribute}-X" * 2
    if set(value) == {"Ref"} and value["Ref"] not in variables:
        return variables["ExistingAlertTopicArn"]
    if len(value) == 1 and next(iter(value)) in {"Ref", "Fn::Sub", "Fn::Join", "Fn::Split"}:
        return _sub(value, variables)
    return {k: _resolved(v, variables) for k, v in value.items()}


@pytest.mark.parametrize("policy", ["JobRemediationPolicy", "MonitoringRemediationPolicy"])
def test_every_managed_policy_fits_the_size_quota(template: dict[str, Any], policy: str) -> None:
    variables = {
        **LONGEST_NAMES,
        "SageMakerRoleNamePattern": template["Parameters"]["SageMakerRoleNamePattern"]["Default"],
        "RepairVpcIds": [f"vpc-{n:017x}" for n in range(5)],
        "ExistingAlertTopicArn": f"arn:aws-us-gov:sns:ap-southeast-4:{ACCOUNT}:{'t' * 256}",
    }
    document = _resolved(template["Resources"][policy]["Properties"]["PolicyDocument"], variables)
    size = len(json.dumps(document, separators=(",", ":")))
    assert size <= MANAGED_POLICY_MAX_CHARS, f"{policy}: {size} characters"


def test_both_remediating_roles_attach_both_managed_policies(template: dict[str, Any]) -> None:
    for function in ("JobGuardFunction", "SweeperFunction"):
        attached = _role(template, function)["Properties"]["ManagedPolicyArns"]
        assert attached == [{"Ref": "JobRemediationPolicy"}, {"Ref": "MonitoringRemediationPolicy"}], function


# -- 10. every scanner suppression sits next to its resource, with its reason ------------------------


@pytest.mark.parametrize("path", ["template.yaml", "org/central-alert-topic.yaml"])
def test_every_scanner_suppression_gives_its_reason(path: str) -> None:
    document = load_template(REPO_ROOT / path)
    suppressed = 0
    for logical_id, resource in document["Resources"].items():
        metadata = resource.get("Metadata") or {}
        for skip in (metadata.get("checkov") or {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (logical_id, skip)
            assert len(skip.get("comment", "").split()) >= 8, f"{logical_id}: {skip['id']} needs its reason"
            suppressed += 1
        for check in ((metadata.get("cfn-lint") or {}).get("config") or {}).get("ignore_checks", []):
            suppressed += 1
            # cfn-lint has no reason field: the reason is the YAML comment right above the ID.
            text = (REPO_ROOT / path).read_text(encoding="utf-8")
            block = text[text.index(f"\n  {logical_id}:\n") :]
            lines = block[: block.index(f"- {check}")].rstrip().splitlines()
            assert lines[-1].strip().startswith("#") and check in "\n".join(lines[-4:]), (logical_id, check)
    assert suppressed


def test_the_scan_runs_on_every_condition_both_ways(template: dict[str, Any]) -> None:
    """scripts/scan-variants.json (the parameter sets scripts/scan scans) takes every condition of
    the template both ways, so no conditional resource goes unscanned."""
    variants = json.loads((REPO_ROOT / "scripts" / "scan-variants.json").read_text(encoding="utf-8"))["variants"]
    taken: dict[str, set[bool]] = {}
    for defaults in variants.values():
        for name, value in condition_values(template, defaults).items():
            taken.setdefault(name, set()).add(value)
    assert taken and all(values == {True, False} for values in taken.values()), taken


def test_only_the_sweeper_queries_and_only_the_owed_work_index(template: dict[str, Any]) -> None:
    """The sweep reads owed work and its cursor with one Query on the ledger's sparse index; no
    role may Query or Scan the table itself (its items hold re-launch requests)."""
    (query,) = [s for s in _role_statements(template, "SweeperFunction") if "dynamodb:Query" in _list(s["Action"])]
    assert _list(query["Action"]) == ["dynamodb:Query"]
    assert query["Resource"] == {"Fn::Sub": "${IdempotencyTable.Arn}/index/SweepIndex"}
    for function in ("JobGuardFunction", "SecurityGroupGuardFunction"):
        actions = {a for s in _role_statements(template, function) for a in _list(s["Action"])}
        assert not actions & {"dynamodb:Query", "dynamodb:Scan"}, function
    sweeper_actions = {a for s in _role_statements(template, "SweeperFunction") for a in _list(s["Action"])}
    assert "dynamodb:Scan" not in sweeper_actions
