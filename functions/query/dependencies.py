"""Typed request dependencies: the caller, the request id and the service (overridable in tests)."""

from typing import Annotated

import boto3
from botocore.config import Config
from echo_documents.access import ANSWERABLE_STATUSES, DocumentRecordsProvider, records_authz_client
from echo_documents.repository import DynamoDocumentRepository
from echo_retrieval.answering import answerer_from_env
from echo_retrieval.embedding import default_embedder
from echo_retrieval.index import TenantIndexCache
from echo_retrieval.s3_store import S3IndexStore
from echo_shared.authz.caller import Caller, caller_from_event
from echo_shared.events import SnsEventPublisher
from echo_shared.events.request_events import RequestEvents
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
from echo_shared.web import request_id
from fastapi import Depends, Request

from query.logic import QueryService
from query.settings import QueryApiSettings


@cached_resource
def get_settings() -> QueryApiSettings:
    return QueryApiSettings.from_env()


@cached_resource
def _service() -> QueryService:
    settings = get_settings()
    repository = DynamoDocumentRepository(settings.documents_table)
    # Only ready documents are candidates; a deleted one is denied by the decision itself.
    records = DocumentRecordsProvider(repository, ANSWERABLE_STATUSES)
    # A query's decision events and its answer event leave together at the end (RequestEvents):
    # one PublishBatch on the documents topic, the query function's own (a decision belongs to its decider).
    events = RequestEvents(SnsEventPublisher(settings.event_topic_arn))
    return QueryService(
        repository=repository,
        records=records,
        authz=records_authz_client(settings, repository, ANSWERABLE_STATUSES, records, events),
        # Segments load in parallel on a cold cache: one pooled connection per loader thread.
        indexes=TenantIndexCache(
            S3IndexStore(boto3.client("s3", config=Config(max_pool_connections=32)), settings.index_bucket),
            max_workers=32,
        ),
        embedder=default_embedder(),
        answerer=answerer_from_env(),
        events=events,
        clock=utc_now,
    )


async def get_service() -> QueryService:
    return _service()


async def get_caller(request: Request) -> Caller:
    """API Gateway invokes these routes only after the Lambda authorizer allowed the token."""
    return caller_from_event(request.scope.get("aws.event"))


CurrentCaller = Annotated[Caller, Depends(get_caller)]
RequestId = Annotated[str, Depends(request_id)]
Service = Annotated[QueryService, Depends(get_service)]
