"""The offline LocalStack runtime (localstack/): Docker-free Lambda executor and REST API authorizers.

Runs against a started LocalStack (`python3 localstack/manage.py start`) at ECHO_ENDPOINT_URL.
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

pytestmark = pytest.mark.e2e

ENDPOINT = os.environ.get(
    "ECHO_ENDPOINT_URL", f"http://127.0.0.1:{os.environ.get('ECHO_LOCALSTACK_PORT') or 4566}"
)
REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/echo-e2e-lambda"

MakeFunction = Callable[..., str]


def client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unique(purpose: str) -> str:
    return f"echo-e2e-{purpose}-{uuid.uuid4().hex[:8]}"


def invoke(name: str, event: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    response = client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail")
    return response, json.loads(response["Payload"].read() or b"null")


@pytest.fixture(scope="module", autouse=True)
def localstack_running() -> None:
    try:
        httpx.get(f"{ENDPOINT}/_localstack/health", timeout=5).raise_for_status()
    except httpx.HTTPError as error:
        pytest.fail(
            f"LocalStack is not reachable at {ENDPOINT} (python3 localstack/manage.py start): {error}"
        )


class FunctionFactory:
    """Creates functions from in-memory zips and deletes them again."""

    def __init__(self) -> None:
        self._lambda = client("lambda")
        self._created: list[str] = []

    def __call__(
        self,
        handler_code: str,
        *,
        purpose: str = "fn",
        timeout: int = 3,
        env: dict[str, str] | None = None,
        layers: list[str] | None = None,
        runtime: str = "python3.13",
    ) -> str:
        name = unique(purpose)
        self._lambda.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=ROLE,
            Handler="handler.handler",
            Timeout=timeout,
            Code={"ZipFile": zip_bytes({"handler.py": handler_code})},
            Environment={"Variables": env or {}},
            Layers=layers or [],
        )
        self._created.append(name)
        self._lambda.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    def delete_all(self) -> None:
        for name in self._created:
            self._lambda.delete_function(FunctionName=name)


@pytest.fixture
def make_function() -> Iterator[MakeFunction]:
    factory = FunctionFactory()
    yield factory
    factory.delete_all()


ECHO_HANDLER = """
import os, sys

