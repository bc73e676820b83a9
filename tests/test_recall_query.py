"""Query analysis: terms, phrases, names, dates and question kind."""

from __future__ import annotations

from datetime import datetime

from memwarden.memory.query import plan_query, query_terms


def test_query_terms_drop_stop_words_and_possessives() -> None:
    assert query_terms("What is Ana's favourite book, and when did she read it?") == [
        "ana",
        "favourite",
        "book",
        "read",
    ]


def test_plan_keeps_quoted_phrase_whole() -> None:
    plan = plan_query('Did I mention "The Night Circus" to you?')
    assert plan.terms[0] == "night circus"
    assert "circus" in plan.terms


def test_plan_finds_names_but_not_sentence_starts() -> None:
    plan = plan_query("When did Ana meet Bruno Costa in Lisbon?")
    assert plan.names == ["Ana", "Bruno", "Costa", "Lisbon"]
    assert plan.asks_when


def test_plan_reads_day_month_year() -> None:
    plan = plan_query("What did I cook on 9 November, 2022?")
    assert len(plan.dates) == 1
    assert plan.dates[0].contains(datetime(2022, 11, 9, 18, 30))
    assert not plan.dates[0].contains(datetime(2022, 11, 10))


def test_plan_reads_month_year_and_bare_month() -> None:
    span = plan_query("Where did we go in May 2023?").dates[0]
    assert span.contains(datetime(2023, 5, 31)) and not span.contains(datetime(2023, 6, 1))
    month = plan_query("Which park did I visit in June?").dates[0]
    assert month.contains(datetime(2021, 6, 3)) and not month.contains(datetime(2021, 7, 3))


def test_plan_ignores_may_the_verb() -> None:
    assert plan_query("May I ask what you remember?").dates == []
    assert not plan_query("Where do I live?").asks_when
