"""Lexical recall end to end on a real SQLite store: context, speaker, dates, provenance.

These run without the [embeddings] extra (settings force lexical recall)."""

from __future__ import annotations

from datetime import datetime

import pytest

from memwarden.memory.ingest import Turn, ingest_turns
from memwarden.memory.recall import RecalledMemory, recall
from memwarden.store import Store


def _ask(store: Store, user: str, query: str, n: int = 3) -> list[RecalledMemory]:
    with store.read() as conn:
        return recall(conn, store.search, user, query, episodes=n, beliefs=0)


def _session(day: datetime, session: str, lines: list[tuple[str, str]]) -> list[Turn]:
    return [Turn(text, occurred_at=day, speaker=who, session=session) for who, text in lines]


def test_recall_finds_answer_turn_by_its_question_context(store: Store) -> None:
    day = datetime(2023, 5, 1, 10)
    turns = _session(
        day,
        "1",
        [
            ("Bea", "What genre is your new screenplay?"),
            ("Ana", "A mix of drama and romance!"),
            ("Bea", "Sounds lovely. I went hiking on Sunday."),
        ],
    )
    turns += _session(datetime(2023, 6, 1), "2", [("Ana", "My cat knocked over a plant.")] * 3)
    ids = ingest_turns(store, "u", turns)
    found = _ask(store, "u", "What genre is Ana's screenplay?")
    assert ids[1] in [m.id for m in found]
    answer = next(m for m in found if m.id == ids[1])
    assert answer.dense is None  # lexical only
    assert answer.lexical > 0  # credited through the question turn just before it


def test_recall_prefers_the_named_speaker(store: Store) -> None:
    day = datetime(2023, 5, 1)
    ids = ingest_turns(
        store,
        "u",
        _session(day, "1", [("Ana", "I adopted a puppy."), ("Bea", "I adopted a puppy too!")]),
    )
    assert _ask(store, "u", "Which puppy did Bea adopt?")[0].id == ids[1]
    assert _ask(store, "u", "Which puppy did Ana adopt?")[0].id == ids[0]
    assert "speaker" in _ask(store, "u", "Which puppy did Bea adopt?")[0].signals


def test_recall_uses_a_date_the_query_names(store: Store) -> None:
    turns = [
        Turn("Baked bread today.", occurred_at=datetime(2022, 11, 2), session="1"),
        Turn("Baked a cake today.", occurred_at=datetime(2022, 11, 9), session="2"),
        Turn("Baked cookies today.", occurred_at=datetime(2022, 11, 16), session="3"),
    ]
    ids = ingest_turns(store, "u", turns)
    top = _ask(store, "u", "What did I bake on 9 November, 2022?")[0]
    assert top.id == ids[1] and "date" in top.signals


def test_recall_is_scoped_to_the_user(store: Store) -> None:
    ingest_turns(store, "ana", [Turn("My passport number ends in 4471.")])
    assert _ask(store, "bob", "passport number") == []


def test_recall_stores_meta_and_time_of_imported_turns(store: Store) -> None:
    when = datetime(2023, 5, 8, 13, 56)
    [episode_id] = ingest_turns(
        store,
        "u",
        [
            Turn(
                "Look!",
                occurred_at=when,
                speaker="Ana",
                session="1",
                image_caption="a red kite",
                meta={"dialog_id": "D1:1"},
            )
        ],
    )
    found = _ask(store, "u", "red kite")
    assert found[0].id == episode_id and found[0].when == when
    assert found[0].text == "Look! [image: a red kite]"


def test_recall_returns_nothing_for_stop_words_only(store: Store) -> None:
    ingest_turns(store, "u", [Turn("Something happened.")])
    assert _ask(store, "u", "what is it?") == []


def test_timeline_follows_new_and_deleted_episodes(store: Store) -> None:
    from memwarden.memory.timeline import timeline

    day = datetime(2023, 5, 1, 10)
    first = ingest_turns(store, "u", _session(day, "1", [("Ana", "one"), ("Bea", "two")]))
    with store.read() as conn:
        assert timeline(conn, "u").next(first[0]) == first[1]
    later = ingest_turns(store, "u", _session(day, "1", [("Cid", "three")]))
    with store.read() as conn:
        line = timeline(conn, "u")
    assert line.next(first[1]) == later[0] and line.previous(later[0]) == first[1]
    assert line.speaker_names == {"ana", "bea", "cid"}
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes WHERE id = ?", (first[1],))
    with store.read() as conn:
        line = timeline(conn, "u")
    assert first[1] not in line.positions and line.next(first[0]) == later[0]


