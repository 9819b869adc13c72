"""The prevention commands: `iac` (documents before they are deployed) and `defaults` (the SageMaker
Python SDK's admin config). Registered on the `ict-guard` group by app.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ict_guard.settings import ConfigurationError, Settings
from ict_guard_cli import ExitCode
from ict_guard_cli.app import _emit_json, _global_options, _merge, _out
from ict_guard_cli.create_requests import State
from ict_guard_cli.session import CliError

OK, FAIL = "[green]✓[/]", "[red]✗[/]"
STATE_TEXT = {
    State.UNENCRYPTED: "[red]unencrypted[/]",
    State.UNKNOWN: "[yellow]not a literal[/]",
    State.ENCRYPTED: "[green]encrypted[/]",
    State.BELOW_MINIMUM: "[dim]below minimum[/]",
    State.EXEMPT: "[cyan]exempt[/]",
    State.ELSEWHERE: "[dim]definition elsewhere[/]",
}


@click.command()
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="PATH...",
)
@click.option("--sarif", "as_sarif", is_flag=True, help="A SARIF 2.1.0 log on stdout (code scanning).")
@click.option(
    "--min-instance-count",
    type=click.IntRange(min=1),
    default=None,
    help="Jobs with fewer instances are not findings (default: the guard's, 2).",
)
@click.option(
    "--exempt-tag-key",
    default=None,
    help="Resources tagged <key>=true are listed as exempt (default: ict-guard:exempt).",
)
@click.option("--all", "show_all", is_flag=True, help="Also list compliant resources in the text output.")
@_global_options
@click.pass_context
def iac(
    ctx: click.Context,
    paths: tuple[Path, ...],
    as_sarif: bool,
    min_instance_count: int | None,
    exempt_tag_key: str | None,
    show_all: bool,
    **given: Any,
) -> None:
    """Find SageMaker jobs and job definitions without inter-container traffic encryption in
    CloudFormation/SAM templates, SageMaker Pipelines definitions, Step Functions definitions and
    Terraform plans (`terraform show -json`), before they are deployed.

    PATH is a file or a directory (searched for .json, .yaml, .yml, .template). Judged with the
    guard's policy: fewer instances than the minimum is not a finding; a flag or an instance
    count that is not a literal (a parameter, an intrinsic, a value known after apply) is.
    Exit code 0 clean, 1 findings, 3 a file could not be read.
    """
    from ict_guard_cli.iac import audit_paths
    from ict_guard_cli.sarif import sarif_log

    options = _merge(ctx, **given)
    try:
        import cfnlint.decode  # noqa: F401 - the template loader iac reads every file with
    except ModuleNotFoundError:
        raise CliError(
            "ict-guard iac needs cfn-lint (its template loader)",
            ExitCode.USAGE,
            "pip install 'sagemaker-ict-guard[cli,iac]'",
        ) from None
    if as_sarif and options.as_json:
        raise click.UsageError("--sarif and --json are two outputs: choose one")
    environment = {
        k: v
        for k, v in {
            "MIN_INSTANCE_COUNT": str(min_instance_count) if min_instance_count else None,
            "EXEMPT_TAG_KEY": exempt_tag_key,
        }.items()
        if v is not None
    }
    try:
        settings = Settings.from_env(environment)
    except ConfigurationError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    stderr = Console(stderr=True, highlight=False)
    if not (options.as_json or as_sarif) and stderr.is_terminal:
        with stderr.status("reading documents"):
            report = audit_paths(paths, settings, base=Path.cwd())
    else:
        report = audit_paths(paths, settings, base=Path.cwd())
    if as_sarif:
        click.echo(json.dumps(sarif_log(report), indent=2))
    elif options.as_json:
        _emit_json(report.as_dict())
    else:
        print_iac(_out(), report, show_all)
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per error
    for error in report.errors:
        stderr.print(f"[bold red]error:[/] {escape(error.path)}: {escape(error.error or '')}")
    ctx.exit(int(report.exit_code))


def print_iac(console: Console, report: Any, show_all: bool = False) -> None:
    settings = report.settings
    console.print(
        f"[bold]sagemaker-ict-guard iac[/] {len(report.files)} file(s); minimum "
        f"{settings.min_instance_count} instances, "
        f"exempt tag {escape(settings.exempt_tag_key)}=true\n"
    )
    for file in report.files:
        if file.error:
            console.print(f"[bold]{escape(file.path)}[/]\n  {FAIL} could not be read: {escape(file.error)}")
            continue
        resources = [r for r in report.resources if r.file == file.path]
        shown = [r for r in resources if show_all or r.finding]
        findings = sum(r.finding for r in resources)
        console.print(
            f"[bold]{escape(file.path)}[/] [dim]({file.source}: {len(resources)} creating "
            f"SageMaker jobs, {findings} without the flag)[/]"
        )
        for resource in shown:
            where = f" [dim]line {resource.line}[/]" if resource.line else ""
            for verdict in resource.verdicts:
                if not (show_all or verdict.finding):
                    continue
                part = f" [dim]definition {escape(verdict.part)}[/]" if verdict.part else ""
                if verdict.state is State.ELSEWHERE:
                    count = ""
                elif verdict.instance_count is None:
                    count = ", ? instances"
                else:
                    count = f", {verdict.instance_count} instance(s)"
                console.print(
                    f"  {FAIL if verdict.finding else OK} {escape(resource.name)}{part}{where}: "
                    f"{resource.action.value}{count}, {STATE_TEXT[verdict.state]}"
                )
                console.print(f"      [dim]{escape(verdict.reason)}[/]")
        console.print()
    judged = len(report.resources)
    summary = (
        f"{judged} resource(s), step(s) or state(s) create SageMaker jobs; {len(report.findings)} without the flag"
    )
    if not show_all and judged > len(report.findings):
        summary += " (--all lists the others)"
    console.print(summary)
    if report.skipped:
        console.print(f"[dim]{len(report.skipped)} file(s) of no known kind skipped[/]")
    if report.errors:
        console.print(f"[red]Incomplete:[/] {len(report.errors)} file(s) could not be read; exit code 3")
    elif report.findings:
        console.print(f"{len(report.findings)} finding(s); exit code 1")
    else:
        console.print("[green]No findings.[/]")


# -- defaults -------------------------------------------------------------------------------------


def _read_config(path: Path) -> dict[str, Any]:
    from ict_guard_cli.sdk_defaults import load_yaml

    try:
        config = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", ExitCode.USAGE) from None
    except Exception as exc:  # yaml.YAMLError; yaml is imported lazily
        raise CliError(f"{path} is not YAML: {exc}".splitlines()[0], ExitCode.USAGE) from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CliError(f"{path} is not a SageMaker config file (not a mapping)", ExitCode.USAGE)
    return config


@click.command()
@click.option(
    "--merge",
    "merge_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Merge into this existing config.yaml; the result goes to stdout (FILE is not changed).",
)
@click.option(
    "--check",
    "check_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Report every path FILE leaves missing or false (exit code 1).",
)
@_global_options
@click.pass_context
def defaults(ctx: click.Context, merge_file: Path | None, check_file: Path | None, **given: Any) -> None:
    """Print a SageMaker Python SDK config (config.yaml) that turns inter-container traffic
    encryption on for every job the SDK creates without an explicit value: training and tuning
    (Estimator, ModelTrainer, @remote), processing, AutoML V1 and V2, model-monitoring schedules.

    A default, not a control: an explicit False in code wins, and boto3, the console,
    CloudFormation and Terraform never read it. Keep the guard (and `ict-guard guardrail`).
    """
    from ict_guard_cli.sdk_defaults import (
        ConfigShapeError,
        check_config,
        defaults_config,
        merge_defaults,
        render_yaml,
    )

    options = _merge(ctx, **given)
    if merge_file and check_file:
        raise click.UsageError("--merge and --check: choose one")
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    if check_file is not None:
        checks = check_config(_read_config(check_file))
        failing = [c for c in checks if not c.ok]
        code = ExitCode.FINDINGS if failing else ExitCode.OK
        if options.as_json:
            _emit_json(
                {
                    "file": str(check_file),
                    "paths": [c.as_dict() for c in checks],
                    "missing_or_false": len(failing),
                    "exit_code": int(code),
                }
            )
        else:
            console = Console(highlight=False, soft_wrap=True)  # one line per path
            console.print(f"[bold]{escape(str(check_file))}[/]")
            for c in checks:
                mark = OK if c.ok else FAIL
                console.print(f"  {mark} {escape('.'.join(c.path))}: {c.state} [dim]({escape(c.reader)})[/]")
            console.print(
                f"\n{len(failing)} path(s) missing or false; exit code {int(code)}"
                + ("  [dim](fix: ict-guard defaults --merge FILE)[/]" if failing else "")
            )
        ctx.exit(int(code))
    try:
        if merge_file is not None:
            config, changed = merge_defaults(_read_config(merge_file))
        else:
            config, changed = defaults_config(), []
    except ConfigShapeError as exc:
        raise CliError(f"{merge_file}: {exc}", ExitCode.USAGE) from None
    notes = [
        "Put it where the SDK reads the admin config (/etc/xdg/sagemaker/config.yaml on Linux), "
        "or set SAGEMAKER_ADMIN_CONFIG_OVERRIDE to it (a file, a folder or an S3 prefix).",
        "An explicit encrypt_inter_container_traffic=False in code wins over it; boto3, the "
        "console, CloudFormation and Terraform never read it: keep the guard and the guardrail.",
    ]
    if merge_file is not None:
        notes.insert(0, f"{len(changed)} path(s) set to true; comments of {merge_file} are not kept.")
    if options.as_json:
        _emit_json({"config": config, "changed": changed, "notes": notes})
    else:
        click.echo(render_yaml(config, header=merge_file is None), nl=False)
        for note in notes:
            stderr.print(f"[dim]# {escape(note)}[/]")
    ctx.exit(int(ExitCode.OK))
