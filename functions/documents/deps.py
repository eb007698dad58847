"""Typed request dependencies: the caller, the request id and the service (overridable in tests)."""

from typing import Annotated, Any

from echo_documents.access import LIVE_STATUSES, records_authz_client
from echo_documents.repository import DynamoDocumentRepository
from echo_shared.authz.caller import Caller, caller_from_authorizer
from echo_shared.events import SnsEventPublisher
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now
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
    repository = DynamoDocumentRepository(settings.documents_table)
    return DocumentService(
        repository=repository,
        uploads=S3UploadForms(settings.documents_bucket),
        authz=records_authz_client(settings, repository, LIVE_STATUSES),
        publisher=SnsEventPublisher(settings.event_topic_arn),
        max_upload_bytes=settings.max_upload_bytes,
        upload_url_seconds=settings.upload_url_seconds,
        clock=utc_now,
    )


def get_service() -> DocumentService:
    return _service()


def _event(request: Request) -> dict[str, Any]:
    return request.scope.get("aws.event") or {}


def get_caller(request: Request) -> Caller:
    return caller_from_authorizer((_event(request).get("requestContext") or {}).get("authorizer"))


def get_request_id(request: Request) -> str:
    context = _event(request).get("requestContext") or {}
    request_id = context.get("requestId")
    if isinstance(request_id, str) and request_id:
        return request_id
    lambda_context = request.scope.get("aws.context")
    return str(getattr(lambda_context, "aws_request_id", "-"))


CurrentCaller = Annotated[Caller, Depends(get_caller)]
RequestId = Annotated[str, Depends(get_request_id)]
Service = Annotated[DocumentService, Depends(get_service)]
