"""Terminal output (rich) of the reports; the JSON output is each report's `as_dict()`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ict_guard.jobs import JOB_APIS
from ict_guard_cli.explain import Explanation
from ict_guard_cli.scan import ScanReport
from ict_guard_cli.trails import describe_trail

SEVERITY_STYLE = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "cyan"}
STATE_TEXT = {
    "running-unencrypted": "[red]running unencrypted[/]",
    "ran-unencrypted": "[yellow]ran unencrypted[/]",
    "remediation-pending": "[red]re-launch owed[/]",
    "remediated": "[green]remediated by the guard[/]",
    "exempt": "[cyan]exempt[/]",
    "child": "[yellow]launched by a parent job[/]",
}
OK, FAIL = "[green]✓[/]", "[red]✗[/]"


class RichProgress:
    """The scan's phases as a progress display on stderr; one task per phase."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._current: Any = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def phase(self, description: str, total: int | None = None) -> Callable[[int], None]:
        if self._current is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._current, total=task.completed or 1, completed=task.completed or 1)
        task_id = self._progress.add_task(description, total=total)
        self._current = task_id

        def advance(steps: int = 1) -> None:
            self._progress.advance(task_id, steps)

        return advance


def print_scan(console: Console, report: ScanReport) -> None:
    settings = report.settings
    console.print(
        f"[bold]sagemaker-ict-guard scan[/] account {report.account}, region {report.region}, "
        f"jobs running or created since {report.options.since:%Y-%m-%d %H:%M} UTC"
    )
    console.print(
        f"Policy: mode [bold]{settings.mode.value}[/], minimum {settings.min_instance_count} instances, "
        f"exempt tag {escape(settings.exempt_tag_key)}=true, security-group repair "
        f"{'on' if settings.repair_security_groups else 'off'} [dim]({escape(report.settings_source)})[/]\n"
    )
    if report.jobs is not None:
        _print_jobs(console, report)
    if report.groups is not None:
        _print_groups(console, report)
    if report.cloudtrail is not None:
        _print_cloudtrail(console, report)
    if report.stack is not None:
        _print_stack(console, report)
    if report.pipelines is not None:
        _print_pipelines(console, report)
    _print_verdict(console, report)


def _print_jobs(console: Console, report: ScanReport) -> None:
    jobs = report.jobs
    assert jobs is not None
    console.print("[bold]Distributed jobs without inter-container traffic encryption[/]")
    if jobs.error:
        console.print(f"  {FAIL} could not list or describe jobs: {escape(jobs.error)}\n")
        return
    if jobs.rows:
        # The guard's reasons are long: a column of their own on a wide terminal only.
        wide = console.width >= 120
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("job", overflow="fold")
        table.add_column("status", no_wrap=True)
        table.add_column("inst.", justify="right", no_wrap=True)
        table.add_column("state")
        table.add_column("the guard", no_wrap=not wide)
        for row in sorted(jobs.rows, key=lambda r: (not r.finding, r.job.kind.value, r.job.name)):
            job = row.job
            kind = JOB_APIS[job.kind].short_name
            name = f"[dim]{kind}[/] {escape(job.name)}" + (
                f" [dim](+{row.children} job(s) it launched)[/]" if row.children else ""
            )
            action = row.decision.action.value
            if wide:
                action += f": [dim]{escape(row.decision.reason)}[/]"
            table.add_row(
                name,
                job.status,
                "auto" if job.instances_decided_by_service else str(job.instance_count),
                STATE_TEXT.get(row.state, row.state),
                action,
            )
        console.print(table)
        if not wide:
            console.print(
                "  [dim]why: `ict-guard explain JOB` (--kind tuning|processing|automl|monitoring for other kinds),"
                " or --json[/]"
            )
    else:
        console.print(f"  {OK} none")
    listed = ", ".join(f"{count} {kind}(s)" for kind, count in jobs.listed.items() if count) or "none"
    console.print(
        f"  [dim]listed {listed}; described {jobs.described}: {jobs.encrypted} encrypted, "
        f"{jobs.below_minimum} below {report.settings.min_instance_count} instances, "
        f"{jobs.folded_children} counted with the job or schedule that launched them[/]\n"
    )