def handler(event, context):
    print("echo-e2e log line", context.aws_request_id)
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("crash"):
        os._exit(3)
    return {"event": event, "pid": os.getpid(), "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "task_root": os.environ.get("LAMBDA_TASK_ROOT"), "sys_path": sys.path}
"""


def test_invoke_returns_the_result_and_tail_logs(make_function: MakeFunction) -> None:
    # Given a deployed function
    name = make_function(ECHO_HANDLER, purpose="echo")

    # When it is invoked with LogType=Tail
    response, result = invoke(name, {"hello": "world"})

    # Then the result and the invocation's logs come back, and the function talks to LocalStack
    assert "FunctionError" not in response
    assert result["event"] == {"hello": "world"}
    assert result["endpoint"] == f"http://127.0.0.1:{urlsplit(ENDPOINT).port}"
    assert os.path.samefile(result["sys_path"][0], result["task_root"])
    logs = base64.b64decode(response["LogResult"]).decode()
    assert "echo-e2e log line" in logs
    assert "START RequestId:" in logs
    assert "REPORT RequestId:" in logs


def test_module_missing_from_the_bundle_fails_like_on_aws(make_function: MakeFunction) -> None:
    # Given a handler importing pydantic, which LocalStack's own venv has but the bundle does not
    name = make_function(
        "import pydantic\n\ndef handler(event, context):\n    return 'unreachable'\n", purpose="isolation"
    )

    # When it is invoked
    response, error = invoke(name)

    # Then the import fails, as it would on AWS
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "pydantic" in error["errorMessage"]


def test_unsupported_runtime_is_a_clear_error(make_function: MakeFunction) -> None:
    # Given a runtime the local executor has no venv for
    name = make_function(
        "def handler(event, context):\n    return 1\n", purpose="nodejs", runtime="nodejs22.x"
    )

    # When it is invoked
    response, error = invoke(name)

    # Then the invocation fails and says why
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.InvalidRuntime"
    assert "nodejs22.x is not supported" in error["errorMessage"]


def test_layer_modules_are_importable(make_function: MakeFunction) -> None:
    lambda_client = client("lambda")
    layer_name = unique("layer")
    layer = lambda_client.publish_layer_version(
        LayerName=layer_name,
        CompatibleRuntimes=["python3.13"],
        Content={"ZipFile": zip_bytes({"python/echo_layer_probe.py": "VALUE = 'from-layer'\n"})},
    )
    try:
        # Given a function that only finds echo_layer_probe through its layer
        name = make_function(
            "import echo_layer_probe\n\ndef handler(event, context):\n    return echo_layer_probe.VALUE\n",
            purpose="layer",
            layers=[layer["LayerVersionArn"]],
        )

        # When it is invoked
        response, result = invoke(name)

        # Then the layer's module was imported
        assert "FunctionError" not in response, result
        assert result == "from-layer"
    finally:
        lambda_client.delete_layer_version(LayerName=layer_name, VersionNumber=layer["Version"])


def test_timeout_is_reported_and_the_next_invoke_works(make_function: MakeFunction) -> None:
    # Given a function with a 1 s timeout
    name = make_function(ECHO_HANDLER, purpose="timeout", timeout=1)

    # When an invocation runs longer
    response, error = invoke(name, {"sleep": 3})

    # Then it is reported as timed out, and the environment serves the next invocation
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(response["LogResult"]).decode()
    response, result = invoke(name, {"after": "timeout"})
    assert "FunctionError" not in response, result
    assert result["event"] == {"after": "timeout"}


def test_runtime_crash_is_reported_and_the_runtime_restarts(make_function: MakeFunction) -> None:
    # Given a function whose runtime process exits in the middle of an invocation
    name = make_function(ECHO_HANDLER, purpose="crash")

    # When it is invoked
    response, error = invoke(name, {"crash": True})

    # Then the exit is reported, and a new runtime serves the next invocation
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    response, result = invoke(name, {"after": "crash"})
    assert "FunctionError" not in response, result


def test_parallel_invocations_run_in_separate_environments(make_function: MakeFunction) -> None:
    # Given a function that takes one second
    name = make_function(ECHO_HANDLER, purpose="parallel", timeout=10)
    started = time.monotonic()

    # When four invocations arrive at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: invoke(name, {"sleep": 1, "i": i}), range(4)))

    # Then all succeed, concurrently, in more than one execution environment
    assert all("FunctionError" not in response for response, _ in results)
    assert sorted(result["event"]["i"] for _, result in results) == [0, 1, 2, 3]
    assert len({result["pid"] for _, result in results}) > 1
    assert time.monotonic() - started < 4


SQS_FORWARDER = """
import os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        sqs.send_message(QueueUrl=os.environ["OUT_QUEUE_URL"], MessageBody="seen:" + record["body"])
    return {"batchItemFailures": []}
"""


def test_sqs_event_source_mapping_delivers_to_the_function(make_function: MakeFunction) -> None:
    sqs, lambda_client = client("sqs"), client("lambda")
    in_url = sqs.create_queue(QueueName=unique("in"))["QueueUrl"]
    out_url = sqs.create_queue(QueueName=unique("out"))["QueueUrl"]
    mapping_id = None
    try:
        # Given a function consuming a queue; it gets LocalStack's queue URL (an offline-unresolvable host)
        name = make_function(SQS_FORWARDER, purpose="sqs", env={"OUT_QUEUE_URL": out_url})
        in_arn = sqs.get_queue_attributes(QueueUrl=in_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        mapping_id = lambda_client.create_event_source_mapping(
            EventSourceArn=in_arn, FunctionName=name, BatchSize=1
        )["UUID"]
        _wait_for(lambda: lambda_client.get_event_source_mapping(UUID=mapping_id)["State"] == "Enabled")

        # When a message is sent to the queue
        sqs.send_message(QueueUrl=in_url, MessageBody="ping")

        # Then the function received it and forwarded it
        received: list[str] = []

        def forwarded() -> bool:
            messages = sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=1).get("Messages", [])
            received.extend(message["Body"] for message in messages)
            return bool(received)

        _wait_for(forwarded, timeout=30)
        assert received == ["seen:ping"]
    finally:
        if mapping_id:
            lambda_client.delete_event_source_mapping(UUID=mapping_id)
            _wait_for(lambda: _mapping_gone(mapping_id))
        sqs.delete_queue(QueueUrl=in_url)
        sqs.delete_queue(QueueUrl=out_url)


def _mapping_gone(mapping_id: str) -> bool:
    try:
        client("lambda").get_event_source_mapping(UUID=mapping_id)
    except client("lambda").exceptions.ResourceNotFoundException:
        return True
    return False


def _wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.2)


TOKEN_AUTHORIZER = """
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    token = event["authorizationToken"]
    if token.startswith("Bearer allow"):
        effect = "Allow"
    elif token.startswith("Bearer deny"):
        effect = "Deny"
    else:
        raise Exception("Unauthorized")
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
    return {"principalId": "user-" + token.split()[-1],
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"tenant": "tenant-1", "authorizerCalls": CALLS, "admin": False}}
"""

BACKEND = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"authorizer": event["requestContext"].get("authorizer")})}
"""


