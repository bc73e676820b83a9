"""Text analysis for the SQLite full-text index: tokens, stems, and a per-user tag.

Every indexed token is prefixed with a short tag derived from its owner's user id, so a
token's posting list holds only that user's rows.  A query then touches one user's
postings instead of everyone's (a 100-user database answers like a 1-user one), and BM25's
term statistics (how many rows hold a term) are per user.  Its row count and average row
length are the whole index's, so a raw score reflects the database's size, never another
user's words.  Stemming (Snowball English) happens here, in Python, on both
sides, because a stemmer inside the index would see the tag as part of the word.

The index is fed by triggers calling the SQL function ``mw_fts(user_id, text)``, which
:func:`register` installs on every connection.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import snowballstemmer

__all__ = ["SQL_FUNCTION", "index_text", "query_tokens", "register", "tokens", "user_tag"]

SQL_FUNCTION = "mw_fts"
_TOKEN = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("english")


def tokens(text: str) -> list[str]:
    """Lower-case words without diacritics, split as FTS5's unicode61 tokenizer would."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _TOKEN.findall(plain)


@lru_cache(maxsize=4096)
def user_tag(user_id: str) -> str:
    """Eight letters that scope a user's tokens in the index."""
    digest = hashlib.sha256(user_id.encode("utf-8")).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:8])


def _stems(words: Iterable[str]) -> list[str]:
    return list(_STEMMER.stemWords(list(words)))


def index_text(user_id: str | None, text: str | None) -> str:
    """What the index stores for ``text`` owned by ``user_id``: tagged stems."""
    if not user_id or not text:
        return ""
    tag = user_tag(user_id)
    return " ".join(tag + stem for stem in _stems(tokens(text)))


def query_tokens(user_id: str, terms: Iterable[str]) -> list[str]:
    """Index tokens to look up for ``terms`` (each may be several words), deduplicated."""
    tag = user_tag(user_id)
    out: list[str] = []
    for term in terms:
        out.extend(tag + stem for stem in _stems(tokens(term)))
    return list(dict.fromkeys(out))


def register(dbapi_connection: Any) -> None:
    """Install ``mw_fts`` on a DB-API SQLite connection (deterministic, so triggers may use it)."""
    dbapi_connection.create_function(SQL_FUNCTION, 2, index_text, deterministic=True)
