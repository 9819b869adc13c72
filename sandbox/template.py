"""template.yaml as data: the one source of event patterns and table schemas for the sandbox.

The demo and the tests never copy a pattern or a key schema by hand; they read them here, so a
wrong pattern in template.yaml fails locally the same way it would fail in AWS.

The file is read by cfn-lint's own YAML loader (the one `sam validate --lint` runs): CloudFormation's
short-form tags (``!Ref``, ``!Sub``, ``!GetAtt`` ...) become their long forms (``{"Ref": ...}``,
``{"Fn::Sub": ...}``, ``{"Fn::GetAtt": [resource, attribute]}``), exactly as CloudFormation reads
them; so does an unknown ``!Name`` (``Fn::Name``), which cfn-lint's rules then report. Its maps,
lists and strings are cfn-lint's nodes (subclasses of dict, list and str that remember their line):
they compare equal to plain values and serialise as them. Nothing is resolved: values that are
intrinsic functions stay dicts, and the helpers below refuse them where a plain value is needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfnlint.decode import cfn_yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
# Real-shaped CloudTrail events; manifest.json says which functions each one invokes.
EVENTS_DIR = REPO_ROOT / "events"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# SAM's two names for an EventBridge rule event source; both take Pattern and EventBusName.
_RULE_EVENT_TYPES = frozenset({"EventBridgeRule", "CloudWatchEvent"})

# The long-form keys of intrinsic functions: Ref and Condition, and every Fn:: (a short-form tag
# !Name is read as Fn::Name).
_INTRINSIC_NAMES = frozenset({"Ref", "Condition"})
_INTRINSIC_PREFIX = "Fn::"


class TemplateError(ValueError):
    """template.yaml does not have the shape this module needs."""


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """Read template.yaml (or `path`) with cfn-lint's loader: dicts, lists and strings (cfn-lint's
    subclasses of them), intrinsics in long form."""
    source = Path(path) if path is not None else TEMPLATE_PATH
    document = cfn_yaml.load(str(source))
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{source} has no Resources section")
    return document


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with SAM's Globals applied (maps merge, lists add up, the
    function's own scalars win)."""
    resource = template["Resources"].get(logical_id)
    if resource is None or resource.get("Type") != SERVERLESS_FUNCTION:
        raise TemplateError(f"{logical_id} is not an {SERVERLESS_FUNCTION}")
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    return _merge_globals(globals_, resource.get("Properties") or {})


def _merge_globals(globals_: Any, local: Any) -> Any:
    if isinstance(globals_, dict) and isinstance(local, dict) and not _is_intrinsic(local):
        merged = dict(globals_)
        for key, value in local.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(local, list):
        return [*globals_, *local]
    return local


