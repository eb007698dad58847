"""`echo_shared.aws_json` against botocore (signature, endpoint, retry lists) and against a local
HTTP server that answers as DynamoDB does (retries, errors, checksums, kept-alive connections)."""

from __future__ import annotations

import json
import socket
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.credentials
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.retries.standard import (
    ThrottledRetryableChecker,
    ThrottlingStatusCodeChecker,
    TransientRetryableChecker,
)
from echo_shared.aws_json import (
    MAX_ATTEMPTS,
    RETRYABLE_STATUS,
    THROTTLING_CODES,
    TRANSIENT_CODES,
    AwsCallFailed,
    AwsJsonClient,
    Credentials,
    endpoint_url,
    signed_headers,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
    "AWS_REGION": "eu-west-1",
}


def _botocore_signed(
    url: str, body: bytes, headers: dict[str, str], credentials: Credentials, region: str
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    reference = botocore.credentials.Credentials(
        credentials.access_key, credentials.secret_key, credentials.session_token
    )
    SigV4Auth(reference, "dynamodb", region).add_auth(request)
    return dict(request.headers.items())


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=300),
    target=st.sampled_from(["DynamoDB_20120810.GetItem", "DynamoDB_20120810.Scan"]),
    region=st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1", "ap-southeast-2"]),
    url=st.sampled_from(
        ["https://dynamodb.us-east-1.amazonaws.com", "http://127.0.0.1:4566", "https://h:443/"]
    ),
    token=st.one_of(st.none(), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1)),
    secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
)
def test_the_signature_is_botocores(
    body: bytes, target: str, region: str, url: str, token: str | None, secret: str
) -> None:
    # Given one request and the credentials, signed by botocore (which stamps its own time)
    credentials = Credentials("AKIDEXAMPLE", secret, token)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
    reference = _botocore_signed(url, body, headers, credentials, region)
    now = datetime.strptime(reference["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    # When Echo signs it at the same time
    ours = signed_headers(
        method="POST", url=url, headers=headers, body=body, credentials=credentials,
        region=region, service="dynamodb", now=now,
    )  # fmt: skip
    # Then the signature and every signed header are botocore's
    assert ours["Authorization"] == reference["Authorization"]
    assert ours.get("X-Amz-Security-Token") == reference.get("X-Amz-Security-Token")
    assert ours["X-Amz-Date"] == reference["X-Amz-Date"]


def test_the_signature_matches_the_aws_signature_v4_test_suite() -> None:
    # AWS's SigV4 test suite, case `post-vanilla` (its example credentials, service and time): pins
    # the algorithm independently of botocore.
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    ours = signed_headers(
        method="POST", url="https://example.amazonaws.com/", headers={}, body=b"", credentials=credentials,
        region="us-east-1", service="service", now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )  # fmt: skip
    assert ours["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
        {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_DYNAMODB": "http://b:2"},
        {"AWS_ENDPOINT_URL_DYNAMODB": "http://b:2"},
        {"AWS_ENDPOINT_URL": "http://a:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
    ],
)
@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "cn-north-1"])
def test_the_endpoint_is_the_one_botocore_resolves(
    env: dict[str, str], region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reference = botocore.session.get_session().create_client(
        "dynamodb", region_name=region, aws_access_key_id="a", aws_secret_access_key="b"
    )
    assert endpoint_url("dynamodb", region, env) == reference.meta.endpoint_url


def test_the_retried_errors_are_botocores_standard_mode() -> None:
    assert set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) == TRANSIENT_CODES
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) == THROTTLING_CODES
    assert {
        *TransientRetryableChecker._TRANSIENT_STATUS_CODES,
        *ThrottlingStatusCodeChecker._THROTTLING_STATUS_CODES,
    } == RETRYABLE_STATUS


