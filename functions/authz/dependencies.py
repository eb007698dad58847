"""Typed request dependencies: the caller, the request id and the adapters (overridable in tests).

The dependencies are coroutines: none blocks, and FastAPI runs a plain function in a worker thread
(a thread hop per dependency and per request, more than a decision costs).
"""

from typing import Annotated, Any

from echo_shared.authz import AuthzClient
from echo_shared.authz.admin import PolicyAdministration
from echo_shared.authz.caller import Caller, caller_from_authorizer
from echo_shared.authz.dynamodb import DynamoEntityProvider, DynamoPolicyStore
from echo_shared.authz.entities import EntityProvider
from echo_shared.authz.validation import PolicyValidator
from echo_shared.events import SnsEventPublisher
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.lazy import cached_resource
from echo_shared.web import request_id
from fastapi import Depends, Request

from authz.settings import AuthzApiSettings

SERVICE_LABEL = "service:authz"


@cached_resource
def get_settings() -> AuthzApiSettings:
    return AuthzApiSettings.from_env()


@cached_resource
def _outbox() -> DynamoOutbox:
    return DynamoOutbox(get_settings().outbox_table)


@cached_resource
def _policy_store() -> DynamoPolicyStore:
    # Policy changes commit with their events in the outbox (ADR 0014).
    return DynamoPolicyStore(get_settings().authz_policy_table, outbox=_outbox())


@cached_resource
def _entities() -> DynamoEntityProvider:
    return DynamoEntityProvider(get_settings().authz_documents_table)


@cached_resource
def _publisher() -> SnsEventPublisher:
    return SnsEventPublisher(get_settings().event_topic_arn)


@cached_resource
def _client() -> AuthzClient:
    return AuthzClient(
        store=_policy_store(),
        entities=_entities(),
        publisher=_publisher(),
        asked_by=SERVICE_LABEL,
        refresh_seconds=get_settings().authz_refresh_seconds,
    )


@cached_resource
def _administration() -> PolicyAdministration:
    client = _client()
    return PolicyAdministration(
        store=_policy_store(),
        validator=PolicyValidator(client.engine),
        publisher=_outbox(),
        baseline_version=client.catalog.baseline_version,
    )


async def get_client() -> AuthzClient:
    return _client()


async def get_entities() -> EntityProvider:
    return _entities()


async def get_administration() -> PolicyAdministration:
    return _administration()


def _event(request: Request) -> dict[str, Any]:
    return request.scope.get("aws.event") or {}


async def get_caller(request: Request) -> Caller:
    return caller_from_authorizer((_event(request).get("requestContext") or {}).get("authorizer"))


CurrentCaller = Annotated[Caller, Depends(get_caller)]
RequestId = Annotated[str, Depends(request_id)]
Client = Annotated[AuthzClient, Depends(get_client)]
Entities = Annotated[EntityProvider, Depends(get_entities)]
Administration = Annotated[PolicyAdministration, Depends(get_administration)]