def rest_api_template(authorizer_arn: str, backend_arn: str, name: str) -> dict[str, Any]:
    def lambda_uri(arn: str) -> str:
        return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"

    api = {"Ref": "Api"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": name}},
            "TokenAuthorizer": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "RestApiId": api,
                    "Name": "token",
                    "Type": "TOKEN",
                    "IdentitySource": "method.request.header.Authorization",
                    "IdentityValidationExpression": "^Bearer [a-z0-9-]+$",
                    "AuthorizerResultTtlInSeconds": 300,
                    "AuthorizerUri": lambda_uri(authorizer_arn),
                },
            },
            "Items": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "RestApiId": api,
                    "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "PathPart": "items",
                },
            },
            "GetItems": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": api,
                    "ResourceId": {"Ref": "Items"},
                    "HttpMethod": "GET",
                    "AuthorizationType": "CUSTOM",
                    "AuthorizerId": {"Ref": "TokenAuthorizer"},
                    "Integration": {
                        "Type": "AWS_PROXY",
                        "IntegrationHttpMethod": "POST",
                        "Uri": lambda_uri(backend_arn),
                    },
                },
            },
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "DependsOn": ["GetItems"],
                "Properties": {"RestApiId": api, "StageName": "test"},
            },
        },
        "Outputs": {"ApiId": {"Value": api}, "AuthorizerId": {"Value": {"Ref": "TokenAuthorizer"}}},
    }


@pytest.fixture(scope="module")
def authorized_api() -> Iterator[dict[str, str]]:
    lambda_client, cloudformation = client("lambda"), client("cloudformation")
    functions = FunctionFactory()
    authorizer = functions(TOKEN_AUTHORIZER, purpose="authorizer")
    backend = functions(BACKEND, purpose="backend")
    arns = [
        lambda_client.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
        for fn in (authorizer, backend)
    ]
    stack = unique("api")
    cloudformation.create_stack(
        StackName=stack, TemplateBody=json.dumps(rest_api_template(*arns, name=stack))
    )
    try:
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        }
        yield outputs
    finally:
        cloudformation.delete_stack(StackName=stack)
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        functions.delete_all()


def call_api(api_id: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    return httpx.get(f"{ENDPOINT}/_aws/execute-api/{api_id}/test/items", headers=headers, timeout=30)


def test_cloudformation_authorizer_ref_is_the_authorizer_id(authorized_api: dict[str, str]) -> None:
    authorizers = client("apigateway").get_authorizers(restApiId=authorized_api["ApiId"])["items"]
    assert [a["id"] for a in authorizers] == [authorized_api["AuthorizerId"]]
    assert authorizers[0]["type"] == "TOKEN"


def test_token_authorizer_rejects_requests_without_a_valid_token(authorized_api: dict[str, str]) -> None:
    api_id = authorized_api["ApiId"]
    # No token, a token failing the validation expression, an authorizer answering Unauthorized: 401
    for token in (None, "not-a-bearer-token", "Bearer nobody"):
        response = call_api(api_id, token)
        assert response.status_code == 401, (token, response.text)
        assert response.json() == {"message": "Unauthorized"}


def test_token_authorizer_deny_policy_is_forbidden(authorized_api: dict[str, str]) -> None:
    response = call_api(authorized_api["ApiId"], "Bearer deny-1")

    assert response.status_code == 403
    assert "explicit deny" in response.text


def test_token_authorizer_allow_reaches_the_backend_with_its_context(authorized_api: dict[str, str]) -> None:
    api_id = authorized_api["ApiId"]

    # Given an allowed token
    first = call_api(api_id, "Bearer allow-1")

    # Then the backend sees the principal and the (stringified) authorizer context
    assert first.status_code == 200, first.text
    authorizer = first.json()["authorizer"]
    assert authorizer["principalId"] == "user-allow-1"
    assert authorizer["tenant"] == "tenant-1"
    assert authorizer["admin"] == "false"

    # And within the TTL the same token is answered from the cache, another token is not
    again = call_api(api_id, "Bearer allow-1").json()["authorizer"]
    other = call_api(api_id, "Bearer allow-2").json()["authorizer"]
    assert again["authorizerCalls"] == authorizer["authorizerCalls"]
    assert int(other["authorizerCalls"]) > int(authorizer["authorizerCalls"])
