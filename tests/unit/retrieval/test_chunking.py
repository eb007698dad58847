import hashlib
import itertools

import pytest
from echo_documents.parsed import ParsedDocument, TextBlock
from echo_retrieval.chunking import ChunkingError, chunk_document, default_tokenizer, search_text


def _doc(*blocks: TextBlock) -> ParsedDocument:
    return ParsedDocument("application/pdf", 3, tuple(blocks))


def _sentences(n: int, topic: str) -> str:
    return " ".join(f"Sentence {i} explains how {topic} works in practice." for i in range(n))


def test_short_document_is_one_chunk_with_id_hash_and_position() -> None:
    # Given a one-paragraph page / When chunked / Then one chunk keeps document, page and hash
    chunks = chunk_document(
        "doc1", _doc(TextBlock("Solar panels convert light.", 2, ("Energy",), "paragraph"))
    )
    assert len(chunks) == 1
    chunk = chunks[0]
    assert (chunk.chunk_id, chunk.document_id, chunk.ordinal) == ("doc1:0", "doc1", 0)
    assert (chunk.page, chunk.section) == (2, ("Energy",))
    assert chunk.chunk_hash == hashlib.sha256(b"Solar panels convert light.").hexdigest()


def test_chunks_never_cross_pages_or_sections() -> None:
    doc = _doc(
        TextBlock("Page one text.", 1, ("A",), "paragraph"),
        TextBlock("More page one text.", 1, ("A",), "paragraph"),
        TextBlock("Page two text.", 2, ("A",), "paragraph"),
        TextBlock("Other section.", 2, ("B",), "paragraph"),
    )
    chunks = chunk_document("d", doc)
    assert [(c.page, c.section, c.text) for c in chunks] == [
        (1, ("A",), "Page one text. More page one text."),
        (2, ("A",), "Page two text."),
        (2, ("B",), "Other section."),
    ]


def test_a_heading_stays_with_the_text_it_introduces() -> None:
    doc = _doc(
        TextBlock("Install", 1, (), "heading"),
        TextBlock("Run the installer.", 1, ("Install",), "paragraph"),
    )
    chunks = chunk_document("d", doc)
    assert [(c.text, c.section) for c in chunks] == [("Install Run the installer.", ("Install",))]


def test_long_sections_split_within_budget_with_overlap() -> None:
    # Given a section far longer than one chunk
    tokenizer = default_tokenizer()
    doc = _doc(TextBlock(_sentences(60, "photosynthesis"), 1, ("Biology",), "paragraph"))
    # When chunked with 64-token chunks and 16 tokens of overlap
    chunks = chunk_document("d", doc, max_tokens=64, overlap_tokens=16)
    # Then every chunk fits, ordinals follow, and consecutive chunks share a sentence
    assert len(chunks) > 5
    assert all(tokenizer.count(c.text) <= 64 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for first, second in itertools.pairwise(chunks):
        last_sentence = first.text.split(". ")[-1]
        assert second.text.startswith(last_sentence.rstrip("."))
    text = " ".join(c.text for c in chunks)
    assert all(f"Sentence {i} " in text for i in range(60))


def test_a_sentence_longer_than_a_chunk_is_cut_at_token_boundaries() -> None:
    long_sentence = "word " * 500
    chunks = chunk_document(
        "d", _doc(TextBlock(long_sentence, 1, (), "paragraph")), max_tokens=100, overlap_tokens=0
    )
    assert len(chunks) == 5
    assert all(default_tokenizer().count(c.text) <= 100 for c in chunks)


def test_japanese_text_is_split_into_sentences() -> None:
    text = "東京は日本の首都です。" * 60
    chunks = chunk_document("d", _doc(TextBlock(text, 1, (), "paragraph")), max_tokens=64, overlap_tokens=8)
    assert len(chunks) > 1
    assert all(c.text.endswith("。") for c in chunks)


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document("d", ParsedDocument("text/plain", None, ())) == []


def test_search_text_prefixes_the_section_path_once() -> None:
    [chunk] = chunk_document("d", _doc(TextBlock("Use pip.", 1, ("Install", "Linux"), "paragraph")))
    assert search_text(chunk) == "Install / Linux\nUse pip."
    [titled] = chunk_document("d", _doc(TextBlock("Install: use pip.", 1, ("Install",), "paragraph")))
    assert search_text(titled) == "Install: use pip."


@pytest.mark.parametrize(
    ("document_id", "max_tokens", "overlap"), [("", 200, 40), ("a:b", 200, 40), ("d", 4, 0), ("d", 100, 60)]
)
def test_bad_ids_and_settings_are_refused(document_id: str, max_tokens: int, overlap: int) -> None:
    with pytest.raises(ChunkingError):
        chunk_document(
            document_id,
            _doc(TextBlock("x", 1, (), "paragraph")),
            max_tokens=max_tokens,
            overlap_tokens=overlap,
        )
