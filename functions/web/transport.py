"""Server-side HTTP to Echo's own endpoints (token service, JWKS, the APIs) through API Gateway."""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MAX_RESPONSE_BYTES = 6 * 1024 * 1024


class UpstreamUnavailable(Exception):
    """An Echo endpoint could not be reached or answered with something that is not HTTP."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class HttpTransport(Protocol):
    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse: ...


class UrllibTransport:
    """No redirects followed, bounded response size, one timeout per call."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse:
        if not url.startswith(("http://", "https://")):
            raise UpstreamUnavailable("only http(s) endpoints are called")
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return HttpResponse(response.status, response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, error.read(MAX_RESPONSE_BYTES))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise UpstreamUnavailable("an Echo endpoint is unreachable") from error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
