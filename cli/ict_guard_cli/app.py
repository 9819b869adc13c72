"""The `ict-guard` command: options, settings resolution, output and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape

from ict_guard import __version__
from ict_guard.jobs import JOB_APIS, JobKind
from ict_guard.settings import ConfigurationError, RemediationMode, Settings
from ict_guard_cli import ExitCode
from ict_guard_cli import guardrail as guardrails
from ict_guard_cli.session import AwsContext, CliError, explain_aws_error
from ict_guard_cli.stack import StackAudit, audit_stack, locate_stack

_KINDS = {api.short_name: kind for kind, api in JOB_APIS.items()}
_SINCE = re.compile(r"^(?P<number>\d+)\s*(?P<unit>[mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_STACK_NAME = re.compile(r"^(?:[A-Za-z][-A-Za-z0-9]{0,127}|arn:aws[-a-z]*:cloudformation:.+)$")
# The policy variables of the job guard's environment that scan and explain use.
_POLICY_VARIABLES = (
    "REMEDIATION_MODE",
    "MIN_INSTANCE_COUNT",
    "EXEMPT_TAG_KEY",
    "REPAIR_SECURITY_GROUPS",
    "RELAUNCH_ROLE_PATTERN",
)


@dataclass
class Options:
    """The global options; each may also be given after the subcommand."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    as_json: bool = False
    debug: bool = False

    def aws(self) -> AwsContext:
        return AwsContext(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)


