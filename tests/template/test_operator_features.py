"""template.yaml's operator features: chat topic, Security Hub findings, a central alert topic,
the optional CloudTrail trail, the dashboard, Serverless Application Repository metadata, and
samconfig environments. Condition paths are evaluated for real parameter sets."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ict_guard import findings
from ict_guard.settings import Settings
from sandbox.template import (
    REPO_ROOT,
    SERVERLESS_FUNCTION,
    condition_values,
    function_environment,
    function_properties,
    resources_deployed,
    resources_of_type,
)

pytestmark = pytest.mark.template

CODE_DIR = REPO_ROOT / "layers" / "ict_guard" / "python" / "ict_guard"
RESOLVED = {"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts", "IDEMPOTENCY_TABLE_NAME": "t"}
CENTRAL_TOPIC = "arn:aws:sns:us-east-1:111122223333:org-sagemaker-alerts"
CENTRAL_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# The sweeper is planned in the issue that asks for the dashboard; its catches are on it
# whether or not its code is in this checkout yet.
PLANNED_METRICS = {"SweeperCatches"}


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def _properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return _resources(template)[logical_id]["Properties"]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy["PolicyDocument"]["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _functions(template: dict[str, Any]) -> list[str]:
    return list(resources_of_type(template, SERVERLESS_FUNCTION))


def _role_refs(policy: dict[str, Any]) -> set[str]:
    return {role["Ref"] for role in policy["Roles"]}


def _environment(template: dict[str, Any], function: str, **parameters: str) -> dict[str, str]:
    resolved = dict(RESOLVED)
    if parameters.get("ExistingAlertTopicArn"):
        resolved.pop("ALERT_TOPIC_ARN")
    if parameters.get("EnableChatNotifications") == "true":
        resolved["CHAT_TOPIC_ARN"] = "arn:aws:sns:us-east-1:123456789012:chat"
    return function_environment(template, function, resolved, parameters)


# -- optional features are off by default -------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "condition"),
    [
        ("EnableChatNotifications", "CreateChatTopic"),
        ("EnableSecurityHubFindings", "ImportSecurityHubFindings"),
        ("CreateCloudTrailTrail", "CreateTrail"),
    ],
)
def test_optional_features_are_off_by_default_and_switch_on_with_their_parameter(
    template: dict[str, Any], parameter: str, condition: str
) -> None:
    definition = template["Parameters"][parameter]
    assert definition["Default"] == "false"
    assert definition["AllowedValues"] == ["true", "false"]
    assert condition_values(template)[condition] is False
    assert condition_values(template, {parameter: "true"})[condition] is True
    conditional = {k for k, r in _resources(template).items() if r.get("Condition") == condition}
    assert conditional
    assert not conditional & set(resources_deployed(template))
    assert conditional <= set(resources_deployed(template, {parameter: "true"}))


def test_a_default_deployment_sets_the_same_environment_as_before(template: dict[str, Any]) -> None:
    for function in _functions(template):
        environment = _environment(template, function)
        assert environment["CHAT_TOPIC_ARN"] == ""
        assert environment["SECURITY_HUB_FINDINGS"] == "false"
        settings = Settings.from_env(environment)
        assert settings.chat_topic_arn is None and settings.security_hub_findings is False


# -- chat --------------------------------------------------------------------------------------


def test_chat_topic_is_encrypted_and_only_the_functions_may_publish(template: dict[str, Any]) -> None:
    topic = _properties(template, "ChatTopic")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["ChatTopicKey", "Arn"]}
    assert _properties(template, "ChatTopicKey")["EnableKeyRotation"] is True

    policy = _properties(template, "ChatNotificationsPolicy")
    assert _role_refs(policy) == {f"{f}Role" for f in _functions(template)}
    granted = {(a, json.dumps(s["Resource"], sort_keys=True)) for s in _statements(policy) for a in _actions(s)}
    assert granted == {
        ("sns:Publish", json.dumps({"Ref": "ChatTopic"})),
        ("kms:GenerateDataKey", json.dumps({"Fn::GetAtt": ["ChatTopicKey", "Arn"]})),
        ("kms:Decrypt", json.dumps({"Fn::GetAtt": ["ChatTopicKey", "Arn"]})),
    }
    assert template["Outputs"]["ChatTopicArn"]["Condition"] == "CreateChatTopic"


def test_enabling_chat_gives_every_function_the_topic(template: dict[str, Any]) -> None:
    for function in _functions(template):
        environment = _environment(template, function, EnableChatNotifications="true")
        assert Settings.from_env(environment).chat_topic_arn == "arn:aws:sns:us-east-1:123456789012:chat"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CHAT_TOPIC_ARN"] == {"Fn::If": ["CreateChatTopic", {"Ref": "ChatTopic"}, ""]}


# -- Security Hub ------------------------------------------------------------------------------


def test_security_hub_permission_is_the_providers_import_into_the_accounts_own_product(
    template: dict[str, Any],
) -> None:
    policy = _properties(template, "SecurityHubFindingsPolicy")
    # The functions that remediate jobs (the sweeper runs the job guard's own path).
    assert _role_refs(policy) == {"JobGuardFunctionRole", "SweeperFunctionRole"}
    # Only the provider's call: BatchUpdateFindings (a customer's call on the hub) would let the
    # role change any product's findings; the guard archives its own through the import.
    (statement,) = _statements(policy)
    assert statement["Effect"] == "Allow" and _actions(statement) == ["securityhub:BatchImportFindings"]
    assert statement["Resource"] == {
        "Fn::Sub": (
            "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
        )
    }
    assert "Condition" not in statement
    code = (CODE_DIR / "findings.py").read_text(encoding="utf-8")
    assert "batch_update_findings" not in code and "batch_import_findings" in code
    # The code imports into exactly the product the policy names.
    assert findings.product_arn("aws", "us-east-1", "123456789012") == (
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )


def test_enabling_security_hub_turns_the_findings_on_in_the_code(template: dict[str, Any]) -> None:
    for function in ("JobGuardFunction", "SweeperFunction"):
        environment = _environment(template, function, EnableSecurityHubFindings="true")
        assert Settings.from_env(environment).security_hub_findings is True


# -- a central alert topic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "creates_topic", "key_policy"),
    [
        ({}, True, False),
        ({"ExistingAlertTopicArn": CENTRAL_TOPIC}, False, False),
        ({"ExistingAlertTopicArn": CENTRAL_TOPIC, "ExistingAlertTopicKeyArn": CENTRAL_KEY}, False, True),
        # A key without an existing topic means nothing: the stack's own topic has its own key.
        ({"ExistingAlertTopicKeyArn": CENTRAL_KEY}, True, False),
    ],
)
def test_alert_topic_condition_paths(
    template: dict[str, Any], parameters: dict[str, str], creates_topic: bool, key_policy: bool
) -> None:
    deployed = resources_deployed(template, parameters)
    assert (
        {"AlertTopic", "AlertTopicKey", "AlertTopicPolicy"} <= set(deployed)
        if creates_topic
        else not ({"AlertTopic", "AlertTopicKey", "AlertTopicPolicy"} & set(deployed))
    )
    assert ("ExistingAlertTopicKeyPolicy" in deployed) is key_policy
    for function in _functions(template):
        environment = _environment(template, function, **parameters)
        expected = parameters.get("ExistingAlertTopicArn") or RESOLVED["ALERT_TOPIC_ARN"]
        assert environment["ALERT_TOPIC_ARN"] == expected


def test_the_central_topics_key_is_granted_to_every_function(template: dict[str, Any]) -> None:
    policy = _properties(template, "ExistingAlertTopicKeyPolicy")
    assert _role_refs(policy) == {f"{f}Role" for f in _functions(template)}
    (statement,) = _statements(policy)
    assert sorted(_actions(statement)) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == {"Ref": "ExistingAlertTopicKeyArn"}


def test_topic_and_key_parameters_accept_arns_and_nothing_else(template: dict[str, Any]) -> None:
    topic = re.compile(template["Parameters"]["ExistingAlertTopicArn"]["AllowedPattern"])
    key = re.compile(template["Parameters"]["ExistingAlertTopicKeyArn"]["AllowedPattern"])
    assert topic.match(CENTRAL_TOPIC) and key.match(CENTRAL_KEY) and key.match("")
    for wrong in ("arn:aws:kms:us-east-1:111122223333:alias/alerts", "1234abcd", CENTRAL_TOPIC):
        assert not key.match(wrong), wrong


# -- the optional CloudTrail trail -------------------------------------------------------------


def _trail_arn(template: dict[str, Any]) -> str:
    name = _properties(template, "Trail")["TrailName"]["Fn::Sub"]
    return f"arn:${{AWS::Partition}}:cloudtrail:${{AWS::Region}}:${{AWS::AccountId}}:trail/{name}"


def test_trail_bucket_is_encrypted_private_versioned_and_expires_logs(template: dict[str, Any]) -> None:
    bucket = _resources(template)["TrailBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (lifecycle,) = properties["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == {"Ref": "TrailLogRetentionDays"}
    assert "NoncurrentVersionExpiration" in lifecycle


def test_trail_bucket_policy_is_what_cloudtrail_needs_for_this_trail_and_tls_only(
    template: dict[str, Any],
) -> None:
    policy = _properties(template, "TrailBucketPolicy")
    assert policy["Bucket"] == {"Ref": "TrailBucket"}
    by_sid = {s["Sid"]: s for s in _statements(policy)}
    assert set(by_sid) == {"CloudTrailAclCheck", "CloudTrailWrite", "DenyInsecureTransport"}
    trail_arn = {"Fn::Sub": _trail_arn(template)}
    for sid, action in (("CloudTrailAclCheck", "s3:GetBucketAcl"), ("CloudTrailWrite", "s3:PutObject")):
        statement = by_sid[sid]
        assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
        assert _actions(statement) == [action]
        assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    write = by_sid["CloudTrailWrite"]
    assert write["Resource"] == {"Fn::Sub": "${TrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"}
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    deny = by_sid["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["TrailBucket", "Arn"]} in deny["Resource"]


def test_trail_logs_this_regions_write_management_events_once_the_policy_exists(
    template: dict[str, Any],
) -> None:
    trail = _resources(template)["Trail"]
    assert trail["DependsOn"] == "TrailBucketPolicy"
    properties = trail["Properties"]
    assert properties["S3BucketName"] == {"Ref": "TrailBucket"}
    assert properties["IsLogging"] is True and properties["EnableLogFileValidation"] is True
    assert properties["IsMultiRegionTrail"] is False
    (selector,) = properties["EventSelectors"]
    assert selector["IncludeManagementEvents"] is True
    # CreateTrainingJob, CreateHyperParameterTuningJob and the security-group changes are writes.
    assert selector["ReadWriteType"] in {"WriteOnly", "All"}


# -- dashboard ---------------------------------------------------------------------------------


def _emitted_metric_names() -> set[str]:
    names: set[str] = {findings.FAILURE_METRIC}
    for path in CODE_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'(?:_count|\.count)\(\s*"(\w+)"', text))
        names |= set(re.findall(r'add_metric\(\s*name="(\w+)"', text))
    return names


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = _properties(template, "OperationsDashboard")["DashboardBody"]["Fn::Sub"]
    # Substitutions become placeholders; what is left must be valid JSON.
    return json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body))


def _dashboard_metrics(template: dict[str, Any]) -> list[list[Any]]:
    return [
        metric
        for widget in _dashboard(template)["widgets"]
        if widget["type"] == "metric"
        for metric in widget["properties"]["metrics"]
    ]


def test_dashboard_shows_only_metrics_the_code_emits_with_its_dimension(template: dict[str, Any]) -> None:
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    emitted = _emitted_metric_names() | PLANNED_METRICS
    own = [m for m in _dashboard_metrics(template) if m[0] == namespace]
    assert own
    for metric in own:
        assert metric[1] in emitted, f"the code emits no metric {metric[1]}"
        # Powertools' only default dimension: service = POWERTOOLS_SERVICE_NAME.
        assert metric[2:4] == ["service", service], metric


def test_dashboard_covers_evaluations_actions_failures_queue_and_sweeper(template: dict[str, Any]) -> None:
    names = {m[1] for m in _dashboard_metrics(template)}
    assert {"JobEventsEvaluated", "RuleChangeEventsEvaluated"} <= names
    assert {"JobsRelaunched", "JobsStopped", "JobsNotified", "SecurityGroupsRepaired"} <= names
    assert {"RemediationFailures", "ChatDeliveryFailures", "FindingsDeliveryFailures"} <= names
    assert "SweeperCatches" in names
    queue = [m for m in _dashboard_metrics(template) if m[0] == "AWS/SQS"]
    assert queue == [
        [
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "<DeadLetterQueue.QueueName>",
            {"label": "messages"},
        ]
    ]
    errors = {m[3] for m in _dashboard_metrics(template) if m[:2] == ["AWS/Lambda", "Errors"]}
    assert errors == {f"<{f}>" for f in _functions(template)}
    for widget in _dashboard(template)["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "<AWS::Region>"


# -- Serverless Application Repository ---------------------------------------------------------


def test_serverless_repo_metadata_is_publishable(template: dict[str, Any]) -> None:
    app = template["Metadata"]["AWS::ServerlessRepo::Application"]
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # Constraints from the AWS SAM developer guide ("Metadata section properties"); intrinsic
    # functions are not supported there.
    assert all(isinstance(v, (str, list)) for v in app.values())
    assert re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", app["Name"])
    assert 1 <= len(app["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", app["Author"]) and len(app["Author"]) <= 127
    assert 1 <= len(app["Labels"]) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in app["Labels"])
    assert app["SpdxLicenseId"] == pyproject["license"] == "Apache-2.0"
    assert app["SemanticVersion"] == pyproject["version"]
    for key in ("HomePageUrl", "SourceCodeUrl"):
        assert app[key].startswith("https://")
    for key in ("LicenseUrl", "ReadmeUrl"):
        assert (REPO_ROOT / app[key]).is_file(), key
    license_text = (REPO_ROOT / app["LicenseUrl"]).read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0" in license_text


# -- samconfig environments --------------------------------------------------------------------


def _samconfig() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def test_samconfig_has_dev_prod_and_a_multi_region_example(template: dict[str, Any]) -> None:
    config = _samconfig()
    environments = {name: config[name] for name in config if name != "version"}
    assert {"default", "dev", "prod"} <= set(environments)
    stacks: set[tuple[str, str]] = set()
    for name, environment in environments.items():
        deploy = environment["deploy"]["parameters"]
        region = deploy.get("region") or environment["global"]["parameters"]["region"]
        stack = (deploy["stack_name"], region)
        assert stack not in stacks, f"{name} deploys the same stack as another environment"
        stacks.add(stack)
        # Nothing to build: the functions and the layer are uploaded as they are.
        assert "build" not in environment, name
    prod_regions = {region for stack, region in stacks if stack.startswith("sagemaker-ict-guard-prod")}
    assert len(prod_regions) >= 2, "a multi-region example deploys prod to a second region"


def test_deploying_needs_no_build_step(template: dict[str, Any]) -> None:
    # `sam deploy` without `sam build` (no Docker, no local Python 3.13): no function or layer
    # may need packages beyond the Lambda runtime's and the Powertools layer's.
    for function in _functions(template):
        code = REPO_ROOT / function_properties(template, function)["CodeUri"]
        assert not (code / "requirements.txt").exists(), function
        assert "BuildMethod" not in (_resources(template)[function].get("Metadata") or {})
    layer = _resources(template)["IctGuardLayer"]
    assert "BuildMethod" not in (layer.get("Metadata") or {})
    assert (REPO_ROOT / layer["Properties"]["ContentUri"] / "python" / "ict_guard").is_dir()


def test_every_optional_policy_attaches_to_the_functions_roles(template: dict[str, Any]) -> None:
    # Each function runs as the role of this template named after it (not one SAM generates).
    execution_roles = set()
    for function in _functions(template):
        role = function_properties(template, function)["Role"]
        assert role == {"Fn::GetAtt": [f"{function}Role", "Arn"]}, function
        assert _resources(template)[f"{function}Role"]["Type"] == "AWS::IAM::Role"
        execution_roles.add(f"{function}Role")
    for logical_id, resource in resources_of_type(template, "AWS::IAM::ManagedPolicy").items():
        roles = resource["Properties"].get("Roles")
        if roles is not None:
            assert {r["Ref"] for r in roles} <= execution_roles, logical_id


def test_license_file_is_apache_2() -> None:
    text = Path(REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License")