def test_credentials_come_from_the_environment_and_never_print() -> None:
    credentials = Credentials.from_env({**ENV, "AWS_SESSION_TOKEN": "token-value"})
    assert (credentials.access_key, credentials.session_token) == ("AKIDEXAMPLE", "token-value")
    assert "wJalr" not in repr(credentials)
    assert "token-value" not in repr(credentials)
    with pytest.raises(AwsCallFailed) as missing:
        Credentials.from_env({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"})
    assert missing.value.code == "NoCredentials"
    with pytest.raises(AwsCallFailed) as no_region:
        AwsJsonClient.dynamodb(environ={k: v for k, v in ENV.items() if k != "AWS_REGION"})
    assert no_region.value.code == "NoRegion"


# A DynamoDB stand-in on a real socket: it answers each request with the next scripted reply.


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"{}"
    crc32: str | None = None  # None: the body's own checksum; "" : no header
    close: bool = False


@dataclass
class Endpoint:
    url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    state = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.connections.add(self.client_address[1])
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            reply = state.replies.pop(0)
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.crc32 != "":
                self.send_header("x-amz-crc32", reply.crc32 or str(zlib.crc32(reply.body)))
            if reply.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _client(endpoint: Endpoint, sleeps: list[float] | None = None, **kwargs: Any) -> AwsJsonClient:
    recorded = sleeps if sleeps is not None else []
    return AwsJsonClient.dynamodb(
        environ={**ENV, "AWS_ENDPOINT_URL_DYNAMODB": endpoint.url}, sleep=recorded.append, **kwargs
    )


def _error(code: str, message: str = "no") -> bytes:
    return json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()


def test_a_call_is_one_signed_json_post(endpoint: Endpoint) -> None:
    endpoint.replies = [Reply(body=b'{"Item": {"pk": {"S": "JTI#a"}}}')]
    response = _client(endpoint).call("GetItem", {"TableName": "t", "Key": {"pk": {"S": "JTI#a"}}})
    assert response == {"Item": {"pk": {"S": "JTI#a"}}}
    (request,) = endpoint.requests
    assert request["path"] == "/"
    assert json.loads(request["body"]) == {"TableName": "t", "Key": {"pk": {"S": "JTI#a"}}}
    assert request["headers"]["X-Amz-Target"] == "DynamoDB_20120810.GetItem"
    assert request["headers"]["Content-Type"] == "application/x-amz-json-1.0"
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/dynamodb/aws4_request" in request["headers"]["Authorization"]


def test_throttling_and_server_errors_are_retried_with_backoff(endpoint: Endpoint) -> None:
    endpoint.replies = [
        Reply(400, _error("ProvisionedThroughputExceededException")),
        Reply(503, b"{}"),
        Reply(body=b'{"Items": []}'),
    ]
    sleeps: list[float] = []
    assert _client(endpoint, sleeps).call("Scan", {"TableName": "t"}) == {"Items": []}
    assert len(endpoint.requests) == 3
    assert len(sleeps) == 2
    assert all(0 <= pause <= 1.0 for pause in sleeps)


def test_a_client_error_is_final_and_carries_the_services_code(endpoint: Endpoint) -> None:
    endpoint.replies = [Reply(400, _error("ResourceNotFoundException", "Requested resource not found"))]
    with pytest.raises(AwsCallFailed) as failed:
        _client(endpoint).call("Scan", {"TableName": "missing"})
    assert (failed.value.code, failed.value.status) == ("ResourceNotFoundException", 400)
    assert "Requested resource not found" in str(failed.value)
    assert len(endpoint.requests) == 1


def test_attempts_run_out_after_the_last_retry(endpoint: Endpoint) -> None:
    endpoint.replies = [Reply(500, _error("InternalServerError")) for _ in range(MAX_ATTEMPTS)]
    sleeps: list[float] = []
    with pytest.raises(AwsCallFailed) as failed:
        _client(endpoint, sleeps).call("Scan", {"TableName": "t"})
    assert failed.value.code == "InternalServerError"
    assert len(endpoint.requests) == MAX_ATTEMPTS
    assert len(sleeps) == MAX_ATTEMPTS - 1


def test_a_body_that_fails_its_checksum_is_retried(endpoint: Endpoint) -> None:
    endpoint.replies = [Reply(body=b'{"Items": [1]}', crc32="12345"), Reply(body=b'{"Items": []}')]
    assert _client(endpoint).call("Scan", {"TableName": "t"}) == {"Items": []}
    assert len(endpoint.requests) == 2


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_typed_failure(endpoint: Endpoint, body: bytes) -> None:
    endpoint.replies = [Reply(body=body, crc32="")]
    with pytest.raises(AwsCallFailed) as failed:
        _client(endpoint).call("Scan", {"TableName": "t"})
    assert failed.value.code == "MalformedResponse"


def test_the_connection_is_kept_alive_and_replaced_when_the_server_closes_it(endpoint: Endpoint) -> None:
    endpoint.replies = [Reply(), Reply(close=True), Reply()]
    client = _client(endpoint)
    for _ in range(3):
        client.call("GetItem", {"TableName": "t"})
    # the first two calls share one connection; the server closed it, so the third opens another
    assert len(endpoint.connections) == 2


def test_an_unreachable_endpoint_fails_after_every_attempt() -> None:
    client = AwsJsonClient.dynamodb(
        environ={**ENV, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, sleep=lambda _: None, timeout_seconds=0.5
    )
    with pytest.raises(AwsCallFailed) as failed:
        client.call("Scan", {"TableName": "t"})
    assert failed.value.code == "ConnectionError"


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = AwsJsonClient.dynamodb(
            environ={**ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}"},
            sleep=lambda _: None,
            timeout_seconds=0.2,
        )
        with pytest.raises(AwsCallFailed) as failed:
            client.call("Scan", {"TableName": "t"})
    assert failed.value.code == "ConnectionError"


def test_an_endpoint_that_is_not_http_is_refused() -> None:
    with pytest.raises(AwsCallFailed) as failed:
        AwsJsonClient.dynamodb(environ={**ENV, "AWS_ENDPOINT_URL": "ftp://host"})
    assert failed.value.code == "InvalidEndpoint"
