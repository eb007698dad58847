"""Typed request dependencies: the caller, the request id and the service (overridable in tests)."""

from typing import Annotated

from echo_documents.access import LIVE_STATUSES, records_authz_client
from echo_documents.repository import DynamoDocumentRepository
from echo_shared.authz.caller import Caller, caller_from_event
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
from echo_shared.web import request_id
from fastapi import Depends, Request

from documents.logic import DocumentService
from documents.settings import DocumentsApiSettings
from documents.uploads import S3UploadForms


@cached_resource
def get_settings() -> DocumentsApiSettings:
    return DocumentsApiSettings.from_env()


@cached_resource
def _service() -> DocumentService:
    settings = get_settings()
    # Record changes commit with their document.* events in the documents outbox (ADR 0014); the
    # authz client publishes its decisions itself, on the documents topic (EVENT_TOPIC_ARN).
    repository = DynamoDocumentRepository(
        settings.documents_table, outbox=DynamoOutbox(settings.outbox_table)
    )
    return DocumentService(
        repository=repository,
        uploads=S3UploadForms(settings.documents_bucket),
        authz=records_authz_client(settings, repository, LIVE_STATUSES),
        max_upload_bytes=settings.max_upload_bytes,
        upload_url_seconds=settings.upload_url_seconds,
        clock=utc_now,
    )


async def get_service() -> DocumentService:
    return _service()


async def get_caller(request: Request) -> Caller:
    """API Gateway invokes these routes only after the Lambda authorizer allowed the token."""
    return caller_from_event(request.scope.get("aws.event"))


CurrentCaller = Annotated[Caller, Depends(get_caller)]
RequestId = Annotated[str, Depends(request_id)]
Service = Annotated[DocumentService, Depends(get_service)]
