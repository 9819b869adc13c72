"""An embedded AWS to point `ict-guard` at: moto's threaded server with this project's SageMaker
extension, on the loopback interface, seeded with example jobs, until Ctrl-C.

    python -m sandbox.server [--port 5055] [--no-seed]      (make sandbox [PORT=5055])
    python -m sandbox.server --print-env [--port 5055]      (make -s sandbox-env)

Only the account is embedded, not the guard: nothing reacts to the jobs (`make demo` runs the
guard). The seed is what a user of the CLI meets in an account: a VPC whose security groups lack
the IPsec rules, a trail that logs management events, and jobs the guard would act on or leave
alone. Credentials are moto's dummies; moto accepts any.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import socket
import sys
import threading
from typing import Any

# Loopback only: the server has no authentication, and accepts any credentials.
HOST = "127.0.0.1"
DEFAULT_PORT = 5055
REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def client_environment(endpoint: str) -> dict[str, str]:
    """What a shell needs to send boto3 (and so `ict-guard`) to the embedded AWS.

    AWS_ENDPOINT_URL is read by botocore itself (1.31+) for every service, so no --endpoint-url
    is needed."""
    return {**DUMMY_CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}


def shell_lines(endpoint: str, venv_bin: str) -> list[str]:
    """`eval`-able lines: a profile or session token from the user's own setup would otherwise
    win over (or be sent with) the dummy keys."""
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in client_environment(endpoint).items())
    return [
        "unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN",
        f"export {exports}",
        f'export PATH={shlex.quote(venv_bin)}:"$PATH"',
    ]


def _venv_bin() -> str:
    return os.path.dirname(os.path.abspath(sys.executable))


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def seed(session: Any) -> list[str]:
    """Example jobs and what they sit in; returns one line per thing made."""
    from sandbox import template as sam_template
    from sandbox.environment import (
        automl_job_request,
        data_quality_job_definition_request,
        monitoring_schedule_request,
        processing_job_request,
        provision,
        training_job_request,
        tuning_job_request,
    )

    env = provision(session, sam_template.load_template())
    s3, cloudtrail = session.client("s3"), session.client("cloudtrail")
    s3.create_bucket(Bucket="org-trail-logs")
    cloudtrail.create_trail(Name="management-events", S3BucketName="org-trail-logs", IsMultiRegionTrail=True)
    cloudtrail.put_event_selectors(
        TrailName="management-events",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    cloudtrail.start_logging(Name="management-events")

    sagemaker = session.client("sagemaker")
    hardened = {"SecurityGroupIds": [env.second_group_id], "Subnets": env.subnet_ids}
    jobs = [
        ("resnet-ddp", {}, "2 instances, VPC, encryption off: the guard would act"),
        (
            "bert-encrypted",
            {"encrypted": True, "VpcConfig": hardened},
            "2 instances, encryption on, its group lacks IPsec rules",
        ),
        ("smoke-test", {"instance_count": 1}, "1 instance, encryption off: left alone"),
        ("exempt-benchmark", {"tags": {"ict-guard:exempt": "true"}}, "encryption off, tagged ict-guard:exempt=true"),
    ]
    made = [
        f"VPC {env.vpc_id}, security groups {env.bare_group_id} and {env.second_group_id} (no IPsec rules)",
        "CloudTrail trail management-events (multi-region, logging)",
    ]
    for name, options, what in jobs:
        sagemaker.create_training_job(**training_job_request(env, name, **options))
        made.append(f"training job {name}: {what}")
    sagemaker.create_hyper_parameter_tuning_job(**tuning_job_request(env, "hpo-a"))
    made.append("tuning job hpo-a: 2 instances per training, encryption off")
    sagemaker.create_processing_job(**processing_job_request(env, "churn-features", instance_count=3))
    made.append("processing job churn-features: 3 instances, VPC, encryption off")
    sagemaker.create_auto_ml_job_v2(**automl_job_request(env, "churn-automl", v2=True))
    made.append("AutoML job churn-automl (V2): encryption off (SageMaker chooses its instances)")
    sagemaker.create_data_quality_job_definition(**data_quality_job_definition_request(env, "churn-dq"))
    sagemaker.create_monitoring_schedule(**monitoring_schedule_request(env, "churn-dq-hourly", definition="churn-dq"))
    made.append("monitoring schedule churn-dq-hourly: runs job definition churn-dq, 2 instances, encryption off")
    from sandbox.prevention import PIPELINE_EXAMPLE, ROLE

    sagemaker.create_pipeline(
        PipelineName="churn-training",
        PipelineDefinition=PIPELINE_EXAMPLE.read_text(),
        RoleArn=ROLE,
    )
    made.append("pipeline churn-training (examples/iac/churn-pipeline.json): steps lack the flag")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port on {HOST} (default {DEFAULT_PORT})")
    parser.add_argument("--no-seed", action="store_true", help="start empty")
    parser.add_argument("--print-env", action="store_true", help="only print the shell lines for a client")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a TCP port")
    endpoint = f"http://{HOST}:{args.port}"
    if args.print_env:
        print("\n".join(shell_lines(endpoint, _venv_bin())))
        return 0
    if not port_is_free(args.port):
        print(f"error: port {args.port} on {HOST} is in use (another sandbox?); "
              f"choose another: make sandbox PORT={args.port + 1}", file=sys.stderr)
        return 2

    # The server's own process must not send its seed anywhere else.
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(client_environment(endpoint))

    import boto3
    from moto.server import ThreadedMotoServer

    from sandbox import sagemaker_extension

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    sagemaker_extension.install()
    server = ThreadedMotoServer(ip_address=HOST, port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    # SIGTERM (a test, a process manager) ends it like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"sagemaker-ict-guard sandbox: embedded AWS (moto + the SageMaker extension) at {endpoint}")
        if not args.no_seed:
            for line in seed(boto3.session.Session(region_name=REGION)):
                print(f"  seeded: {line}")
        print("\nIn another terminal (the credentials are dummies; moto accepts any):")
        for line in shell_lines(endpoint, _venv_bin()):
            print(f"  {line}")
        print("  ict-guard scan                 # or: ict-guard explain resnet-ddp")
        print(f"\nOr without the exports: .venv/bin/ict-guard --endpoint-url {endpoint} --region {REGION} scan "
              "(with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set to anything)")
        print("\nready; Ctrl-C stops the server (its state is in memory only)", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
