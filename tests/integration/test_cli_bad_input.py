"""Bad input to `ict-guard`: every bad option exits 2 with one error line (a hint may follow),
never a traceback, never exit code 1 (which a CI gate reads as "findings"). What AWS (or
whatever answers at --endpoint-url) sends back is summarised, and a scan that could not finish
never ends in "No findings"."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws

from ict_guard_cli import ExitCode
from ict_guard_cli.app import cli
from ict_guard_cli.session import AwsContext

pytestmark = pytest.mark.integration


@pytest.fixture
def bare_aws() -> Iterator[Any]:
    """moto alone: a refused option must not reach it, and nothing reaches a real AWS."""
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")

ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/resnet-ddp"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Any, exit_code: ExitCode, *words: str) -> None:
    lines = result.stderr.splitlines()
    assert result.exit_code == exit_code, result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert lines and lines[0].startswith("error: "), lines
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


# Each needs no AWS call to be refused (the region and profile checks happen before any).
BAD_OPTIONS = [
    # global options
    (["--endpoint-url", "127.0.0.1:5055", "scan"], "has no scheme"),
    (["--endpoint-url", "localhost:5055", "explain", "job"], "has no scheme"),
    (["--endpoint-url", "ftp://127.0.0.1:5055", "scan"], "'ftp' is not supported"),
    (["--endpoint-url", "http://", "scan"], "no valid host"),
    (["--endpoint-url", "http://127.0.0.1:99999", "scan"], "no valid host"),
    (["--region", "mars-west-9", "scan"], "unknown region 'mars-west-9'"),
    (["--region", "us-east1", "explain", "job"], "unknown region 'us-east1'"),
    (["--region", "", "scan"], "unknown region ''"),
    (["--profile", "no-such-profile", "scan"], "no-such-profile"),
    (["--no-such-option", "scan"], "--no-such-option"),
    (["no-such-command"], "no-such-command"),
    # scan
    (["scan", "--since", "yesterday"], "--since"),
    (["scan", "--since", "2999-01-01"], "in the future"),
    (["scan", "--kind", "monitoring-schedule"], "--kind"),
    (["scan", "--status", "Running"], "--status"),
    (["scan", "--skip", "everything"], "--skip"),
    (["scan", "--concurrency", "0"], "--concurrency"),
    (["scan", "--concurrency", "33"], "--concurrency"),
    (["scan", "--concurrency", "many"], "--concurrency"),
    (["scan", "--stack-name", "not a stack!"], "--stack-name"),
    (["scan", "--mode", "enforce"], "--mode"),
    (["scan", "--min-instance-count", "0"], "--min-instance-count"),
    (["scan", "--min-instance-count", "two"], "--min-instance-count"),
    (["scan", "extra-argument"], "extra-argument"),
    # explain
    (["explain"], "JOB"),
    (["explain", "not_a_job name"], "JOB"),
    (["explain", "arn:aws:s3:::bucket"], "not the ARN of a training or tuning job"),
    (["explain", ARN, "--kind", "tuning"], "--kind says"),
    (["--region", "eu-west-1", "explain", ARN], "region us-east-1"),
    (["explain", "job", "--kind", "pipeline"], "--kind"),
    (["explain", "job", "--stack-name", "-bad"], "--stack-name"),
    (["explain", "job", "--mode", "enforce"], "--mode"),
    # guardrail
    (["guardrail", "--format", "json"], "--format"),
    (["guardrail", "--exempt-tag-key", "aws:reserved"], "--exempt-tag-key"),
]


@pytest.mark.parametrize(("args", "says"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_every_bad_option_exits_2_with_one_line(bare_aws, args, says):
    assert_one_line_error(run(*args), ExitCode.USAGE, says)


def test_a_bad_endpoint_url_from_the_environment_exits_2_too(bare_aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:5055")  # botocore reads it itself
    assert_one_line_error(run("scan"), ExitCode.USAGE, "http://")


def test_an_unknown_region_says_it_is_unknown_and_suggests_the_nearest(bare_aws):
    result = run("--region", "eu-west1", "scan")
    assert_one_line_error(result, ExitCode.USAGE, "unknown region 'eu-west1'")
    assert "did you mean eu-west-1" in result.stderr


def test_a_job_arn_is_explained_like_its_name(sandbox):
    sandbox.create_training_job("resnet-ddp")
    by_name = run("--json", "explain", "resnet-ddp")
    by_arn = run("--json", "explain", ARN)
    assert by_arn.exit_code == by_name.exit_code == ExitCode.FINDINGS
    assert json.loads(by_arn.stdout)["job"] == json.loads(by_name.stdout)["job"]


def test_a_job_arn_of_another_account_is_a_usage_error(bare_aws):
    other = ARN.replace("123456789012", "210987654321")
    assert_one_line_error(run("explain", other), ExitCode.USAGE, "account 210987654321")


@pytest.fixture
def html_endpoint() -> Iterator[str]:
    """A web server on the loopback interface that answers every request with an HTML error
    page, as a proxy or the wrong port does."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = (
                b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
                b"<style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1>"
                + b"<p>nginx</p>" * 200
                + b"</body></html>"
            )
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_html_error_page_is_summarised_not_dumped(html_endpoint):
    result = run("--endpoint-url", html_endpoint, "scan")
    assert_one_line_error(result, ExitCode.AWS_ERROR, "502")
    assert "<" not in result.stderr and "color:red" not in result.stderr
    assert len(result.stderr.splitlines()[0]) < 300


def test_an_html_message_in_an_aws_error_is_summarised(bare_aws, monkeypatch):
    original = AwsContext.client

    def client(self: AwsContext, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)

        def fail(**_: Any) -> None:
            page = "<html><head><title>Service Unavailable</title></head><body>" + "x" * 5000
            raise ClientError({"Error": {"Code": "503", "Message": page}}, "GetCallerIdentity")

        made.meta.events.register("before-call.sts.GetCallerIdentity", fail)
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    result = run("scan")
    assert_one_line_error(result, ExitCode.AWS_ERROR, "Service Unavailable")
    assert "<html>" not in result.stderr and len(result.stderr) < 600


def test_an_incomplete_scan_never_ends_in_no_findings(bare_aws, monkeypatch):
    original = AwsContext.client

    def client(self: AwsContext, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)

        def deny(**_: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeTrails")

        made.meta.events.register("before-call.cloudtrail.DescribeTrails", deny)
        return made

    monkeypatch.setattr(AwsContext, "client", client)
    result = run("scan", "--skip", "stack")  # an empty account: nothing else to find
    assert result.exit_code == ExitCode.AWS_ERROR
    assert "No findings" not in result.stdout
    assert "Scan incomplete" in result.stdout and "exit code 3" in result.stdout


def test_an_unexpected_failure_is_one_line_and_exit_3_not_1(bare_aws, monkeypatch):
    def boom(self: AwsContext) -> str:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(AwsContext, "account", property(boom))
    result = run("scan")
    assert_one_line_error(result, ExitCode.AWS_ERROR, "RuntimeError: something nobody expected")
    assert "--debug" in result.stderr
