"""Read a tracking database (MLflow's ``mlflow.db``, a Trackio project) without disturbing its writer.

The database belongs to a training that is writing it. The connection is opened read-only
through SQLite's URI (``file:...?mode=ro``) with ``PRAGMA query_only``, so no statement can
write; every query is one short statement whose rows are fetched at once, so no read transaction
(and no shared lock in rollback-journal mode) outlives a poll; the busy timeout is 50 ms, so a
writer holding the lock makes us skip a poll rather than wait (the next poll reads it). In WAL
mode (Trackio) readers never block the writer at all. The path must be a regular file: a FIFO
or device named ``*.db`` is refused before SQLite opens it.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Sequence
from typing import Any

from rltui.sources._fileio import is_regular_file

BUSY_TIMEOUT_S = 0.05


class DbUnavailable(Exception):
    """The database cannot be read now; ``transient`` when the next poll may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def uri(path: str, *, immutable: bool = False) -> str:
    return "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro" + ("&immutable=1" if immutable else "")


def _quiet_wal(path: str) -> bool:
    """A WAL-mode database (header bytes 18-19 are 2) with no ``-wal`` file: no writer has it open."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18] == 2 and header[19] == 2 and not os.path.exists(path + "-wal")


class ReadOnlyDb:
    """A lazily opened read-only connection that notices the file being replaced."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._immutable = False
        self._identity: tuple[int, int] | None = None
        #: Set when the file behind the path is another one than before (the reader restarts).
        self.replaced = False

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            cur = conn.execute(sql, params)
            try:
                return cur.fetchall()
            finally:
                cur.close()
                if self._immutable:
                    self.close()
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise DbUnavailable(text, transient=True) from exc
            if "no such table" in text or "no such column" in text:
                raise DbUnavailable(f"not the expected tables: {text}") from exc
            self.close()
            raise DbUnavailable(text, transient=True) from exc
        except sqlite3.DatabaseError as exc:  # "file is not a database", malformed image
            self.close()
            raise DbUnavailable(f"not a readable SQLite database: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            st = os.stat(self.path)
        except FileNotFoundError as exc:
            self.close()
            raise DbUnavailable("database vanished (or not created yet)", transient=True) from exc
        except OSError as exc:
            raise DbUnavailable(f"cannot stat: {exc.strerror or exc}", transient=True) from exc
        identity = (st.st_dev, st.st_ino)
        if self._identity is not None and identity != self._identity:
            self.close()
            self.replaced = True
        self._identity = identity
        if self._conn is not None:
            return self._conn
        if not is_regular_file(self.path):
            raise DbUnavailable("not a regular file; not opened")
        self._immutable = _quiet_wal(self.path)
        try:
            conn = sqlite3.connect(uri(self.path, immutable=self._immutable), uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise DbUnavailable(f"cannot open read-only: {exc}", transient=True) from exc
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None


def tables(path: str) -> set[str]:
    """The table names of a SQLite file (empty when it is not one); for discovery."""
    db = ReadOnlyDb(path)
    try:
        return {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except DbUnavailable:
        return set()
    finally:
        db.close()
