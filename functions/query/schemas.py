"""Request and response bodies of POST /query."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from query.logic import (
    DEFAULT_TOP_K,
    MAX_QUESTION_CHARS,
    MAX_TOP_K,
    RETRIEVAL_METHOD,
    ChunkPage,
    QueryResult,
)


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)
    ]
    document_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=100
    )
    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)


class CitationOut(BaseModel):
    number: int
    document_id: str
    filename: str
    page: int | None
    section: list[str]
    chunk_id: str
    chunk_hash: str
    text: str


class RetrievalOut(BaseModel):
    candidates: int
    retrieved: int
    withheld: int
    method: str
    timings_ms: dict[str, float] = Field(
        description="where this query's time went inside the function, per phase (embed, index, "
        "search, authorize, answer, publish)"
    )


class QueryOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    answered_by: str
    enough_information: bool
    retrieval: RetrievalOut

    @classmethod
    def from_result(cls, result: QueryResult) -> QueryOut:
        return cls(
            answer=result.answer.text,
            citations=[
                CitationOut(
                    number=p.number,
                    document_id=p.chunk.document_id,
                    filename=p.filename,
                    page=p.chunk.page,
                    section=list(p.chunk.section),
                    chunk_id=p.chunk.chunk_id,
                    chunk_hash=p.chunk.chunk_hash,
                    text=p.chunk.text,
                )
                for p in result.citations
            ],
            answered_by=result.answer.answered_by,
            enough_information=result.answer.enough_information,
            retrieval=RetrievalOut(
                candidates=result.candidates,
                retrieved=result.retrieved,
                withheld=result.withheld,
                method=RETRIEVAL_METHOD,
                timings_ms=result.timings_ms,
            ),
        )


class ChunkOut(BaseModel):
    chunk_id: str
    ordinal: int
    page: int | None
    section: list[str]
    chunk_hash: str
    text: str


class ChunksOut(BaseModel):
    document_id: str
    filename: str
    chunks: list[ChunkOut]
    total: int
    next_cursor: int | None

    @classmethod
    def from_page(cls, page: ChunkPage) -> ChunksOut:
        return cls(
            document_id=page.document_id,
            filename=page.filename,
            chunks=[
                ChunkOut(
                    chunk_id=c.chunk_id,
                    ordinal=c.ordinal,
                    page=c.page,
                    section=list(c.section),
                    chunk_hash=c.chunk_hash,
                    text=c.text,
                )
                for c in page.chunks
            ],
            total=page.total,
            next_cursor=page.next_cursor,
        )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
