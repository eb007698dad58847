"""Low-level AWS clients from one botocore session, without boto3's session and resource layer.

boto3 adds nothing Echo uses to botocore's clients (`boto3.client` is botocore's `create_client`
on a default session) and costs tens of milliseconds of import on every cold start (ADR 0015).
One session per process, created on first use, so every client shares its loaded service models.
"""

from typing import Any

import botocore.session
from botocore.config import Config

from echo_shared.lazy import cached_resource


@cached_resource
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def client(service: str, *, config: Config | None = None) -> Any:
    """A botocore client for `service`; region, endpoint (AWS_ENDPOINT_URL) and credentials from
    the environment, as boto3 would resolve them. Callers annotate it with its types_boto3 class."""
    return _session().create_client(service, config=config)
