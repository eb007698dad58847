from echo_retrieval.analysis import STOPWORDS_EN, analyze


def test_english_is_stemmed_and_stopwords_dropped() -> None:
    # Given an English sentence / When analysed / Then stems remain and stopwords are gone
    assert analyze("The dogs are running to the houses") == ["dog", "run", "hous"]


def test_japanese_without_spaces_becomes_character_bigrams() -> None:
    terms = analyze("東京都の人口")
    assert terms == ["東京", "京都", "都の", "の人", "人口"]


def test_a_query_word_inside_unspaced_text_matches_its_bigram() -> None:
    # Given a document sentence in Chinese and a two-character query / Then they share a term
    assert set(analyze("北京")) <= set(analyze("我住在北京市中心"))


def test_german_and_greek_words_keep_their_letters() -> None:
    terms = analyze("Die Häuser in München. Η Αθήνα!")  # noqa: RUF001
    assert "häuser" in terms
    assert "münchen" in terms
    assert "αθήνα" in terms


def test_case_and_compatibility_forms_are_folded() -> None:
    assert analyze("ＶＩＴＡＭＩＮ") == analyze("vitamin")  # noqa: RUF001


def test_text_without_terms_gives_nothing() -> None:
    assert analyze("") == []
    assert analyze("the of and ... ___ !!") == []


def test_the_stop_set_is_the_one_bm25s_ships() -> None:
    # Given bm25s's English stop set (Lucene's), which the layer no longer carries
    from bm25s.stopwords import STOPWORDS_EN as BM25S_STOPWORDS

    # Then Echo's copy is the same set
    assert frozenset(BM25S_STOPWORDS) == STOPWORDS_EN
