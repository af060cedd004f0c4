"""What a PATH on the command line names, and the file system that reads it (design.md §6).

Why one place: a PATH is a local file or folder, an ssh location (``ssh://[user@]host[:port]/path``
or scp-like ``host:path``) or an object-store URL (``s3://``, ``gs://``, ``hf://``, ``az://`` ...
through fsspec), and they mix freely on one command line. Everything downstream (discovery,
sessions, readers) keeps paths as strings and asks :func:`fs_for` which file system reads one.

Inside rltui a remote path is always written as a URL: ``ssh://[user@]host[:port]/abs/path``
(:func:`canonical` turns ``host:rel/path`` and ``~`` into that, asking the host for the absolute
path), so joining, ``dirname`` and ``basename`` work on it as on a local path, it is shown to
the user as is, and two spellings of one location are one run.

``host:path`` is read as scp does: a colon before any slash, and no local file by that name.
A host beginning with ``-`` is refused (it would be an option to ssh).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rltui.sources.fs import LOCAL, FileSystem

if TYPE_CHECKING:
    from rltui.sources.ssh import Target
    from rltui.sources.wake import Waker

_SSH_URL = re.compile(
    r"^ssh://(?:(?P<user>[^@/\s]+)@)?(?P<host>[^/:@\s\[\]]+)(?::(?P<port>\d{1,5}))?(?P<path>/.*)?$"
)
_SCP = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[A-Za-z0-9_][A-Za-z0-9._-]*):(?P<path>.*)$")
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://", re.IGNORECASE)


class BadLocation(ValueError):
    """A PATH that looks remote but cannot be read as one (the message is for the user)."""


@dataclass(frozen=True, slots=True)
class SshLocation:
    user: str | None
    host: str
    port: int | None
    #: The path on the host as given ("" = the home folder; may be relative or start with ~).
    path: str


def parse_ssh(text: str) -> SshLocation | None:
    """The ssh location ``text`` names, or None when it is not one (local, or another URL)."""
    m = _SSH_URL.match(text)
    if m:
        port = int(m["port"]) if m["port"] else None
        if port is not None and not 0 < port < 65536:
            raise BadLocation(f"bad port in {text!r}")
        path = m["path"] or ""
        if path.startswith("/~"):
            path = path[1:]  # ssh://host/~/runs: relative to the home folder
        return SshLocation(m["user"], m["host"], port, path)
    if text.startswith("ssh://"):
        raise BadLocation(f"cannot read {text!r} as ssh://[user@]host[:port]/path")
    if _URL.match(text) or os.path.exists(text):
        return None
    m = _SCP.match(text)
    if not m or "/" in text.split(":", 1)[0]:
        return None
    return SshLocation(m["user"], m["host"], None, m["path"])


def is_remote(path: str) -> bool:
    """Whether ``path`` (as rltui writes it inside: a URL) is on another host or a store."""
    return bool(_URL.match(path))


def scheme(path: str) -> str:
    m = _URL.match(path)
    return m["scheme"].lower() if m else ""


def _ssh_target(loc: SshLocation) -> Target:
    from rltui.sources.ssh import Target

    if loc.host.startswith("-"):
        raise BadLocation(f"bad host name {loc.host!r}")
    return Target(loc.host, loc.user, loc.port)


def canonical(text: str) -> str:
    """``text`` as rltui writes it inside (see the module docstring).

    For ssh this may connect (to turn a relative path into an absolute one): it raises the
    ``OSError`` that says why the host cannot be read (``RemoteUnavailable``: refused, unknown
    host key...).
    """
    loc = parse_ssh(text)
    if loc is None:
        return text
    from rltui.sources.ssh import host_for

    target = _ssh_target(loc)
    path = loc.path
    host = host_for(target)
    host.connect()  # now: a host that refuses says so up front, with the fix
    if not path.startswith("/"):
        home = host.home or "/"
        if path in ("", "~"):
            path = home
        elif path.startswith("~/"):
            path = posixpath.join(home, path[2:])
        else:
            path = posixpath.join(home, path)
    return target.prefix + posixpath.normpath(path)


def fs_for(path: str) -> FileSystem:
    """The file system that reads ``path`` (a canonical path: local, ``ssh://`` or a store URL)."""
    if path.startswith("ssh://"):
        from rltui.sources.ssh import SshFS, host_for

        loc = parse_ssh(path)
        assert loc is not None
        return SshFS(host_for(_ssh_target(loc)))
    if is_remote(path):
        from rltui.sources.objstore import store_fs

        return store_fs(path)
    return LOCAL


def remote_pane_waker(target: str) -> Waker:
    """What wakes the reader of ``ssh://[user@]host[:port]/SESSION:WIN.PANE``: a tmux
    control-mode client on that host, run through the user's ssh (see ``rltui.sources.wake``);
    it polls at the ssh poll interval while control mode cannot be had."""
    import shlex

    from rltui.sources.ssh import POLL_INTERVAL_S, SshFS, host_for, remote_argv
    from rltui.sources.wake import TmuxPaneWaker

    loc = parse_ssh(target)
    if loc is None:
        raise BadLocation(f"not an ssh:// tmux pane: {target!r}")
    where = _ssh_target(loc)
    fs = SshFS(host_for(where))
    return TmuxPaneWaker(
        loc.path.lstrip("/"),
        wrap=lambda argv: remote_argv(where, shlex.join(argv)),
        runner=fs.tmux,
        fallback_interval=POLL_INTERVAL_S,
    )


def real(path: str) -> str:
    """``os.path.realpath`` for local paths; a remote path is already canonical."""
    return path if is_remote(path) else os.path.realpath(path)


def absolute(path: str) -> str:
    """``os.path.abspath`` for local paths; a remote path is already absolute."""
    return path if is_remote(path) else os.path.abspath(path)
