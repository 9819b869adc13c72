"""CloudTrail for the embedded AWS: API calls become "AWS API Call via CloudTrail" events.

In AWS nobody sends these events: the service records the call, CloudTrail turns it into a
management event and delivers it to the default EventBridge bus of the account and region, whatever
client made the call. The embedded AWS does the same, server-side: after moto has handled one of the
operations in `EMITTED_OPERATIONS` (successfully or not), the event is built from what the client
sent and what it got back, and handed to the rules of moto's default bus.

`api_call_event` is the pure part (request/response → event) and is usable on its own, for instance
to write fixture events. `install` hooks the emission into moto; it is idempotent and works for
`mock_aws()` and for `moto.server.ThreadedMotoServer` running in the same process.

Deviations from AWS, on purpose: events are emitted whether or not a trail exists (in AWS they reach
EventBridge only where a trail logs management events in that region); delivery is immediate (AWS
takes seconds to minutes); `requestID` is moto's request id (what the client saw), not a UUID;
timestamps inside requestParameters/responseElements are ISO 8601 strings and blobs base64 strings.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.awsrequest import HeadersDict
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser

DETAIL_TYPE = "AWS API Call via CloudTrail"
EVENT_VERSION = "1.09"

# (service as botocore names it, operation). Every entry is emitted after moto handled the call.
# EC2 entries (e.g. ("ec2", "RevokeSecurityGroupIngress")) need no other change here.
EMITTED_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("sagemaker", "CreateTrainingJob"),
    ("sagemaker", "StopTrainingJob"),
    ("sagemaker", "CreateHyperParameterTuningJob"),
    ("sagemaker", "StopHyperParameterTuningJob"),
    ("sagemaker", "CreateProcessingJob"),
    ("sagemaker", "StopProcessingJob"),
    ("sagemaker", "CreateAutoMLJob"),
    ("sagemaker", "CreateAutoMLJobV2"),
    ("sagemaker", "StopAutoMLJob"),
    # The calls that can take a security-group rule away (the security-group guard's events).
    ("ec2", "RevokeSecurityGroupIngress"),
    ("ec2", "RevokeSecurityGroupEgress"),
    ("ec2", "ModifySecurityGroupRules"),
    # Model monitoring (sandbox/monitoring_extension.py): schedules and the four job definitions.
    ("sagemaker", "CreateMonitoringSchedule"),
    ("sagemaker", "UpdateMonitoringSchedule"),
    ("sagemaker", "CreateDataQualityJobDefinition"),
    ("sagemaker", "CreateModelBiasJobDefinition"),
    ("sagemaker", "CreateModelExplainabilityJobDefinition"),
    ("sagemaker", "CreateModelQualityJobDefinition"),
)

# CloudTrail caps the size of a record's fields (100 KB is the figure given for responseElements)
# and, per its record reference, "if a field is truncated, omitted is present with a value of
# true". Following DESIGN.md ("a field too large for CloudTrail is dropped with omitted: true"),
# the whole requestParameters or responseElements field becomes {"omitted": true}. That is why a
# consumer must be able to find the job without requestParameters: responseElements.trainingJobArn
# is small and survives.
MAX_FIELD_BYTES = 100 * 1024

_DEFAULT_SOURCE_IP = "127.0.0.1"
_READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Search", "BatchGet", "BatchDescribe")


@functools.cache
def service_model(service_name: str) -> ServiceModel:
    """The botocore model of `service_name` (loaded once; loading sagemaker's takes ~70 ms)."""
    return botocore.session.get_session().get_service_model(service_name)


def lower_camel(member_name: str) -> str:
    """CloudTrail's key for a structure member: `VolumeSizeInGB` → `volumeSizeInGB`."""
    return member_name[:1].lower() + member_name[1:]


def cloudtrail_elements(value: Any, shape: Shape | None) -> Any:
    """`value` (as the API takes or returns it) with the keys CloudTrail writes.

    Structure members become lower-camel; map keys are user data and stay exactly as written (a
    hyperparameter named `Learning-Rate` is still `Learning-Rate`); lists and map values are
    converted by their member shapes. Members the model does not know are kept, lower-camel.
    """
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {
            lower_camel(key): cloudtrail_elements(item, shape.members.get(key))
            for key, item in value.items()
        }
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {key: cloudtrail_elements(item, shape.value) for key, item in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list | tuple):
        return [cloudtrail_elements(item, shape.member) for item in value]
    if shape is None and isinstance(value, Mapping):
        return {lower_camel(key): cloudtrail_elements(item, None) for key, item in value.items()}
    if shape is None and isinstance(value, list | tuple):
        return [cloudtrail_elements(item, None) for item in value]
    return _json_scalar(value)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso_z(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _iso_z(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- EC2's own shapes ------------------------------------------------------------------------------
#
# CloudTrail does not record EC2 in the SDK's names. Its long-standing calls are written in EC2's
# XML names: lists become {"items": [...]} ({} when empty), members take their XML names
# (IpPermission.UserIdGroupPairs is "groups"), and the response carries "requestId" and "_return":
#   {"groupId": "sg-..", "ipPermissions": {"items": [{"ipProtocol": "udp", "fromPort": 500,
#    "toPort": 500, "groups": {"items": [{"groupId": "sg-.."}]}, "ipRanges": {}, ...}]}}
# Newer calls such as ModifySecurityGroupRules are written as the query string parsed into a
# tree, wrapped in the request's name, lists under the query's singular name with a "tag" index:
#   {"ModifySecurityGroupRulesRequest": {"GroupId": "sg-..", "SecurityGroupRule":
#    {"SecurityGroupRuleId": "sgr-..", "tag": 1, "SecurityGroupRule": {"IpProtocol": "tcp", ...}}}}
# and their response is wrapped too: {"ModifySecurityGroupRulesResponse": {"xmlns": ...,
# "requestId": ..., "return": true}}. Both shapes are taken from published CloudTrail records.
# Not documented anywhere we found, so chosen by analogy: how a revoke by security-group rule ID
# lists the IDs ({"securityGroupRuleId": {"items": [{"securityGroupRuleId": "sgr-.."}]}}), and
# how the wrapped form lists more than one rule (a list of entries tagged 1, 2, ...).
EC2_WRAPPED_OPERATIONS = frozenset({"ModifySecurityGroupRules"})
EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
# List members EC2 writes even when the caller left them out (as {}): every peer list of a rule.
_EC2_ALWAYS_WRITTEN = {
    "IpPermission": ("UserIdGroupPairs", "IpRanges", "Ipv6Ranges", "PrefixListIds"),
}


def _ec2_xml_name(member_name: str, member: Shape | None) -> str:
    serialized = member.serialization.get("name") if member is not None else None
    return lower_camel(serialized or member_name)


def ec2_elements(value: Any, shape: Shape | None, item_name: str = "item") -> Any:
    """`value` in EC2's XML names (see above); `item_name` names the scalars of a list."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        written = {}
        for key, item in value.items():
            member = shape.members.get(key)
            name = _ec2_xml_name(key, member)
            written[name] = ec2_elements(item, member, name)
        for key in _EC2_ALWAYS_WRITTEN.get(shape.name, ()):
            written.setdefault(_ec2_xml_name(key, shape.members[key]), {})
        return written
    if isinstance(value, list | tuple):
        member = shape.member if isinstance(shape, ListShape) else None
        items = [
            ec2_elements(item, member)
            if isinstance(item, Mapping)
            else {item_name: _json_scalar(item)}
            for item in value
        ]
        return {"items": items} if items else {}
    if shape is None and isinstance(value, Mapping):
        return {
            lower_camel(key): ec2_elements(item, None, lower_camel(key))
            for key, item in value.items()
        }
    return _json_scalar(value)


def _ec2_query_elements(value: Any, shape: Shape | None) -> Any:
    """`value` as EC2's query string, parsed into a tree (the wrapped form, see above)."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        written = {}
        for key, item in value.items():
            member = shape.members.get(key)
            name = (member.serialization.get("name") if member is not None else None) or key
            written[name] = _ec2_query_elements(item, member)
        return written
    if isinstance(value, list | tuple):
        member = shape.member if isinstance(shape, ListShape) else None
        entries = [
            {**_ec2_query_elements(item, member), "tag": index}
            if isinstance(item, Mapping)
            else _json_scalar(item)
            for index, item in enumerate(value, start=1)
        ]
        return entries[0] if len(entries) == 1 else entries
    return _json_scalar(value)


def ec2_request_parameters(operation: OperationModel, params: Mapping[str, Any]) -> Any:
    """An EC2 request (SDK names) as CloudTrail's requestParameters."""
    if operation.name in EC2_WRAPPED_OPERATIONS:
        return {f"{operation.name}Request": _ec2_query_elements(params, operation.input_shape)}
    return ec2_elements(params, operation.input_shape)


def ec2_response_elements(
    operation: OperationModel, response: Mapping[str, Any], request_id: str
) -> Any:
    """An EC2 response (SDK names) as CloudTrail's responseElements."""
    body = ec2_elements(response, operation.output_shape)
    if operation.name in EC2_WRAPPED_OPERATIONS:
        return {f"{operation.name}Response": {"xmlns": EC2_XMLNS, "requestId": request_id, **body}}
    if "return" in body:
        body["_return"] = body.pop("return")
    return {"requestId": request_id, **body}


def _within_cap(elements: Any, max_field_bytes: int) -> Any:
    if elements is None:
        return None
    size = len(json.dumps(elements, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return elements if size <= max_field_bytes else {"omitted": True}


def user_identity(*, arn: str, principal_id: str, access_key_id: str, account: str) -> dict:
    """CloudTrail's `userIdentity` of a caller, typed by its ARN: assumed role, IAM user, root."""
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    if ":assumed-role/" in arn:
        kind = "AssumedRole"
    elif arn.endswith(":root"):
        kind = "Root"
    elif ":user/" in arn:
        kind = "IAMUser"
    else:
        kind = "Unknown"
    identity: dict[str, Any] = {
        "type": kind,
        "principalId": principal_id,
        "arn": arn,
        "accountId": account,
        "accessKeyId": access_key_id,
    }
    if kind == "IAMUser":
        identity["userName"] = arn.rsplit("/", 1)[1]
    if kind == "AssumedRole":
        role_name = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        identity["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": principal_id.split(":", 1)[0],
                "arn": f"arn:{partition}:iam::{account}:role/{role_name}",
                "accountId": account,
                "userName": role_name,
            },
            "attributes": {"mfaAuthenticated": "false"},
        }
    return identity


def api_call_event(
    *,
    service_model: ServiceModel,
    operation_name: str,
    request_params: Mapping[str, Any],
    response: Mapping[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    account: str,
    region: str,
    caller: Mapping[str, Any],
    event_time: datetime,
    source_ip: str = _DEFAULT_SOURCE_IP,
    user_agent: str = "",
    request_id: str | None = None,
    event_source: str | None = None,
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> dict:
    """The EventBridge event CloudTrail delivers for one API call.

    `request_params` and `response` use the API's own (UpperCamel) names, as sent and returned;
    `caller` is a `userIdentity` (see `user_identity`). A failed call has `error_code` (and usually
    `error_message`) and no `response`: CloudTrail then writes `errorCode`/`errorMessage` and a null
    `responseElements`. Source and event source derive from the service model (`aws.sagemaker`,
    `sagemaker.amazonaws.com`; `aws.ec2`, `ec2.amazonaws.com`) unless `event_source` is given.
    """
    operation: OperationModel = service_model.operation_model(operation_name)
    event_source = event_source or f"{service_model.signing_name}.amazonaws.com"
    when = _iso_z(event_time)

    request_id = request_id or str(uuid.uuid4())
    if service_model.service_name == "ec2":
        request_elements = ec2_request_parameters(operation, copy.deepcopy(dict(request_params)))
    else:
        request_elements = cloudtrail_elements(
            copy.deepcopy(dict(request_params)), operation.input_shape
        )
    request_parameters = _within_cap(request_elements, max_field_bytes)
    # Calls that return nothing, and failed calls, have responseElements null in CloudTrail.
    response_elements = None
    if error_code is None and response and operation.output_shape is not None:
        if service_model.service_name == "ec2":
            elements = ec2_response_elements(operation, copy.deepcopy(dict(response)), request_id)
        else:
            elements = cloudtrail_elements(copy.deepcopy(dict(response)), operation.output_shape)
        response_elements = _within_cap(elements, max_field_bytes)

    detail: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": copy.deepcopy(dict(caller)),
        "eventTime": when,
        "eventSource": event_source,
        "eventName": operation_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        detail["errorCode"] = error_code
        if error_message is not None:
            detail["errorMessage"] = error_message
    detail.update(
        {
            "requestParameters": request_parameters,
            "responseElements": response_elements,
            "requestID": request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": operation_name.startswith(_READ_ONLY_PREFIXES),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        }
    )
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws." + event_source.split(".", 1)[0],
        "account": account,
        "time": when,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def moto_caller_identity(access_key_id: str, account: str, region: str) -> dict:
    """The `userIdentity` of whoever signed a request to moto with `access_key_id`.

    Credentials moto issued (STS AssumeRole, IAM CreateAccessKey) resolve to that role session or
    user. Any other key is taken as the account's own: `ASIA…` keys (temporary credentials) as a
    session of a role named `moto`, everything else as the IAM user `moto`.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    partition = get_partition(region)
    for account_backends in list(sts_backends.values()):
        sts = account_backends.get(partition)
        assumed = sts.get_assumed_role_from_access_key(access_key_id) if sts else None
        if assumed is not None:
            return user_identity(
                arn=assumed.arn,
                principal_id=assumed.user_id,
                access_key_id=access_key_id,
                account=assumed.account_id,
            )
    user = iam_backends[account][partition].get_user_from_access_key_id(access_key_id)
    if user is not None:
        return user_identity(
            arn=user.arn, principal_id=user.id, access_key_id=access_key_id, account=account
        )
    unique = base64.b32encode(hashlib.sha256(access_key_id.encode()).digest()).decode()[:17]
    if access_key_id.startswith("ASIA"):
        return user_identity(
            arn=f"arn:{partition}:sts::{account}:assumed-role/moto/moto",
            principal_id=f"AROA{unique}:moto",
            access_key_id=access_key_id,
            account=account,
        )
    return user_identity(
        arn=f"arn:{partition}:iam::{account}:user/moto",
        principal_id=f"AIDA{unique}",
        access_key_id=access_key_id,
        account=account,
    )


def publish(event: Mapping[str, Any]) -> None:
    """Deliver `event` to the rules of the default bus of its account and region, in moto.

    This is the inner loop of moto's PutEvents (pattern match, then each target), entered directly:
    PutEvents would replace the event's id and time, and CloudTrail does not go through PutEvents
    (which refuses `aws.*` sources in AWS anyway).
    """
    from moto.core.utils import unix_time
    from moto.events.models import events_backends

    bus = events_backends[event["account"]][event["region"]].describe_event_bus("default")
    moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    for rule in list(bus.rules.values()):
        if rule.state == "DISABLED":
            continue
        # moto's targets expect `time` as epoch seconds and render it as ISO themselves.
        message = {**copy.deepcopy(dict(event)), "time": moment.timestamp()}
        # moto's default input template drops `account` (and re-parses the detail as text);
        # EventBridge delivers the whole event unless the target has an input transformer.
        transform = any("InputTransformer" in target for target in rule.targets)
        if transform:
            message["ingestion-time"] = unix_time()
        rule.send_to_targets(message, transform_input=transform)


def _parsed_response(
    model: ServiceModel, operation: OperationModel, status: int, headers: Any, body: Any
) -> dict:
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    return create_parser(model.protocol).parse(
        {
            "status_code": int(status),
            "headers": HeadersDict({k: str(v) for k, v in dict(headers or {}).items()}),
            "body": raw,
        },
        operation.output_shape,
    )


def _emit(moto_response: Any, operation_name: str, request_params: dict, result: Any) -> None:
    status, headers, body = result
    model = service_model(moto_response.boto3_service_name)
    operation = model.operation_model(operation_name)
    parsed = _parsed_response(model, operation, status, headers, body)
    metadata = parsed.pop("ResponseMetadata", {})
    error = parsed.pop("Error", None) if int(status) >= 300 else None
    account, region = moto_response.current_account, moto_response.region
    request = moto_response.normalized_request
    event = api_call_event(
        service_model=model,
        operation_name=operation_name,
        request_params=request_params,
        response=None if error else parsed,
        error_code=error.get("Code") if error else None,
        error_message=error.get("Message") if error else None,
        account=account,
        region=region,
        caller=moto_caller_identity(moto_response.access_key, account, region),
        event_time=datetime.now(UTC),
        source_ip=getattr(request, "remote_addr", None) or _DEFAULT_SOURCE_IP,
        user_agent=moto_response.headers.get("User-Agent", ""),
        request_id=metadata.get("RequestId"),
    )
    publish(event)


_install_lock = threading.Lock()


def install() -> None:
    """Make moto emit CloudTrail events for `EMITTED_OPERATIONS`. Idempotent.

    Wraps `moto.core.responses.BaseResponse.call_action`, the point every moto service passes
    through in-process and in server mode, after authentication and error serialization: what the
    event records is exactly what the client received.
    """
    from moto.core.responses import BaseResponse

    with _install_lock:
        if getattr(BaseResponse.call_action, "_emits_cloudtrail", False):
            return
        handle = BaseResponse.call_action

        @functools.wraps(handle)
        def call_action(self: Any) -> Any:
            services = {service for service, _ in EMITTED_OPERATIONS}
            if self.boto3_service_name not in services:
                return handle(self)
            operation_name = self._get_action()
            if (self.boto3_service_name, operation_name) not in EMITTED_OPERATIONS:
                return handle(self)
            # A snapshot: moto's handlers are free to mutate the parsed request.
            request_params = copy.deepcopy(getattr(self, "params", None) or {})
            result = handle(self)
            _emit(self, operation_name, request_params, result)
            return result

        call_action._emits_cloudtrail = True  # type: ignore[attr-defined]
        BaseResponse.call_action = call_action  # type: ignore[method-assign]
