"""Calls to an AWS JSON-protocol API (DynamoDB's) over `http.client`, signed with Signature Version 4.

The authorizer's only AWS dependency (ADR 0017): a consistent `Scan` of the signing keys and a
`GetItem` per token. botocore costs it about 110 ms of import and 55 ms to build a client on every
cold start, more than the rest of its cold start together; these calls need none of what botocore
adds (service models, paginators, waiters, resource layer). What they do need is kept, each tested
against botocore on the same input (`tests/unit/test_aws_json.py`):

- the Signature Version 4 signature (AWS's published algorithm, byte for byte botocore's
  `SigV4Auth` on the same request and time);
- the endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL` (unless
  `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), then the service's regional endpoint;
- credentials from the environment (what Lambda gives a function: key, secret, session token);
- botocore's standard retry mode: up to 4 attempts, with jittered exponential backoff, on
  connection errors, 429/500/502/503/504, throttling and transient error codes and a body whose
  `x-amz-crc32` does not match;
- errors as the service's own error code (`ResourceNotFoundException`, ...).

Responses are the service's JSON as sent: a binary attribute stays base64 text (botocore decodes it).
"""

import hashlib
import hmac
import http.client
import json
import os
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_ATTEMPTS = 4  # a first try and three retries, as the botocore clients Echo configures
TIMEOUT_SECONDS = 5.0  # per attempt; the authorizer answers API Gateway well inside its own timeout
_BACKOFF_BASE_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 1.0

# botocore's standard retry mode (botocore/retries/standard.py): its transient and throttling codes
# and statuses, and CRC32 mismatches (checked against botocore's own lists in the unit tests).
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class AwsCallFailed(Exception):
    """A call that did not succeed: `code` is the service's error code, or what failed on the way
    (`ConnectionError`, `CRC32Mismatch`, `MalformedResponse`, `NoCredentials`, `NoRegion`)."""

    def __init__(self, code: str, message: str = "", *, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.status = status


@dataclass(frozen=True, repr=False)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Credentials":
        access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            raise AwsCallFailed("NoCredentials", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
        return cls(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None)


def region_from_env(environ: Mapping[str, str] = os.environ) -> str:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise AwsCallFailed("NoRegion", "AWS_REGION is not set")
    return region


def endpoint_url(service: str, region: str, environ: Mapping[str, str] = os.environ) -> str:
    """The endpoint botocore would use for `service` with this environment."""
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        configured = environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or environ.get("AWS_ENDPOINT_URL")
        if configured:
            return configured
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service}.{region}.{suffix}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signed_headers(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """`headers` plus Host, X-Amz-Date, X-Amz-Security-Token and Authorization (SigV4, every
    header given is signed). Only for paths that need no escaping and requests without a query."""
    parts = urlsplit(url)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    signed = {
        **headers,
        "Host": _host(parts.scheme, parts.hostname or "", parts.port),
        "X-Amz-Date": amz_date,
    }
    if credentials.session_token:
        signed["X-Amz-Security-Token"] = credentials.session_token
    canonical = {name.lower(): " ".join(value.split()) for name, value in signed.items()}
    names = ";".join(sorted(canonical))
    canonical_request = "\n".join(
        [
            method,
            parts.path or "/",
            "",
            *(f"{name}:{canonical[name]}" for name in sorted(canonical)),
            "",
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{credentials.secret_key}".encode(), day), region), service), "aws4_request"
    )
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, SignedHeaders={names}, Signature={signature}"
    )
    return signed


def _host(scheme: str, hostname: str, port: int | None) -> str:
    default = 443 if scheme == "https" else 80
    return hostname if port in (None, default) else f"{hostname}:{port}"


class AwsJsonClient:
    """One service's JSON API (`X-Amz-Target: <target_prefix>.<Operation>`) on a kept-alive
    connection per thread. Endpoint, region and credentials are read from the environment once."""

    def __init__(
        self,
        *,
        service: str,
        target_prefix: str,
        content_type: str = "application/x-amz-json-1.0",
        environ: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ) -> None:
        self._service, self._target_prefix, self._content_type = service, target_prefix, content_type
        self._region = region_from_env(environ)
        self._credentials = Credentials.from_env(environ)
        self._url = endpoint_url(service, self._region, environ)
        parts = urlsplit(self._url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AwsCallFailed("InvalidEndpoint", f"not an http(s) endpoint: {self._url}")
        self._https = parts.scheme == "https"
        self._address = (parts.hostname, parts.port)
        self._path = parts.path or "/"
        self._clock, self._sleep, self._timeout = clock, sleep, timeout_seconds
        self._local = threading.local()

    @classmethod
    def dynamodb(cls, **kwargs: Any) -> "AwsJsonClient":
        return cls(service="dynamodb", target_prefix="DynamoDB_20120810", **kwargs)

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The operation's response; `AwsCallFailed` once a failure is final or attempts run out."""
        body = json.dumps(request, separators=(",", ":")).encode()
        attempt = 1
        while True:
            try:
                return self._attempt(operation, body)
            except AwsCallFailed as failure:
                if attempt == MAX_ATTEMPTS or not _retryable(failure):
                    raise
            # Full jitter (botocore standard mode), capped low: the caller is waiting on it.
            self._sleep(random.random() * min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2**attempt))  # noqa: S311 (jitter, not a secret)
            attempt += 1

    def _attempt(self, operation: str, body: bytes) -> dict[str, Any]:
        headers = signed_headers(
            method="POST",
            url=self._url,
            headers={
                "Content-Type": self._content_type,
                "X-Amz-Target": f"{self._target_prefix}.{operation}",
            },
            body=body,
            credentials=self._credentials,
            region=self._region,
            service=self._service,
            now=self._clock(),
        )
        connection = self._connection()
        try:
            connection.request("POST", self._path, body=body, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
            checksum = response.getheader("x-amz-crc32")
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            raise AwsCallFailed("ConnectionError", type(exc).__name__) from None
        if response.will_close:
            self._drop_connection()
        if checksum is not None and checksum.isdigit() and int(checksum) != zlib.crc32(payload):
            raise AwsCallFailed("CRC32Mismatch", status=status)
        try:
            document = json.loads(payload) if payload else {}
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise AwsCallFailed("MalformedResponse", f"HTTP {status}", status=status)
        if status >= 300:
            code = str(document.get("__type", "")).rpartition("#")[2] or f"HTTP{status}"
            message = document.get("message") or document.get("Message") or ""
            raise AwsCallFailed(code, str(message), status=status)
        return document

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            host, port = self._address
            connection = (
                http.client.HTTPSConnection(host, port, timeout=self._timeout)
                if self._https
                else http.client.HTTPConnection(host, port, timeout=self._timeout)
            )
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


def _retryable(failure: AwsCallFailed) -> bool:
    if failure.code in ("ConnectionError", "CRC32Mismatch"):
        return True
    if failure.code in TRANSIENT_CODES or failure.code in THROTTLING_CODES:
        return True
    return failure.status in RETRYABLE_STATUS
