"""Large texts out of line: a prompt, answer, thinking or reference over `INLINE_CHARS` is kept once in the
`texts` table (keyed by its sha256) and the sample's column holds a short reference in its place.

Why: a 50 MB in-house input used to be written whole into every journal line of every model x preset x repeat,
and recovery read it back several times over. Out of line, a journal line stays a few kilobytes whatever the
item, a repeated prompt is stored once, and the full text is still one join away: every reader (`samples_full`,
the evidence, export, re-scoring) resolves the references in SQL, so nothing outside the store sees them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

INLINE_CHARS = 64 * 1024  # characters of a JSON column kept in the sample row itself
TEXT_COLUMNS = ("prompt", "output", "thinking", "reference")
MARK = '{"$text":"'  # a reference is {"$text":"<sha256>","chars":N}: never the start of a JSON list or string


def _digest_sql(column: str) -> str:
    return f"CASE WHEN starts_with(s.{column}::VARCHAR, '{MARK}') THEN substr(s.{column}::VARCHAR, 11, 64) END"


def resolved(source: str = "samples") -> str:
    """A SELECT over `source` (aliased `s`) with every out-of-line text put back: the store's one reader."""
    joins = " ".join(f"LEFT JOIN texts t_{c} ON t_{c}.digest = {_digest_sql(c)}" for c in TEXT_COLUMNS)
    replace = ", ".join(f"coalesce(t_{c}.body::JSON, s.{c}) AS {c}" for c in TEXT_COLUMNS)
    return f"SELECT s.* REPLACE ({replace}) FROM {source} s {joins}"


VIEW = f"CREATE OR REPLACE TEMP VIEW samples_full AS {resolved()};"  # made with the tables (store/schema.py)


def out_of_line(con: duckdb.DuckDBPyConnection, row: dict[str, Any], known: set[str]) -> None:
    """Move `row`'s large texts into `texts` (committed before the caller journals the row, so a reference never
    points at nothing; a kill between the two leaves an unused text, never a lost one)."""
    for column in TEXT_COLUMNS:
        value = row.get(column)
        if not isinstance(value, str) or len(value) <= INLINE_CHARS:
            continue
        body = value.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(body).hexdigest()
        if digest not in known:
            con.execute("INSERT OR IGNORE INTO texts VALUES (?, ?, ?)", [digest, len(value), value])
            known.add(digest)
        row[column] = f'{MARK}{digest}","chars":{len(value)}}}'
