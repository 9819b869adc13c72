"""Shared test setup: Powertools and AWS settings for every tier, and a Lambda context."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import botocore.loaders
import botocore.session
import pytest

# Set before any handler or Powertools module is imported by a test module.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_SERVICE_NAME": "ict-guard",
        "POWERTOOLS_METRICS_NAMESPACE": "SageMakerICTGuard",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_FUNCTION_NAME": "ict-guard-job-guard",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

# Every boto3 session (the tests', the sandbox's, each fresh guard runtime's) would parse the
# service models' JSON again; one loader for the whole test process parses each model once.
# The loader only reads botocore's bundled data files, so sharing it changes no behaviour.
_SHARED_LOADER = botocore.loaders.create_loader()
botocore.session.create_loader = lambda search_path_string=None: _SHARED_LOADER


@dataclass
class FakeLambdaContext:
    function_name: str = "ict-guard-job-guard"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:ict-guard-job-guard"
    )
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    remaining_ms: int = 120_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests are pure: pytest-socket disables sockets for them (its `disable_socket` mark), so
    any attempt to open a connection fails with SocketBlockedError. The other tiers talk to moto's
    in-process or loopback servers and keep their sockets."""
    for item in items:
        if item.get_closest_marker("unit") is not None:
            item.add_marker(pytest.mark.disable_socket)


# -- the reliability suites' figures, at the end of the run ---------------------------------------

RELIABILITY_FIGURES = "reliability figures"  # the user property tests/reliability/conftest.py records


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the reliability suites recorded. Here, in the root conftest, because
    under xdist only this one is loaded by the controller, which writes the summary; the workers'
    reports carry the figures as user properties."""
    blocks = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == RELIABILITY_FIGURES
    ]
    if blocks:
        terminalreporter.section(RELIABILITY_FIGURES)
        for block in blocks:
            terminalreporter.write_line(block)
