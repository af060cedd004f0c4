"""Read a tracking database (MLflow's ``mlflow.db``, a Trackio project) without disturbing its writer.

The database belongs to a training that is writing it. The connection is opened read-only
through SQLite's URI (``file:...?mode=ro``) with ``PRAGMA query_only``, so no statement can
write; every query is one short statement whose rows are fetched at once, so no read transaction
(and no shared lock in rollback-journal mode) outlives a poll; the busy timeout is 50 ms, so a
writer holding the lock makes us skip a poll rather than wait (the next poll reads it). In WAL
mode (Trackio) readers never block the writer at all. The path goes through the file-system
seam (``sources/fs``) before SQLite opens it: a FIFO or device named ``*.db`` is refused, and so
is a symlink out of the run's folder. SQLite then does its own page reads (it must, for its
locking protocol); the seam only vets the path.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from collections.abc import Sequence
from typing import Any

from rltui.sources.fs import LOCAL, FileSystem, describe, is_file, read_head

BUSY_TIMEOUT_S = 0.05


class DbUnavailable(Exception):
    """The database cannot be read now; ``transient`` when the next poll may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def uri(path: str, *, immutable: bool = False) -> str:
    return (
        "file:"
        + urllib.parse.quote(os.path.abspath(path))
        + "?mode=ro"
        + ("&immutable=1" if immutable else "")
    )


def _quiet_wal(fs: FileSystem, path: str) -> bool:
    """A WAL-mode database with no ``-wal`` file: no writer has it open.

    SQLite decides WAL from header byte 19 (the read version) alone; byte 18 (the write version)
    only makes the file read-only when above 2. Testing both let a file whose byte 18 was damaged
    be opened in WAL mode, and SQLite then created ``-wal``/``-shm`` files in the run's folder.
    """
    header = read_head(fs, path, 20)
    if header is None or len(header) != 20 or header[19] != 2:
        return False
    try:
        fs.stat(path + "-wal")
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return False


class ReadOnlyDb:
    """A lazily opened read-only connection that notices the file being replaced."""

    def __init__(self, path: str, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
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
            st = self._fs.stat(self.path)
        except FileNotFoundError as exc:
            self.close()
            raise DbUnavailable("database vanished (or not created yet)", transient=True) from exc
        except OSError as exc:
            raise DbUnavailable(f"cannot stat: {describe(exc)}", transient=True) from exc
        except ValueError as exc:
            raise DbUnavailable("not a path that can be opened") from exc
        identity = st.identity
        if self._identity is not None and identity != self._identity:
            self.close()
            self.replaced = True
        self._identity = identity
        if self._conn is not None:
            return self._conn
        if not is_file(self._fs, self.path):
            raise DbUnavailable("not a regular file; not opened")
        self._immutable = _quiet_wal(self._fs, self.path)
        try:
            conn = sqlite3.connect(
                uri(self.path, immutable=self._immutable),
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                check_same_thread=False,
            )
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise DbUnavailable(f"cannot open read-only: {exc}", transient=True) from exc
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


def tables(path: str, fs: FileSystem | None = None) -> set[str]:
    """The table names of a SQLite file (empty when it is not one); for discovery."""
    db = ReadOnlyDb(path, fs)
    try:
        return {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except DbUnavailable:
        return set()
    finally:
        db.close()
