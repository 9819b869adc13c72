from __future__ import annotations

import pytest

from ict_guard.settings import ConfigurationError, RemediationMode, Settings

pytestmark = pytest.mark.unit


def test_defaults_follow_the_policy_table():
    settings = Settings.from_env({})
    # notify: a deployment with default parameters watches first (issue 12); prod opts in.
    assert settings == Settings(
        mode=RemediationMode.NOTIFY,
        min_instance_count=2,
        exempt_tag_key="ict-guard:exempt",
        repair_security_groups=True,
        alert_topic_arn=None,
        idempotency_table_name=None,
    )


def test_every_contract_variable_is_read():
    settings = Settings.from_env(
        {
            "REMEDIATION_MODE": "Stop",
            "MIN_INSTANCE_COUNT": "4",
            "EXEMPT_TAG_KEY": "team:exempt",
            "REPAIR_SECURITY_GROUPS": "false",
            "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
            "IDEMPOTENCY_TABLE_NAME": "table",
        }
    )
    assert settings.mode is RemediationMode.STOP
    assert settings.min_instance_count == 4
    assert settings.exempt_tag_key == "team:exempt"
    assert settings.repair_security_groups is False
    assert settings.alert_topic_arn == "arn:aws:sns:us-east-1:123456789012:alerts"
    assert settings.idempotency_table_name == "table"


def test_all_problems_are_reported_at_once():
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(
            {
                "REMEDIATION_MODE": "delete",
                "MIN_INSTANCE_COUNT": "0",
                "EXEMPT_TAG_KEY": "aws:reserved",
                "REPAIR_SECURITY_GROUPS": "maybe",
                "ALERT_TOPIC_ARN": "alerts",
            }
        )
    message = str(raised.value)
    for variable in (
        "REMEDIATION_MODE",
        "MIN_INSTANCE_COUNT",
        "EXEMPT_TAG_KEY",
        "REPAIR_SECURITY_GROUPS",
        "ALERT_TOPIC_ARN",
    ):
        assert variable in message