def _global_options(function: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--region",
            default=None,
            help="AWS region (default: AWS_REGION or the profile's region).",
        ),
        click.option("--profile", default=None, help="Named profile from the AWS config files."),
        click.option(
            "--endpoint-url",
            default=None,
            metavar="URL",
            help="Send every AWS call to this endpoint (the embedded AWS, a VPC endpoint).",
        ),
        click.option("--json", "as_json", is_flag=True, default=None, help="Machine-readable JSON on stdout."),
        click.option("--debug", is_flag=True, default=None, help="Show tracebacks of errors."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _merge(ctx: click.Context, **given: Any) -> Options:
    """Global options given after the subcommand win over those given before it."""
    options: Options = ctx.ensure_object(Options)
    for name, value in given.items():
        if value is not None:
            setattr(options, name, value)
    return options


class GuardCommandGroup(click.Group):
    """Turns AWS and configuration failures into one message and an exit code; --debug shows
    the traceback as well. Usage errors are one line too, and always exit 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        try:
            # Not standalone, so that click's usage errors (three lines: usage, hint, error)
            # reach us; `ctx.exit(code)` comes back as the return value.
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _print_error(Options(), CliError(exc.format_message() + where, ExitCode.USAGE))
            sys.exit(int(ExitCode.USAGE))
        except click.ClickException as exc:
            _print_error(Options(), CliError(exc.format_message(), ExitCode.USAGE))
            sys.exit(int(ExitCode.USAGE))
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            # Anything else, known or not, is one line and exit code 3 (never 1, which a CI
            # gate reads as "findings"); --debug shows where it came from.
            error = explain_aws_error(exc)
            options = ctx.find_object(Options) or Options()
            if options.debug:
                traceback.print_exc()
            elif not isinstance(exc, CliError | BotoCoreError | ClientError):
                error.hint = error.hint or "rerun with --debug for the traceback"
            _print_error(options, error)
            ctx.exit(int(error.exit_code))


def _print_error(options: Options, error: CliError) -> None:
    # soft_wrap: one line however wide the terminal (rich would otherwise break it at 80).
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(error.message)}", markup=True)
    if error.hint:
        console.print(f"[dim]hint: {escape(error.hint)}[/]")
    if options.as_json:
        click.echo(json.dumps({"error": error.message, "hint": error.hint, "exit_code": int(error.exit_code)}))


def _out() -> Console:
    return Console(highlight=False)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(
    cls=GuardCommandGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@_global_options
@click.version_option(__version__, prog_name="ict-guard")
@click.pass_context
def cli(ctx: click.Context, **given: Any) -> None:
    """Audit, explain and prevent SageMaker jobs without inter-container traffic encryption.

    \b
    Exit codes: 0 no findings (scan) / the guard leaves the job alone (explain)
                1 findings / the guard would act on the job
                2 bad usage    3 AWS error (credentials, permissions, endpoint) or
                               an incomplete scan    4 explain: no such job
    """
    _merge(ctx, **given)


# -- settings -------------------------------------------------------------------------------------


def _policy_options(function: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option(
            "--stack-name",
            default=None,
            envvar="ICT_GUARD_STACK_NAME",
            help="The guard's CloudFormation stack: its health, and the policy its job guard runs "
            "with. Default: the stack in the region whose outputs say it is the guard (any name: "
            "samconfig.toml's -prod, -dev), else the one samconfig.toml in the current directory "
            "deploys there, else sagemaker-ict-guard.",
        ),
        click.option(
            "--mode",
            type=click.Choice([m.value for m in RemediationMode]),
            help="Decide as if the guard ran in this mode.",
        ),
        click.option(
            "--min-instance-count",
            type=click.IntRange(min=1),
            help="Decide with this minimum instance count.",
        ),
        click.option("--exempt-tag-key", help="Decide with this exemption tag key."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _validate_stack_name(name: str | None) -> str | None:
    if name is not None and not _STACK_NAME.match(name):
        raise click.BadParameter(f"{name!r} is not a CloudFormation stack name or ARN", param_hint="--stack-name")
    return name


def resolve_settings(
    aws: AwsContext,
    stack: StackAudit | None,
    mode: str | None,
    min_count: int | None,
    exempt_key: str | None,
) -> tuple[Settings, str, str | None]:
    """The policy as the deployed job guard has it (its function's environment), else the
    defaults; options override. Returns (settings, where they came from, ledger table)."""
    environment: dict[str, str] = {}
    table = None
    if stack is not None and stack.job_guard_environment is not None:
        environment = {k: v for k, v in stack.job_guard_environment.items() if k in _POLICY_VARIABLES}
        table = stack.job_guard_environment.get("IDEMPOTENCY_TABLE_NAME") or None
        source = f"the deployed stack {stack.name}"
    elif stack is not None and stack.error:
        source = f"defaults: stack {stack.name} not readable"
    elif stack is not None:
        source = f"defaults: stack {stack.name} not found"
    else:
        source = "defaults"
    overrides = {
        "REMEDIATION_MODE": mode,
        "MIN_INSTANCE_COUNT": str(min_count) if min_count is not None else None,
        "EXEMPT_TAG_KEY": exempt_key,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        source += " with " + ", ".join(f"{k}={v}" for k, v in given.items())
    try:
        return Settings.from_env({**environment, **given}), source, table
    except ConfigurationError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None


# -- scan -----------------------------------------------------------------------------------------


def parse_since(value: str, now: dt.datetime) -> dt.datetime:
    """`7d`, `12h`, `30m`, `2w`, or an ISO 8601 date or time (UTC unless it says otherwise)."""
    match = _SINCE.match(value.strip())
    if match:
        return now - dt.timedelta(**{_UNITS[match["unit"]]: int(match["number"])})
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (7d, 12h, 30m, 2w) nor an ISO 8601 date",
            param_hint="--since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if moment > now:
        raise click.BadParameter(f"{value!r} is in the future", param_hint="--since")
    return moment


@cli.command()
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help=(
        "Also audit jobs created this far back that are no longer running (7d, 12h, 2w, or a date); "
        "running jobs are always audited."
    ),
)
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(list(_KINDS)),
    multiple=True,
    help="Job kinds to audit (repeatable; default: all).",
)
@click.option(
    "--status",
    "statuses",
    type=click.Choice(["InProgress", "Stopping", "Completed", "Failed", "Stopped"]),
    multiple=True,
    help="Job statuses to audit (repeatable; default: all).",
)
@click.option(
    "--skip",
    type=click.Choice(["jobs", "security-groups", "cloudtrail", "stack", "pipelines"]),
    multiple=True,
    help="Checks to leave out (repeatable).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=8,
    show_default=True,
    help="Describe calls in flight at once.",
)
@_policy_options
@_global_options
@click.pass_context
def scan(
    ctx: click.Context,
    since: str,
    kinds: tuple[str, ...],
    statuses: tuple[str, ...],
    skip: tuple[str, ...],
    concurrency: int,
    stack_name: str,
    mode: str | None,
    min_instance_count: int | None,
    exempt_tag_key: str | None,
    **given: Any,
) -> None:
    """Audit an account and region.

    Training and tuning jobs without inter-container traffic encryption (running, or created
    within --since), security groups of distributed jobs that lack the IPsec rules, the CloudTrail
    prerequisite, the guard stack's health, and SageMaker pipelines whose steps would start
    unencrypted jobs. Exit code 1 when there are findings.
    """
    from ict_guard_cli.render import RichProgress, print_scan
    from ict_guard_cli.scan import STATUSES, ScanOptions, run_scan

    options = _merge(ctx, **given)
    now = dt.datetime.now(dt.UTC)
    scan_options = ScanOptions(
        since=parse_since(since, now),
        kinds=tuple(_KINDS[k] for k in kinds) or tuple(JOB_APIS),
        statuses=tuple(dict.fromkeys(statuses)) or STATUSES,
        skip=frozenset(skip),
        concurrency=concurrency,
        stack_name=_validate_stack_name(stack_name),
    )
    aws = options.aws()
    aws.account  # noqa: B018 - fail early and clearly on missing or rejected credentials
    stack = audit_stack(aws, locate_stack(aws, scan_options.stack_name)) if "stack" not in scan_options.skip else None
    settings, source, _ = resolve_settings(aws, stack, mode, min_instance_count, exempt_tag_key)

    stderr = Console(stderr=True)
    if options.as_json or not stderr.is_terminal:
        report = run_scan(aws, scan_options, settings, source, stack=stack)
    else:
        with RichProgress(stderr) as progress:
            report = run_scan(aws, scan_options, settings, source, progress=progress, stack=stack)
    if options.as_json:
        _emit_json(report.as_dict())
    else:
        print_scan(_out(), report)
    ctx.exit(int(report.exit_code))


# -- explain --------------------------------------------------------------------------------------


@cli.command()
@click.argument("job", metavar="JOB")
@click.option(
    "--kind",
    type=click.Choice(list(_KINDS)),
    default="training",
    show_default=True,
    help="The kind of job JOB names.",
)
@click.option(
    "--show-request",
    is_flag=True,
    help="Also print the full re-launch request the guard would send.",
)
@_policy_options
@_global_options
@click.pass_context
def explain(
    ctx: click.Context,
    job: str,
    kind: str,
    show_request: bool,
    stack_name: str,
    mode: str | None,
    min_instance_count: int | None,
    exempt_tag_key: str | None,
    **given: Any,
) -> None:
    """What the guard would do with JOB (a name, or a training or tuning job's ARN), and why,
    without doing it.

    Runs the deployed guard's own decision code (describe, tags, ledger, policy) with the
    policy of the deployed stack, or the defaults; changes nothing. Exit code 0 when the guard
    would leave the job alone, 1 when it would act or alert, 4 when there is no such job.
    """
    # Imported here: they load the guard's service (and Powertools), which guardrail and --help
    # do not need.
    from ict_guard_cli.explain import explain_job
    from ict_guard_cli.render import print_explanation

    options = _merge(ctx, **given)
    job_kind = _KINDS[kind]
    if job.startswith("arn:"):
        kind_given = ctx.get_parameter_source("kind") is not click.core.ParameterSource.DEFAULT
        job_kind, job, arn_region, arn_account = parse_job_arn(job, job_kind if kind_given else None)
        if options.region is None:
            options.region = arn_region  # the job lives there, whatever the profile's region
        elif options.region != arn_region:
            raise click.BadParameter(
                f"the ARN is of region {arn_region}, --region says {options.region}",
                param_hint="JOB",
            )
    else:
        arn_account = None
    if not JOB_APIS[job_kind].name_pattern.match(job):
        raise click.BadParameter(
            f"{job!r} is not a valid {job_kind.value} name "
            f"(1-{JOB_APIS[job_kind].name_max_length} letters, digits and hyphens)",
            param_hint="JOB",
        )
    aws = options.aws()
    aws.account  # noqa: B018 - fail early and clearly on missing or rejected credentials
    if arn_account is not None and arn_account != aws.account:
        raise CliError(
            f"the job ARN is of account {arn_account}; the credentials are of account {aws.account}",
            ExitCode.USAGE,
            "use a profile of the job's account (--profile)",
        )
    stack = audit_stack(aws, locate_stack(aws, _validate_stack_name(stack_name)))
    settings, source, table = resolve_settings(aws, stack, mode, min_instance_count, exempt_tag_key)
    explanation = explain_job(aws, job_kind, job, settings, source, table)
    if options.as_json:
        _emit_json(explanation.as_dict())
    else:
        console = _out()
        print_explanation(console, explanation)
        if show_request and explanation.relaunch_request is not None:
            console.print("\n  Re-launch request:")
            console.print_json(json.dumps(explanation.relaunch_request, default=str))
    ctx.exit(int(explanation.exit_code))


_JOB_ARN = re.compile(
    r"^arn:aws[-a-z]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<type>training-job|hyper-parameter-tuning-job)/(?P<name>[^/]+)$"
)


def parse_job_arn(arn: str, kind: JobKind | None) -> tuple[JobKind, str, str, str]:
    """(kind, name, region, account) of a training or tuning job's ARN; `kind` is --kind when
    given, which must agree with the ARN."""
    match = _JOB_ARN.match(arn)
    if not match:
        raise click.BadParameter(
            f"{arn!r} is not the ARN of a training or tuning job (arn:aws:sagemaker:REGION:ACCOUNT:training-job/NAME)",
            param_hint="JOB",
        )
    arn_kind = JobKind(match["type"])
    if kind is not None and kind is not arn_kind:
        raise click.BadParameter(f"the ARN names a {arn_kind.value}, --kind says {kind.value}", param_hint="JOB")
    return arn_kind, match["name"], match["region"], match["account"]


# -- guardrail ------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--format",
    "policy_format",
    type=click.Choice([f.value for f in guardrails.GuardrailFormat]),
    default="scp",
    show_default=True,
    help="A service control policy, or a permissions boundary.",
)
@click.option(
    "--exempt-tag-key",
    default="ict-guard:exempt",
    show_default=True,
    help="Create requests tagged <key>=true stay allowed (the guard's exemption).",
)
@click.option("--no-exemption", is_flag=True, help="No exemption: every unencrypted create is denied.")
@click.option("--compact", is_flag=True, help="Minified JSON (the SCP size limit counts whitespace).")
@_global_options
@click.pass_context
def guardrail(
    ctx: click.Context,
    policy_format: str,
    exempt_tag_key: str,
    no_exemption: bool,
    compact: bool,
    **given: Any,
) -> None:
    """Print a policy that prevents unencrypted SageMaker jobs (the eleven calls that take the flag).

    The policy goes to stdout (pipe it to a file for `aws organizations create-policy` or
    `aws iam create-policy`); the explanation goes to stderr. With --json, one document with
    the policy, its size and the notes.
    """
    options = _merge(ctx, **given)
    chosen = guardrails.GuardrailFormat(policy_format)
    key = None if no_exemption else exempt_tag_key
    if key is not None:
        try:
            Settings.from_env({"EXEMPT_TAG_KEY": key})
        except ConfigurationError:
            raise click.BadParameter(f"{key!r} is not a valid tag key", param_hint="--exempt-tag-key") from None
    policy = guardrails.guardrail_policy(chosen, key)
    text = guardrails.render(policy, compact)
    limit = guardrails.size_limit(chosen)
    size = len(guardrails.render(policy, compact=True))
    notes = guardrails.notes(chosen, key)
    if options.as_json:
        _emit_json(
            {
                "format": chosen.value,
                "policy": policy,
                "characters": size,
                "limit": limit,
                "notes": notes,
            }
        )
    else:
        click.echo(text)
        stderr = Console(stderr=True, highlight=False)
        for note in notes:
            stderr.print(f"[dim]# {note}[/]")
        stderr.print(f"[dim]# {size} of {limit} characters (minified).[/]")
    if size > limit:
        raise CliError(f"the policy has {size} characters, over the {limit} limit", ExitCode.USAGE)


# Prevention (issue 13): their own module, registered here.
from ict_guard_cli.prevention import defaults, iac  # noqa: E402

cli.add_command(iac)
cli.add_command(defaults)


def main() -> None:
    cli(prog_name="ict-guard")


if __name__ == "__main__":
    main()