def _print_groups(console: Console, report: ScanReport) -> None:
    groups = report.groups
    assert groups is not None
    console.print("[bold]Security groups of distributed jobs (IPsec: UDP 500 and ESP, in and out, within the set)[/]")
    if groups.error:
        console.print(f"  {FAIL} {escape(groups.error)}\n")
        return
    lacking = [s for s in groups.sets if s.finding]
    if lacking:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("groups", no_wrap=True)
        if console.width >= 120:
            table.add_column("VPC", no_wrap=True)
        table.add_column("missing")
        table.add_column("used by", overflow="fold")
        for row in lacking:
            missing = [n.describe() for n in row.missing] + [f"{g} not found" for g in row.gone]
            used = ", ".join(j.split("/", 1)[1] for j in row.jobs[:4]) + (
                f" +{len(row.jobs) - 4}" if len(row.jobs) > 4 else ""
            )
            cells = [
                "\n".join(row.group_ids),
                *([row.vpc_id or "-"] if console.width >= 120 else []),
                "\n".join(missing),
                escape(used),
            ]
            table.add_row(*cells)
        console.print(table)
    covered = len(groups.sets) - len(lacking)
    console.print(
        f"  {OK if not lacking else FAIL} {len(groups.sets)} set(s) of {groups.checked} group(s): "
        f"{covered} covered, {len(lacking)} lacking rules\n"
    )


def _print_cloudtrail(console: Console, report: ScanReport) -> None:
    audit = report.cloudtrail
    assert audit is not None
    console.print("[bold]Prerequisite: a CloudTrail trail logging write management events here[/]")
    if audit.error:
        console.print(f"  {FAIL} could not check: {escape(audit.error)}\n")
        return
    if not audit.trails:
        console.print(f"  {FAIL} no trail covers {audit.region}: EventBridge never receives the guard's events\n")
        return
    for trail in audit.trails:
        mark = OK if trail.qualifies else FAIL
        what = "logging write management events" if trail.qualifies else escape(trail.problem or "does not qualify")
        console.print(f"  {mark} {escape(describe_trail(trail))}: {what}")
    console.print()


def _print_pipelines(console: Console, report: ScanReport) -> None:
    audit = report.pipelines
    assert audit is not None
    console.print("[bold]SageMaker pipelines: steps that would start jobs without the flag[/]")
    if audit.error:
        console.print(f"  {FAIL} could not read pipelines: {escape(audit.error)}\n")
        return
    findings = audit.findings()
    for _, resource, message in findings:
        console.print(f"  {FAIL} {escape(resource.removeprefix('pipeline/'))}")
        console.print(f"      [dim]{escape(message)}[/]")
    steps = sum(len(row.steps) for row in audit.rows)
    mark = FAIL if findings else OK
    console.print(f"  {mark} {audit.listed} pipeline(s), {steps} job step(s), {len(findings)} without the flag\n")


def _print_stack(console: Console, report: ScanReport) -> None:
    stack = report.stack
    assert stack is not None
    found_by = f" [dim]({escape(stack.found_by)})[/]" if stack.found_by else ""
    console.print(f"[bold]Guard stack {escape(stack.name)}[/]{found_by}")
    if stack.error:
        console.print(f"  {FAIL} could not check: {escape(stack.error)}\n")
        return
    if stack.found:
        console.print(f"  {OK if stack.status and stack.status.endswith('_COMPLETE') else FAIL} status {stack.status}")
        for function in stack.functions:
            state = function.get("state", "missing")
            mark = OK if function.get("exists") and state == "Active" else FAIL
            console.print(f"  {mark} function {function['logical_id']}: {state}")
        for rule in stack.rules:
            console.print(
                f"  {OK if rule['state'] == 'ENABLED' else FAIL} rule {escape(rule['name'])}: {rule['state']}"
            )
        for queue in stack.dead_letter_queues:
            console.print(
                f"  {OK if not queue['depth'] else FAIL} dead-letter queue {queue['logical_id']}: "
                f"{queue['depth']} message(s)"
            )
        for alarm in stack.alarms:
            console.print(
                f"  {OK if alarm['state'] != 'ALARM' else FAIL} alarm {escape(alarm['name'])}: {alarm['state']}"
            )
    for problem in stack.problems:
        console.print(f"  [{SEVERITY_STYLE.get(problem.severity, '')}]{problem.severity}[/] {escape(problem.message)}")
    console.print()


