"""The policy and wiring of one deployment, validated once from the function's environment.

Each field is read from its contract variable, checked, and every problem is reported at once,
naming the variable, in one ConfigurationError. By hand, not with pydantic: events.py says why.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any


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


def _choice(kind: type[enum.StrEnum]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        text = value.strip().lower() if isinstance(value, str) else value
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"is not one of {', '.join(member.value for member in kind)}") from None

    return parse


def _count(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("is not a whole number") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("is not a whole number")
    if value < 1:
        raise ValueError("is less than 1")
    return value


def _tag_key(value: Any) -> str:
    # Python's re: the pattern needs a look-ahead.
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not _TAG_KEY.match(value):
        raise ValueError("is not a valid tag key")
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("is not true or false")


def _optional_text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if value is not None:
        raise ValueError("is not text")
    return None


def _arn(value: Any) -> str | None:
    value = _optional_text(value)
    if value is not None and not value.startswith("arn:"):
        raise ValueError("is not an ARN")
    return value


def _role_pattern(value: Any) -> str | None:
    value = _optional_text(value)
    return None if value == "*" else value


# Each field's contract variable (template.yaml sets them) and its check, which also normalizes.
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "mode": ("REMEDIATION_MODE", _choice(RemediationMode)),
    "min_instance_count": ("MIN_INSTANCE_COUNT", _count),
    "exempt_tag_key": ("EXEMPT_TAG_KEY", _tag_key),
    "repair_security_groups": ("REPAIR_SECURITY_GROUPS", _boolean),
    "alert_topic_arn": ("ALERT_TOPIC_ARN", _arn),
    "idempotency_table_name": ("IDEMPOTENCY_TABLE_NAME", _optional_text),
    "unrelaunchable_job_action": ("UNRELAUNCHABLE_JOB_ACTION", _choice(UnrelaunchableJobAction)),
    "chat_topic_arn": ("CHAT_TOPIC_ARN", _arn),
    "security_hub_findings": ("SECURITY_HUB_FINDINGS", _boolean),
    "relaunch_role_pattern": ("RELAUNCH_ROLE_PATTERN", _role_pattern),
}
VARIABLES = {variable: field for field, (variable, _) in _FIELDS.items()}


class _InvalidSettings(ConfigurationError):
    def __init__(self, problems: list[tuple[str, Any, str]]) -> None:
        super().__init__("invalid settings: " + "; ".join(f"{name}={value!r}: {why}" for name, value, why in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """One deployment's policy (DESIGN.md, "Policy"), checked on construction. Frozen: built once
    per Lambda container."""

    mode: RemediationMode = RemediationMode.NOTIFY
    min_instance_count: int = 2
    exempt_tag_key: str = "ict-guard:exempt"
    repair_security_groups: bool = True
    alert_topic_arn: str | None = None
    idempotency_table_name: str | None = None
    unrelaunchable_job_action: UnrelaunchableJobAction = UnrelaunchableJobAction.NOTIFY
    # Optional second views of every alert (template parameters EnableChatNotifications and
    # EnableSecurityHubFindings): an AWS Chatbot custom-notification topic, Security Hub findings.
    chat_topic_arn: str | None = None
    security_hub_findings: bool = False
    # The execution roles a re-launch may pass (the template's SageMakerRoleNamePattern, an IAM
    # role-name pattern in which * matches anything); None: any role.
    relaunch_role_pattern: str | None = None

    def __post_init__(self) -> None:
        problems = []
        for field in fields(self):
            value = getattr(self, field.name)
            try:
                object.__setattr__(self, field.name, _FIELDS[field.name][1](value))
            except ValueError as exc:
                problems.append((field.name, value, str(exc)))
        if problems:
            raise _InvalidSettings(problems)

    def may_pass_role(self, role_arn: str) -> bool:
        """Whether iam:PassRole, as the template grants it, allows passing `role_arn`."""
        if self.relaunch_role_pattern is None:
            return True
        resource = role_arn.split(":", 5)[-1]  # role/<path/>name
        return fnmatch.fnmatchcase(resource, f"role/{self.relaunch_role_pattern}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the contract's environment variables; every problem is named in one error."""
        values: dict[str, Any] = {field: environ[name] for name, field in VARIABLES.items() if name in environ}
        try:
            return cls(**values)
        except _InvalidSettings as exc:
            problems = [f"{_FIELDS[name][0]}={value!r}: {why}" for name, value, why in exc.problems]
            raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