def test_timeline_after_delete_and_insert_matches_a_fresh_load(store: Store) -> None:
    from memwarden.memory import timeline as tl

    day = datetime(2023, 5, 1, 10)
    lines = [("Ana", "one"), ("Bea", "two"), ("Cid", "three"), ("Ana", "four")]
    ids = ingest_turns(store, "u", _session(day, "1", lines))
    with store.read() as conn:
        tl.timeline(conn, "u")
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes WHERE id = ?", (ids[1],))
    later = ingest_turns(store, "u", _session(day, "1", [("Dee", "five")]))
    with store.read() as conn:
        kept = tl.timeline(conn, "u")
        tl.clear_cache()
        fresh = tl.timeline(conn, "u")
    assert kept is not fresh and kept == fresh
    assert kept.ids == [ids[0], ids[2], ids[3], later[0]]
    assert kept.previous(ids[2]) == ids[0] and kept.speaker_names == {"ana", "cid", "dee"}


def test_time_mentions_reads_only_the_asked_episodes_once(store: Store) -> None:
    from memwarden.memory import timeline as tl

    ids = ingest_turns(
        store, "u", [Turn("We met LAST week."), Turn("Maybe a blue boat."), Turn("Back in 2019.")]
    )
    [other] = ingest_turns(store, "v", [Turn("Yesterday it rained.")])
    with store.read() as conn:
        line = tl.timeline(conn, "u")
        assert tl.time_mentions(conn, "u", line, [ids[0], ids[1], other]) == {ids[0]}
        assert set(line.timed) == {ids[0], ids[1]}  # another user's episode is never read
        assert tl.time_mentions(conn, "u", line, ids) == {ids[0], ids[2]}


def test_timeline_cache_drops_least_recent_users_over_its_budget(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memwarden.memory import timeline as tl

    monkeypatch.setattr(tl, "CACHE_EPISODES", 2 * (3 + tl._USER_WEIGHT))
    tl.clear_cache()
    for user in ("a", "b", "c"):
        ingest_turns(store, user, [Turn("one"), Turn("two"), Turn("three")])
        with store.read() as conn:
            tl.timeline(conn, user)
    assert [user for _, user in tl._cache] == ["b", "c"]
    tl.clear_cache()


def test_term_search_checks_the_owner_when_index_tags_collide(store: Store) -> None:
    # The index tags each token with its owner; were two users' tags ever equal, the
    # owner check must still keep the other user's episode out.
    [mine] = ingest_turns(store, "ana", [Turn("my red kite")])
    [theirs] = ingest_turns(store, "bob", [Turn("the red kite secret")])
    with store.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO episodes_fts(episodes_fts, rowid, body) "
            "VALUES ('delete', ?, mw_fts('bob', 'the red kite secret'))",
            (theirs,),
        )
        conn.exec_driver_sql(
            "INSERT INTO episodes_fts(rowid, body) VALUES (?, mw_fts('ana', 'the red kite secret'))",
            (theirs,),
        )
    with store.read() as conn:
        hits = store.search.search_episode_terms(conn, "ana", ["red", "secret"], 10)
        # With the caller's own reading of the user's ids (recall's timeline) instead.
        given = store.search.search_episode_terms(conn, "ana", ["red", "secret"], 10, owned={mine})
    assert [[i for i, _ in term] for term in hits] == [[mine], []]
    assert [[i for i, _ in term] for term in given] == [[mine], []]
    assert [m.id for m in _ask(store, "ana", "red kite secret")] == [mine]


def test_timeline_reloads_when_reused_ids_keep_count_and_largest_id(store: Store) -> None:
    # Ids can come back after a delete (SQLite reuses the newest; rows written before
    # per-user blocks, or copied in, follow no block).  Here ana's ids go from {1, 3} to
    # {2, 3}: same count, same largest id.  The cached timeline, also recall's owner
    # check of full-text hits, must not survive that.
    from datetime import datetime

    from sqlalchemy import insert

    from memwarden.memory.timeline import timeline
    from memwarden.store.schema import episodes

    def put(*rows: tuple[int, str]) -> None:
        with store.write() as conn:
            for episode_id, user in rows:
                conn.execute(
                    insert(episodes).values(
                        id=episode_id,
                        user_id=user,
                        ts=datetime(2026, 1, 1, 0, 0, episode_id),
                        user_input=f"note {episode_id}",
                        draft="ok",
                        reply="ok",
                        action="NONE",
                        draft_total_score=0.0,
                        final_score=0.0,
                    )
                )

    put((1, "ana"), (2, "xav"), (3, "ana"))
    with store.read() as conn:
        assert timeline(conn, "ana").ids == [1, 3]
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes")
    put((1, "bob"), (2, "ana"), (3, "ana"))
    with store.read() as conn:
        assert timeline(conn, "ana").ids == [2, 3]
