"""The policy and wiring of one deployment, validated once from the function's environment.

A pydantic model (pydantic ships with the Powertools parser the functions already use): each
field is read from its contract variable (the alias), validated, and every problem is reported at
once, naming the variable, in one ConfigurationError.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator


class ConfigurationError(ValueError):
    """The function's environment does not describe a valid deployment."""


class RemediationMode(enum.StrEnum):
    NOTIFY = "notify"
    STOP = "stop"
    RELAUNCH = "relaunch"


class UnrelaunchableJobAction(enum.StrEnum):
    """What `relaunch` mode does with a job it cannot re-launch as the same workload."""

    NOTIFY = "notify"  # left running, HIGH alert "action needed"
    STOP = "stop"  # stopped, the same alert


# Tag keys: up to 128 characters of letters, digits, spaces and _.:/=+-@, not starting with aws:.
_TAG_KEY = re.compile(r"^(?!aws:)[\w.:/=+\-@ ]{1,128}$")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("is not true or false")


def _optional_text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _arn(value: Any) -> Any:
    value = _optional_text(value)
    if value is not None and not str(value).startswith("arn:"):
        raise ValueError("is not an ARN")
    return value


Flag = Annotated[bool, BeforeValidator(_boolean)]
OptionalArn = Annotated[str | None, BeforeValidator(_arn)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]


class Settings(BaseModel):
    """One deployment's policy (DESIGN.md, "Policy"), from the environment variables named by the
    aliases. Frozen: built once per Lambda container."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    mode: Annotated[RemediationMode, BeforeValidator(_lower)] = Field(RemediationMode.NOTIFY, alias="REMEDIATION_MODE")
    min_instance_count: int = Field(2, ge=1, alias="MIN_INSTANCE_COUNT")
    exempt_tag_key: str = Field("ict-guard:exempt", alias="EXEMPT_TAG_KEY")
    repair_security_groups: Flag = Field(True, alias="REPAIR_SECURITY_GROUPS")
    alert_topic_arn: OptionalArn = Field(None, alias="ALERT_TOPIC_ARN")
    idempotency_table_name: OptionalText = Field(None, alias="IDEMPOTENCY_TABLE_NAME")
    unrelaunchable_job_action: Annotated[UnrelaunchableJobAction, BeforeValidator(_lower)] = Field(
        UnrelaunchableJobAction.NOTIFY, alias="UNRELAUNCHABLE_JOB_ACTION"
    )
    # Optional second views of every alert (template parameters EnableChatNotifications and
    # EnableSecurityHubFindings): an AWS Chatbot custom-notification topic, Security Hub findings.
    chat_topic_arn: OptionalArn = Field(None, alias="CHAT_TOPIC_ARN")
    security_hub_findings: Flag = Field(False, alias="SECURITY_HUB_FINDINGS")
    # The execution roles a re-launch may pass (the template's SageMakerRoleNamePattern, an IAM
    # role-name pattern in which * matches anything); None: any role.
    relaunch_role_pattern: OptionalText = Field(None, alias="RELAUNCH_ROLE_PATTERN")

    @field_validator("exempt_tag_key", mode="before")
    @classmethod
    def _tag_key(cls, value: Any) -> Any:
        # Python's re, not the model's `pattern` (pydantic's Rust engine has no look-ahead).
        value = value.strip() if isinstance(value, str) else value
        if not isinstance(value, str) or not _TAG_KEY.match(value):
            raise ValueError("is not a valid tag key")
        return value

    @field_validator("relaunch_role_pattern")
    @classmethod
    def _any_role(cls, value: str | None) -> str | None:
        return None if value == "*" else value

    def may_pass_role(self, role_arn: str) -> bool:
        """Whether iam:PassRole, as the template grants it, allows passing `role_arn`."""
        if self.relaunch_role_pattern is None:
            return True
        resource = role_arn.split(":", 5)[-1]  # role/<path/>name
        return fnmatch.fnmatchcase(resource, f"role/{self.relaunch_role_pattern}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the contract's environment variables; every problem is named in one error."""
        names = {field.alias for field in cls.model_fields.values()}
        try:
            return cls.model_validate({k: v for k, v in environ.items() if k in names})
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in error['loc'])}={error.get('input')!r}: {error['msg']}"
                for error in exc.errors()
            ]
            raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
