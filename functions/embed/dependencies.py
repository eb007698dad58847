"""The embed function's adapters, built once per warm process (the model loads once)."""

import functools

import boto3
from echo_documents.objects import S3ObjectStore
from echo_documents.repository import DynamoDocumentRepository
from echo_retrieval.chunking import chunk_document
from echo_retrieval.embedding import default_embedder
from echo_retrieval.index import build_segment
from echo_retrieval.s3_store import S3IndexStore
from echo_retrieval.snapshot import compact
from echo_shared.dead_letters import SqsDeadLetterSink
from echo_shared.events.outbox import DynamoOutbox
from echo_shared.lazy import cached_resource
from echo_shared.timeutil import utc_now

from embed.logic import EmbedService
from embed.settings import EmbedSettings


@cached_resource
def get_settings() -> EmbedSettings:
    return EmbedSettings.from_env()


@cached_resource
def get_embed_service() -> EmbedService:
    settings = get_settings()
    embedder = default_embedder()
    return EmbedService(
        # Status changes commit with their document.* events in the documents outbox (ADR 0014).
        repository=DynamoDocumentRepository(
            settings.documents_table, outbox=DynamoOutbox(settings.outbox_table)
        ),
        objects=S3ObjectStore(settings.documents_bucket),
        index=S3IndexStore(boto3.client("s3"), settings.index_bucket),
        embedder=embedder,
        chunk=chunk_document,
        # Segments name their model, so an index never mixes vectors of two models.
        build_segment=functools.partial(build_segment, model_id=getattr(embedder, "model_id", "")),
        compact=compact,
        max_parsed_bytes=settings.max_parsed_bytes,
        clock=utc_now,
    )


@cached_resource
def get_dead_letters() -> SqsDeadLetterSink:
    return SqsDeadLetterSink(get_settings().dead_letter_queue_url)