def function_environment(
    template: Mapping[str, Any],
    logical_id: str,
    resolved: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The function's environment as a deployment with default parameters would set it.

    A `!Ref` to a parameter becomes the parameter's value (`parameters`, else its default); an
    `!If` takes the branch its condition selects for those parameter values (a branch that is
    `AWS::NoValue` leaves the variable out); every other intrinsic (a table name, a topic ARN)
    must be given in `resolved`, keyed by variable name, which also overrides literal values.
    """
    variables = (function_properties(template, logical_id).get("Environment") or {}).get(
        "Variables"
    ) or {}
    resolved = resolved or {}
    environment: dict[str, str] = {}
    for name, value in variables.items():
        if name in resolved:
            environment[name] = resolved[name]
            continue
        value = _select_branch(template, value, parameters)
        if value == {"Ref": "AWS::NoValue"}:
            continue
        if not isinstance(value, dict):
            environment[name] = str(value)
        elif set(value) == {"Ref"} and _has_value(template, value["Ref"], parameters):
            environment[name] = parameter_value(template, value["Ref"], parameters)
        else:
            raise TemplateError(f"{logical_id}: give {name} ({value}) a value in `resolved`")
    unknown = sorted(set(resolved) - set(variables))
    if unknown:
        raise TemplateError(f"{logical_id} sets no variable {unknown}")
    return environment


def _select_branch(template: Mapping[str, Any], value: Any, parameters: Mapping[str, str] | None) -> Any:
    while isinstance(value, dict) and set(value) == {"Fn::If"}:
        condition, if_true, if_false = value["Fn::If"]
        value = if_true if condition_values(template, parameters)[condition] else if_false
    return value


def _has_value(template: Mapping[str, Any], name: str, parameters: Mapping[str, str] | None) -> bool:
    definition = (template.get("Parameters") or {}).get(name)
    return definition is not None and ("Default" in definition or name in (parameters or {}))


def parameter_value(
    template: Mapping[str, Any], name: str, parameters: Mapping[str, str] | None = None
) -> str:
    """A parameter's value as CloudFormation passes it to intrinsics: given, else the default."""
    definition = (template.get("Parameters") or {}).get(name)
    if definition is None:
        raise TemplateError(f"no parameter {name}")
    if parameters and name in parameters:
        return str(parameters[name])
    if "Default" not in definition:
        raise TemplateError(f"parameter {name} has no default; give it a value")
    return str(definition["Default"])


def condition_values(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, bool]:
    """Every condition of the template, evaluated for `parameters` (defaults for the others).

    Understands what conditions may contain: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Join,
    Condition, literals and Refs to parameters (pseudo parameters such as AWS::Region are not known here).
    """
    unknown = sorted(set(parameters or {}) - set(template.get("Parameters") or {}))
    if unknown:
        raise TemplateError(f"the template has no parameters {unknown}")
    conditions = template.get("Conditions") or {}
    values: dict[str, bool] = {}

    def condition(name: str, seen: tuple[str, ...] = ()) -> bool:
        if name in seen:
            raise TemplateError(f"condition {name} refers to itself")
        if name not in values:
            if name not in conditions:
                raise TemplateError(f"no condition {name}")
            values[name] = bool(evaluate(conditions[name], (*seen, name)))
        return values[name]

    def evaluate(node: Any, seen: tuple[str, ...]) -> Any:
        if not isinstance(node, dict):
            return node
        (function, argument), *rest = node.items()
        if rest:
            raise TemplateError(f"not an intrinsic function: {node}")
        match function:
            case "Ref":
                return parameter_value(template, argument, parameters)
            case "Condition":
                return condition(argument, seen)
            case "Fn::Equals":
                left, right = (evaluate(a, seen) for a in argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not evaluate(argument[0], seen)
            case "Fn::And":
                return all(evaluate(a, seen) for a in argument)
            case "Fn::Or":
                return any(evaluate(a, seen) for a in argument)
            case "Fn::Join":
                # A CommaDelimitedList parameter joined into one string (RepairInEveryOwnVpc).
                delimiter, items = argument
                items = evaluate(items, seen)
                if isinstance(items, str):
                    items = items.split(",") if items else []
                return str(delimiter).join(str(evaluate(i, seen)) for i in items)
        raise TemplateError(f"{function} cannot be evaluated in a condition here")

    for name in conditions:
        condition(name)
    return values


def resources_deployed(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation creates for `parameters`: those without a Condition, and
    those whose Condition holds."""
    values = condition_values(template, parameters)
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if "Condition" not in resource or values[resource["Condition"]]
    }


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in _INTRINSIC_NAMES or key.startswith(_INTRINSIC_PREFIX)


def _require_plain(value: Any, where: str) -> None:
    """Patterns and schemas are used as-is locally: an intrinsic function cannot be evaluated."""
    if _is_intrinsic(value):
        raise TemplateError(f"{where} uses {next(iter(value))}; the sandbox needs a literal value")
    if isinstance(value, dict):
        for key, item in value.items():
            _require_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _require_plain(item, f"{where}[{index}]")


# -- EventBridge rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRule:
    """One EventBridge rule SAM creates from a function's Events entry."""

    function_logical_id: str
    event_name: str
    pattern: dict[str, Any]
    event_bus_name: str | None = None  # None: the default bus

    @property
    def rule_logical_id(self) -> str:
        """The logical id SAM gives the generated AWS::Events::Rule."""
        return f"{self.function_logical_id}{self.event_name}"

    @property
    def rule_name(self) -> str:
        # EventBridge rule names: 1-64 of [.-_A-Za-z0-9].
        return f"{self.function_logical_id}-{self.event_name}"[:64]

    def pattern_json(self) -> str:
        return json.dumps(self.pattern, sort_keys=True)


def event_rules(template: Mapping[str, Any]) -> list[EventRule]:
    """Every EventBridge rule event of every serverless function, in template order."""
    rules: list[EventRule] = []
    for logical_id, resource in resources_of_type(template, SERVERLESS_FUNCTION).items():
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if event.get("Type") not in _RULE_EVENT_TYPES:
                continue
            properties = event.get("Properties") or {}
            pattern = properties.get("Pattern")
            where = f"{logical_id}.Events.{event_name}.Properties.Pattern"
            if not isinstance(pattern, dict) or not pattern:
                raise TemplateError(f"{where} is missing")
            _require_plain(pattern, where)
            bus = properties.get("EventBusName")
            if bus is not None and not isinstance(bus, str):
                raise TemplateError(f"{logical_id}.Events.{event_name} EventBusName is not literal")
            rules.append(
                EventRule(
                    function_logical_id=logical_id,
                    event_name=event_name,
                    pattern=pattern,
                    event_bus_name=None if bus in (None, "default") else bus,
                )
            )
    return rules


def install_rules(
    events_client: EventBridgeClient,
    template: Mapping[str, Any],
    target_arn_by_function: Mapping[str, str],
) -> list[EventRule]:
    """Create the template's rules on an EventBridge bus, each targeting its function's stand-in.

    `target_arn_by_function` maps a function's logical id to the ARN that receives its events
    (in the sandbox an SQS queue stands in for the Lambda function). Every function that has
    rules must be mapped, and every mapped function must have rules, so that a renamed function
    or event cannot silently route nowhere.
    """
    rules = event_rules(template)
    with_rules = {rule.function_logical_id for rule in rules}
    unmapped = sorted(with_rules - set(target_arn_by_function))
    unknown = sorted(set(target_arn_by_function) - with_rules)
    if unmapped or unknown:
        raise ValueError(
            f"functions with rules but no target: {unmapped}; targets for functions without "
            f"rules: {unknown}"
        )
    for rule in rules:
        bus = {"EventBusName": rule.event_bus_name} if rule.event_bus_name else {}
        events_client.put_rule(
            Name=rule.rule_name, EventPattern=rule.pattern_json(), State="ENABLED", **bus
        )
        target = {
            "Id": rule.function_logical_id,
            "Arn": target_arn_by_function[rule.function_logical_id],
        }
        events_client.put_targets(Rule=rule.rule_name, Targets=[target], **bus)
    return rules


# -- DynamoDB tables -----------------------------------------------------------------------------


def _table_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    resource = template["Resources"].get(logical_id)
    if resource is None or resource.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"{logical_id} is not an AWS::DynamoDB::Table")
    return resource.get("Properties") or {}


def dynamodb_table_kwargs(
    template: Mapping[str, Any],
    logical_id: str = "IdempotencyTable",
    *,
    table_name: str | None = None,
) -> dict[str, Any]:
    """Arguments for boto3 `create_table` that reproduce the template's key schema, global
    secondary indexes and billing.

    The table name is the caller's (CloudFormation generates the real one); pass it as
    `table_name` or add TableName yourself.
    """
    properties = _table_properties(template, logical_id)
    kwargs: dict[str, Any] = {}
    for key in ("KeySchema", "AttributeDefinitions"):
        if key not in properties:
            raise TemplateError(f"{logical_id} has no {key}")
        _require_plain(properties[key], f"{logical_id}.{key}")
        kwargs[key] = [dict(item) for item in properties[key]]
    billing = properties.get("BillingMode", "PROVISIONED")
    _require_plain(billing, f"{logical_id}.BillingMode")
    kwargs["BillingMode"] = billing
    if billing == "PROVISIONED":
        throughput = properties.get("ProvisionedThroughput")
        if throughput is None:
            raise TemplateError(f"{logical_id} is PROVISIONED without ProvisionedThroughput")
        _require_plain(throughput, f"{logical_id}.ProvisionedThroughput")
        kwargs["ProvisionedThroughput"] = dict(throughput)
    indexes = properties.get("GlobalSecondaryIndexes")
    if indexes is not None:
        _require_plain(indexes, f"{logical_id}.GlobalSecondaryIndexes")
        kwargs["GlobalSecondaryIndexes"] = [dict(index) for index in indexes]
    if table_name is not None:
        kwargs["TableName"] = table_name
    return kwargs


def dynamodb_ttl_attribute(
    template: Mapping[str, Any], logical_id: str = "IdempotencyTable"
) -> str | None:
    """The table's time-to-live attribute, or None when TTL is not enabled."""
    ttl = _table_properties(template, logical_id).get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled") is not True:
        return None
    attribute = ttl.get("AttributeName")
    _require_plain(attribute, f"{logical_id}.TimeToLiveSpecification.AttributeName")
    return attribute


def dynamodb_hash_key(template: Mapping[str, Any], logical_id: str = "IdempotencyTable") -> str:
    schema = dynamodb_table_kwargs(template, logical_id)["KeySchema"]
    hashes = [item["AttributeName"] for item in schema if item.get("KeyType") == "HASH"]
    if len(hashes) != 1:
        raise TemplateError(f"{logical_id} must have exactly one HASH key")
    return hashes[0]


def create_dynamodb_table(
    dynamodb_client: DynamoDBClient,
    template: Mapping[str, Any],
    table_name: str,
    logical_id: str = "IdempotencyTable",
) -> None:
    """Create the table as the template defines it, time-to-live included."""
    dynamodb_client.create_table(
        **dynamodb_table_kwargs(template, logical_id, table_name=table_name)
    )
    ttl = dynamodb_ttl_attribute(template, logical_id)
    if ttl is not None:
        dynamodb_client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl, "Enabled": True},
        )