def _print_verdict(console: Console, report: ScanReport) -> None:
    findings = report.findings
    for error in report.errors:
        console.print(f"[red]incomplete:[/] {error['check']}: {escape(error['message'])}")
    # An audit that could not finish never ends in green: the checks that did not run may hold
    # the findings.
    incomplete = (
        f"; [bold red]the scan is incomplete[/] ({len(report.errors)} check(s) could not run)" if report.errors else ""
    )
    if findings:
        counts = Counter(f.severity for f in findings)
        by_severity = ", ".join(f"[{SEVERITY_STYLE.get(s, '')}]{n} {s}[/]" for s, n in counts.most_common())
        console.print(
            f"[bold]{len(findings)} finding(s)[/] ({by_severity}){incomplete}; exit code {int(report.exit_code)}"
        )
    elif report.errors:
        console.print(
            f"[bold red]Scan incomplete[/]: {len(report.errors)} check(s) could not run, no "
            f"finding in the checks that did; exit code {int(report.exit_code)}"
        )
    else:
        console.print(f"[bold green]No findings[/]; exit code {int(report.exit_code)}")


def print_explanation(console: Console, explanation: Explanation, indent: str = "") -> None:
    evaluation = explanation.evaluation
    job, decision = evaluation.job, evaluation.decision

    def p(text: str = "") -> None:
        console.print(indent + text)

    p(f"[bold]{job.kind.value} {escape(job.name)}[/] [dim]{job.arn}[/]")
    encrypted = "[green]on[/]" if job.encrypted else "[red]off[/]"
    if job.unencrypted_definitions:
        encrypted += f" [dim](off in {escape(', '.join(job.unencrypted_definitions))})[/]"
    instances = (
        "instances chosen by SageMaker" if job.instances_decided_by_service else f"{job.instance_count} instance(s)"
    )
    p(f"  status {job.status}, {instances}, encryption {encrypted}")
    exempt = job.tags.get(explanation.settings.exempt_tag_key)
    if exempt is not None:
        p(f"  tag {escape(explanation.settings.exempt_tag_key)}={escape(exempt)}")
    if job.remediation_tag:
        p(f"  tag ict-guard:remediation={escape(job.remediation_tag)}")
    if evaluation.entry is not None:
        p(
            f"  ledger: intent {evaluation.entry.intent.value}, "
            f"{'settled' if evaluation.entry.settled else 'unfinished'}"
        )
    p(f"  [dim]policy from {escape(explanation.settings_source)}[/]")
    style = "green" if not explanation.acts else "red"
    p(f"\n  Decision: [bold {style}]{decision.action.value}[/]")
    p(f"  Why: {escape(decision.reason)}")
    p("  What the guard would do:")
    for number, step in enumerate(explanation.steps, 1):
        p(f"    {number}. {escape(step)}")
    if explanation.groups:
        p("  Security groups (IPsec coverage over each set):")
        for check in explanation.groups:
            if check.problem:
                p(f"    {FAIL} {escape(check.problem)}")
            elif check.missing:
                p(f"    {FAIL} {', '.join(check.group_ids)}: missing {', '.join(n.describe() for n in check.missing)}")
            else:
                p(f"    {OK} {', '.join(check.group_ids)}: UDP 500 and ESP covered in and out")
    for note in explanation.notes:
        p(f"  [dim]note: {escape(note)}[/]")
    if explanation.parent is not None:
        p("\n  Its parent, which the guard acts on:")
        print_explanation(console, explanation.parent, indent + "    ")
