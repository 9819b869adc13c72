"""The policy and wiring of one deployment, parsed once from the function's environment."""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigurationError(ValueError):
    """The function's environment does not describe a valid deployment."""


class RemediationMode(enum.StrEnum):
    NOTIFY = "notify"
    STOP = "stop"
    RELAUNCH = "relaunch"


# Tag keys: up to 128 characters of letters, digits, spaces and _.:/=+-@, not starting with aws:.
_TAG_KEY = re.compile(r"^(?!aws:)[\w.:/=+\-@ ]{1,128}$")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class Settings:
    mode: RemediationMode = RemediationMode.RELAUNCH
    min_instance_count: int = 2
    exempt_tag_key: str = "ict-guard:exempt"
    repair_security_groups: bool = True
    alert_topic_arn: str | None = None
    idempotency_table_name: str | None = None
    # Optional second views of every alert (template parameters EnableChatNotifications and
    # EnableSecurityHubFindings): an AWS Chatbot custom-notification topic, Security Hub findings.
    chat_topic_arn: str | None = None
    security_hub_findings: bool = False
    # The execution roles a re-launch may pass (the template's SageMakerRoleNamePattern, an IAM
    # role-name pattern in which * matches anything); None: any role.
    relaunch_role_pattern: str | None = None

    def may_pass_role(self, role_arn: str) -> bool:
        """Whether iam:PassRole, as the template grants it, allows passing `role_arn`."""
        if self.relaunch_role_pattern is None:
            return True
        resource = role_arn.split(":", 5)[-1]  # role/<path/>name
        return fnmatch.fnmatchcase(resource, f"role/{self.relaunch_role_pattern}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the contract's environment variables; every problem is named in one error."""
        problems: list[str] = []
        defaults = cls()

        raw_mode = environ.get("REMEDIATION_MODE", defaults.mode.value).strip().lower()
        try:
            mode = RemediationMode(raw_mode)
        except ValueError:
            allowed = ", ".join(m.value for m in RemediationMode)
            problems.append(f"REMEDIATION_MODE={raw_mode!r} is not one of {allowed}")
            mode = defaults.mode

        raw_count = environ.get("MIN_INSTANCE_COUNT", str(defaults.min_instance_count)).strip()
        try:
            min_count = int(raw_count)
            if min_count < 1:
                raise ValueError
        except ValueError:
            problems.append(f"MIN_INSTANCE_COUNT={raw_count!r} is not an integer >= 1")
            min_count = defaults.min_instance_count

        exempt_key = environ.get("EXEMPT_TAG_KEY", defaults.exempt_tag_key).strip()
        if not _TAG_KEY.match(exempt_key):
            problems.append(f"EXEMPT_TAG_KEY={exempt_key!r} is not a valid tag key")

        raw_repair = environ.get("REPAIR_SECURITY_GROUPS", "true").strip().lower()
        if raw_repair not in _TRUE | _FALSE:
            problems.append(f"REPAIR_SECURITY_GROUPS={raw_repair!r} is not true or false")
        repair = raw_repair not in _FALSE

        topic = environ.get("ALERT_TOPIC_ARN", "").strip() or None
        if topic is not None and not topic.startswith("arn:"):
            problems.append(f"ALERT_TOPIC_ARN={topic!r} is not an ARN")
        table = environ.get("IDEMPOTENCY_TABLE_NAME", "").strip() or None
        chat_topic = environ.get("CHAT_TOPIC_ARN", "").strip() or None
        if chat_topic is not None and not chat_topic.startswith("arn:"):
            problems.append(f"CHAT_TOPIC_ARN={chat_topic!r} is not an ARN")
        raw_findings = environ.get("SECURITY_HUB_FINDINGS", "false").strip().lower()
        if raw_findings not in _TRUE | _FALSE:
            problems.append(f"SECURITY_HUB_FINDINGS={raw_findings!r} is not true or false")
        role_pattern = environ.get("RELAUNCH_ROLE_PATTERN", "").strip() or None
        if role_pattern == "*":
            role_pattern = None

        if problems:
            raise ConfigurationError("invalid configuration: " + "; ".join(problems))
        return cls(
            mode=mode,
            min_instance_count=min_count,
            exempt_tag_key=exempt_key,
            repair_security_groups=repair,
            alert_topic_arn=topic,
            idempotency_table_name=table,
            chat_topic_arn=chat_topic,
            security_hub_findings=raw_findings in _TRUE,
            relaunch_role_pattern=role_pattern,
        )
