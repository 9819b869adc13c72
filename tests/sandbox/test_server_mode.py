"""The extension works when moto runs as a threaded HTTP server, as the demo runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from sandbox import sagemaker_extension

pytestmark = pytest.mark.sandbox


@pytest.fixture
def endpoint() -> Iterator[str]:
    sagemaker_extension.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        # The server shares this process's moto state with mock_aws(): leave none behind.
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()


def test_over_http_jobs_run_stop_and_emit_cloudtrail_events(
    endpoint: str, job_request: Any, region: str
) -> None:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    sagemaker, events, sqs = client("sagemaker"), client("events"), client("sqs")
    queue_url = sqs.create_queue(QueueName="trail")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pattern = {"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateTrainingJob"]}}
    events.put_rule(Name="trail", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="trail", Targets=[{"Id": "queue", "Arn": queue_arn}])

    arn = sagemaker.create_training_job(**job_request("served", Environment={"MY_VAR": "1"}))[
        "TrainingJobArn"
    ]
    running = sagemaker.describe_training_job(TrainingJobName="served")
    sagemaker.stop_training_job(TrainingJobName="served")
    stopping = sagemaker.describe_training_job(TrainingJobName="served")["TrainingJobStatus"]
    stopped = sagemaker.describe_training_job(TrainingJobName="served")["TrainingJobStatus"]

    assert (running["TrainingJobStatus"], running["Environment"]) == ("InProgress", {"MY_VAR": "1"})
    assert (stopping, stopped) == ("Stopping", "Stopped")
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail"]["responseElements"] == {"trainingJobArn": arn}
    assert event["detail"]["requestParameters"]["environment"] == {"MY_VAR": "1"}
    assert event["detail"]["sourceIPAddress"] == "127.0.0.1"


def test_over_http_processing_and_automl_jobs_run_and_stop(
    endpoint: str, processing_request: Any, automl_request: Any, region: str
) -> None:
    sagemaker = boto3.client(
        "sagemaker",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    sagemaker.create_processing_job(**processing_request("served-proc"))
    sagemaker.create_auto_ml_job(**automl_request("served-automl"))
    processing = sagemaker.describe_processing_job(ProcessingJobName="served-proc")
    automl = sagemaker.describe_auto_ml_job_v2(AutoMLJobName="served-automl")
    sagemaker.stop_processing_job(ProcessingJobName="served-proc")
    sagemaker.stop_auto_ml_job(AutoMLJobName="served-automl")

    assert (processing["ProcessingJobStatus"], processing["Environment"]) == ("InProgress", {"STAGE": "prep"})
    assert automl["AutoMLProblemTypeConfigName"] == "Tabular"
    assert automl["SecurityConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert sagemaker.describe_processing_job(ProcessingJobName="served-proc")["ProcessingJobStatus"] == "Stopping"
    assert sagemaker.describe_auto_ml_job(AutoMLJobName="served-automl")["AutoMLJobStatus"] == "Stopping"
    assert sagemaker.describe_auto_ml_job_v2(AutoMLJobName="served-automl")["AutoMLJobStatus"] == "Stopped"
