"""The contract every reader keeps, so the session can follow any file the same way."""

from __future__ import annotations

from typing import Protocol

from rltui.records import ReadResult, SourceKind


class SourceReader(Protocol):
    """An incremental reader of one file (or one tmux pane).

    ``read()`` returns only what appeared since the previous call and never raises on bad input:
    a partial trailing record is left for the next call, corrupt bytes become ``problems``, a
    file that shrank or was replaced is read again from the start with ``restarted=True``, a file
    that vanished or cannot be opened is a problem (and reading resumes if it comes back).
    The cost of a call is proportional to the new bytes, not to the file.
    """

    kind: SourceKind
    path: str

    def read(self) -> ReadResult: ...

    def close(self) -> None: ...
