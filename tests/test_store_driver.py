"""Statements on the driver's cursor (memwarden/store/driver.py), on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, text

from memwarden.errors import IntegrityError, StoreError
from memwarden.store import Store, driver, translate_errors

pytestmark = pytest.mark.engines

_MARK = text("INSERT INTO episode_id_marks (user_id, last_id) VALUES (:u, :e)")
_MARKS = text(
    "SELECT user_id, last_id FROM episode_id_marks WHERE user_id = :u OR last_id = :e "
    "OR user_id = :u ORDER BY user_id"
)


def test_driver_statements_run_in_the_transaction_with_named_parameters(store: Store) -> None:
    with store.write() as conn:
        assert driver.execute(conn, _MARK, {"u": "ana", "e": 7, "unused": 1}) == 1
        driver.execute(conn, _MARK, {"u": "bo", "e": 9})
        # A name used twice, in any order of the mapping.
        assert driver.rows(conn, _MARKS, {"e": 9, "u": "ana"}) == [("ana", 7), ("bo", 9)]
        assert driver.first(conn, _MARKS, {"u": "nobody", "e": -1}) is None
    with pytest.raises(StoreError), store.write() as conn:
        driver.execute(conn, _MARK, {"u": "cy", "e": 1})
        raise StoreError("rolled back")  # the driver's statement goes with the transaction
    with store.read() as conn:
        assert driver.rows(conn, _MARKS, {"u": "cy", "e": 1}) == []


def test_driver_error_translates_as_sqlalchemys(store: Store) -> None:
    with store.write() as conn:
        driver.execute(conn, _MARK, {"u": "ana", "e": 7})
    with pytest.raises(IntegrityError), translate_errors(), store.write() as conn:
        driver.execute(conn, _MARK, {"u": "ana", "e": 8})  # user_id is the key
    with store.read() as conn:
        assert driver.rows(conn, _MARKS, {"u": "ana", "e": 0}) == [("ana", 7)]


def test_driver_refuses_an_expanding_parameter(store: Store) -> None:
    statement = text("SELECT 1 FROM episode_id_marks WHERE last_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    with pytest.raises(ValueError, match="expanding"), store.read() as conn:
        driver.rows(conn, statement, {"ids": [1, 2]})


_ANY_MARK = driver.AnyOf(
    "SELECT user_id FROM episode_id_marks WHERE last_id {ids} AND user_id <> :not_u "
    "AND NOT (last_id {skip}) ORDER BY user_id"
)


def test_driver_any_of_binds_each_list_as_one_parameter(store: Store) -> None:
    with store.write() as conn:
        for user, last in (("ana", 3), ("bo", 5), ("cy", 7)):
            driver.execute(conn, _MARK, {"u": user, "e": last})
    with store.read() as conn:

        def users(ids: object, not_u: str, skip: object = ()) -> list[tuple[str, ...]]:
            return driver.rows(conn, *_ANY_MARK.bind(conn, ids=ids, not_u=not_u, skip=skip))

        assert users({7, 3, 99}, "") == [("ana",), ("cy",)]
        assert users([5], "bo") == []
        assert users([], "") == []
        assert users([3, 5, 7], "", skip=[3, 5]) == [("cy",)]  # two lists in one statement


def test_driver_error_while_fetching_translates(store: Store) -> None:
    # SQLite reads rows as they are fetched: the second row fails after the statement
    # ran.  (PostgreSQL fails in the statement itself.)
    bad = (
        "SELECT json(v) FROM (SELECT '1' AS v UNION ALL SELECT '{bad')"
        if store.engine.dialect.name == "sqlite"
        else "SELECT CAST(v AS integer) FROM (VALUES ('1'), ('bad')) AS t (v)"
    )
    with pytest.raises(StoreError), translate_errors(), store.read() as conn:
        driver.rows(conn, text(bad), {})


def test_driver_statement_outside_a_transaction_begins_one(store: Store) -> None:
    with store.engine.connect() as conn:
        driver.execute(conn, _MARK, {"u": "ana", "e": 7})
        assert conn.in_transaction()
        conn.rollback()
    with store.read() as conn:
        assert driver.rows(conn, _MARKS, {"u": "ana", "e": 7}) == []


@pytest.mark.engines("postgres")
def test_driver_lost_connection_is_invalidated(store: Store) -> None:
    with store.engine.connect() as conn:
        with pytest.raises(StoreError), translate_errors():
            driver.first(conn, text("SELECT pg_terminate_backend(pg_backend_pid())"), {})
        assert conn.invalidated
    with store.read() as conn:  # the pool hands out a working connection
        assert driver.first(conn, text("SELECT 1"), {}) == (1,)
