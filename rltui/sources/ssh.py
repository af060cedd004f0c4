"""Runs on other hosts: the file-system seam (``rltui.sources.fs``) over the user's own ``ssh``.

Why this shape (issue 9): the people rltui is for train on GPU boxes they reach over SSH, with
keys, agents, ``~/.ssh/config`` aliases and jump hosts already set up; rltui reuses all of it by
running their ``ssh`` binary (or ``RLTUI_SSH_COMMAND``, split like git's ``GIT_SSH_COMMAND``).

* One connection per host (:class:`SshHost`, shared by every file and run on it, keyed by user,
  host and port): one ``ssh`` process running a small stdlib-only python3 helper sent over its
  stdin (``rltui/sources/_remote_helper.py``); nothing is installed remotely.
* Only what readers ask for crosses the wire: readers keep their offsets here, locally, and ask
  for bytes from them; a poll asks for the info of all of a run's files in one round trip
  (:meth:`SshFS.prefetch`). The 64-byte head check readers do on each read (a file rewritten in
  place) is answered from a local copy when the remote CRC of those bytes is unchanged.
* Nothing is polled from here: :class:`SshWaker` keeps one ``wait`` request outstanding, which
  the helper answers when a file or folder of the run differs from what was last read. Requests
  are multiplexed by id (a reader thread hands each reply to its caller), so a blocked wait does
  not hold up reads.
* ``BatchMode=yes``: a host that wants a password or a passphrase, or has an unknown host key,
  fails at once with a message saying how to fix it, instead of a prompt hanging the TUI.
* A lost connection raises :class:`RemoteUnavailable` (an ``OSError``: readers report it as a
  transient problem and keep their offsets) until a retry, with backoff (1 s doubling to 30 s),
  connects again; readers then go on from their saved offsets: nothing lost, nothing doubled.
  :meth:`SshHost.status` says which host and since when.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import posixpath
import select
import shlex
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from rltui.sources._process import close_pipe, end_process
from rltui.sources.fs import MAX_METADATA_BYTES, Entry, FileInfo, OutsideRoot, TooLarge
from rltui.text import decode, sanitize

#: Seconds a reply may take before the connection is taken as hung (ssh's own keep-alive ends a
#: dead link after ~30 s; this bounds a stuck remote disk).
CALL_TIMEOUT_S = 30.0
#: Seconds to connect (ssh's ConnectTimeout plus the helper's start).
CONNECT_TIMEOUT_S = 20.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
HEAD = 64
_HELPER = Path(__file__).with_name("_remote_helper.py")
#: How often a remote tmux pane is polled (one round trip, two tmux commands on the host).
POLL_INTERVAL_S = 0.25


class RemoteUnavailable(OSError):
    """The host cannot be reached right now (lost, refused, retrying): a state, not an error
    in the file."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.ECONNRESET, message)


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: as the user wrote it (an alias is resolved by their ssh config)."""

    host: str
    user: str | None = None
    port: int | None = None

    @property
    def prefix(self) -> str:
        """``ssh://[user@]host[:port]``: paths on this host are this plus an absolute path."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}"

    @property
    def label(self) -> str:
        return self.prefix[len("ssh://") :]


def ssh_command() -> list[str]:
    """The user's ssh: ``RLTUI_SSH_COMMAND`` (split like a shell would) or ``ssh``."""
    custom = os.environ.get("RLTUI_SSH_COMMAND", "").strip()
    return shlex.split(custom) if custom else ["ssh"]


def remote_argv(target: Target, command: str) -> list[str]:
    """The user's ssh running ``command`` (one string, for the remote shell) on ``target``:
    BatchMode (never a prompt), keep-alives, no tty, no X11 or agent forwarding."""
    opts = ["-o", "BatchMode=yes", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
    opts += ["-o", "ConnectTimeout=10", "-T", "-x", "-a"]
    if target.port:
        opts += ["-p", str(target.port)]
    if target.user:
        opts += ["-l", target.user]
    return [*ssh_command(), *opts, "--", target.host, command]


def _explain(target: Target, rc: int | None, stderr: str) -> str:
    """One line: why ssh failed, and what to do about it."""
    host = target.label
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("Warning:")]
    last = lines[-1].rstrip(".") if lines else (f"ssh exited with {rc}" if rc is not None else "no reply")
    low = stderr.lower()
    if "host key verification failed" in low or "no matching host key" in low:
        return (
            f"ssh to {host}: host key not verified ({last}). rltui never accepts keys itself: "
            f"run `ssh {host}` once in a terminal to check and accept the host key"
        )
    if "permission denied" in low or "too many authentication failures" in low:
        return (
            f"ssh to {host} refused: {last}. rltui connects with BatchMode (no password or "
            f"passphrase prompt): make `ssh -o BatchMode=yes {host} true` work, e.g. load your key "
            f"with ssh-add, or install it with ssh-copy-id {host}"
        )
    if rc == 127 or "python3: not found" in low or "python3: command not found" in low:
        return f"{host} has no python3 on its PATH: rltui's remote reader needs a stock python3 there"
    if "could not resolve" in low or "name or service not known" in low:
        return f"ssh to {host}: unknown host ({last}); check the name or your ~/.ssh/config"
    return f"ssh to {host} failed: {last}"


def _utc(t: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(t))


class _Slot:
    """Where the reader thread leaves the reply to one request."""

    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: tuple[dict[str, Any], bytes] | None = None


class SshHost:
    """One long-lived ssh connection to a host, shared by everything read there."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._ids = 0
        self.home: str | None = None
        #: When the connection was lost (wall time), and why; None while connected.
        self.lost_at: float | None = None
        self.lost_why = ""
        self._failures = 0
        self._next_try = 0.0
        #: Connections made so far (a reconnect adds one): for tests and the status line.
        self.connects = 0
        self._pending: dict[int, _Slot] = {}
        #: What was last seen of each file and folder read on this host (the baseline a
        #: :class:`SshWaker` waits against): [size, mtime_ns, inode], or None when missing.
        self.seen_files: dict[str, list[int] | None] = {}
        self.seen_dirs: dict[str, list[int] | None] = {}
        #: Per path: (identity, CRC, bytes) of its first HEAD bytes as last read.
        self.heads: dict[str, tuple[tuple[int, int], int, bytes]] = {}

    # -- the process ----------------------------------------------------------------------
    def argv(self) -> list[str]:
        code = _HELPER.read_bytes()
        return remote_argv(
            self.target, f'exec python3 -c "import sys;exec(sys.stdin.buffer.read({len(code)}))"'
        )

    def _connect(self) -> None:
        code = _HELPER.read_bytes()
        try:
            proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl+C in the user's terminal is rltui's, not ssh's
                bufsize=0,
            )
        except OSError as exc:
            raise RemoteUnavailable(f"cannot run ssh ({ssh_command()[0]}): {exc.strerror or exc}") from None
        self._stderr.clear()
        assert proc.stderr is not None
        threading.Thread(target=self._drain, args=(proc.stderr,), daemon=True).start()
        try:
            _write_all(proc, code)
            hello = self._read_frame(proc, time.monotonic() + CONNECT_TIMEOUT_S)
        except (OSError, ValueError):
            hello = None
        if hello is None or "hello" not in hello[0]:
            end_process(proc)
            close_pipe(proc.stdout)  # no reply thread was started: nothing else reads it
            time.sleep(0.05)  # let the stderr thread catch ssh's last words
            raise RemoteUnavailable(_explain(self.target, proc.returncode, "\n".join(self._stderr)))
        self.home = str(hello[0].get("home") or "") or None
        self._proc = proc
        self.connects += 1

    def _drain(self, stream: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in stream:
                self._stderr.append(sanitize(decode(raw), single_line=True, max_len=300))
        close_pipe(stream)  # ssh's stderr at its end: this thread was its only reader

    @staticmethod
    def _read_exact(proc: subprocess.Popen[bytes], n: int, deadline: float | None) -> bytes | None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        parts: list[bytes] = []
        while n > 0:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            part = os.read(fd, min(n, 1 << 20))
            if not part:
                return None
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def _read_frame(
        self, proc: subprocess.Popen[bytes], deadline: float | None
    ) -> tuple[dict[str, Any], bytes] | None:
        head = self._read_exact(proc, 8, deadline)
        if head is None:
            return None
        n, m = struct.unpack(">II", head)
        body = self._read_exact(proc, n, deadline)
        data = self._read_exact(proc, m, deadline) if m else b""
        if body is None or data is None:
            return None
        return json.loads(body.decode()), data

    def _replies(self, proc: subprocess.Popen[bytes]) -> None:
        """The connection's reader thread: hands each reply to the call waiting for its id."""
        while True:
            try:
                frame = self._read_frame(proc, None)
            except (OSError, ValueError):
                frame = None
            if frame is None:
                break
            rid = frame[0].get("id")
            slot = self._pending.pop(rid, None) if isinstance(rid, int) else None
            if slot is not None:
                slot.reply = frame
                slot.event.set()
        with self._lock:
            if self._proc is proc:
                last = "\n".join(self._stderr).strip().splitlines()
                self._lose("the connection closed" + (f" ({last[-1][:120]})" if last else ""))
        close_pipe(proc.stdout)  # this thread was its only reader

    def _lose(self, why: str) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            end_process(proc)
        pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot.event.set()  # no reply: the callers raise RemoteUnavailable
        if self.lost_at is None:
            self.lost_at = time.time()
            self.lost_why = why
        delay = BACKOFF_S[min(self._failures, len(BACKOFF_S) - 1)]
        self._failures += 1
        self._next_try = time.monotonic() + delay

    def status(self) -> str | None:
        """While not connected: which host, since when, why (one stable line); else None."""
        if self.lost_at is None:
            return None
        since = _utc(self.lost_at)
        return f"ssh connection to {self.target.label} lost since {since}: {self.lost_why}; retrying"

    def _unavailable(self) -> RemoteUnavailable:
        return RemoteUnavailable(self.status() or f"ssh connection to {self.target.label} not open")

    def connect(self) -> None:
        """Connect now if not connected (raises :class:`RemoteUnavailable` with the reason)."""
        with self._lock:
            if self._proc is not None:
                return
            try:
                self._connect()
            except RemoteUnavailable as exc:
                self._lose(exc.strerror or "")
                raise RemoteUnavailable(exc.strerror or "") from None
            self.lost_at = None
            self.lost_why = ""
            self._failures = 0
            threading.Thread(target=self._replies, args=(self._proc,), daemon=True).start()

    def call(self, header: dict[str, Any], timeout: float = CALL_TIMEOUT_S) -> tuple[dict[str, Any], bytes]:
        """One request, its reply (requests from several threads share the connection).

        Raises :class:`RemoteUnavailable` (lost, or not retried yet), or the ``OSError`` the
        remote side met (file not found, refused, ...).
        """
        slot = _Slot()
        with self._lock:
            if self._proc is None:
                if time.monotonic() < self._next_try:
                    raise self._unavailable()
                self.connect()
            proc = self._proc
            assert proc is not None
            self._ids += 1
            rid = self._ids
            self._pending[rid] = slot
            body = json.dumps({**header, "id": rid}).encode()
            try:
                _write_all(proc, struct.pack(">II", len(body), 0) + body)
            except (OSError, ValueError):
                self._lose("the connection closed")
                raise self._unavailable() from None
        if not slot.event.wait(timeout):
            with self._lock:
                self._pending.pop(rid, None)
                if self._proc is proc:
                    self._lose(f"no reply in {timeout:.0f} s")
            raise self._unavailable()
        if slot.reply is None:
            raise self._unavailable()
        head, data = slot.reply
        if not head.get("ok"):
            raise _remote_error(head, str(header.get("path", "")))
        return head, data

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None:
            end_process(proc)

    def kill_connection(self) -> None:
        """End the ssh process as a network failure would (tests: "kill the connection")."""
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.kill()


def _write_all(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    view = memoryview(data)
    while view:
        n = proc.stdin.write(view)
        if not n:
            raise BrokenPipeError
        view = view[n:]


def _remote_error(head: dict[str, Any], path: str) -> OSError:
    code, message = head.get("errno"), str(head.get("error") or "remote error")
    if code == "outside":
        return OutsideRoot(path, str(head.get("target", "")))
    if code == "notregular":
        return OSError(errno.EINVAL, message, path)
    if code == "replaced":
        return OSError(errno.ESTALE, message, path)
    if isinstance(code, int):
        return OSError(code, message, path)  # FileNotFoundError, PermissionError, ... by errno
    return OSError(errno.EIO, message, path)


_HOSTS: dict[Target, SshHost] = {}
_HOSTS_LOCK = threading.Lock()


def host_for(target: Target) -> SshHost:
    """The one connection to ``target`` (created on first use)."""
    with _HOSTS_LOCK:
        host = _HOSTS.get(target)
        if host is None:
            host = _HOSTS[target] = SshHost(target)
        return host


def close_all() -> None:
    with _HOSTS_LOCK:
        hosts = list(_HOSTS.values())
        _HOSTS.clear()
    for h in hosts:
        h.close()


def _signature(d: dict[str, Any]) -> list[int]:
    """What the helper's ``wait`` compares: size, mtime, inode."""
    return [int(d["size"]), int(d["mtime_ns"]), int(d["ino"])]


def _info(d: dict[str, Any]) -> FileInfo:
    kind = d.get("kind")
    return FileInfo(
        int(d["size"]),
        int(d["mtime_ns"]),
        (int(d["dev"]), int(d["ino"])),
        kind if kind in ("file", "dir", "other") else "other",
    )


class SshFile:
    """A remote regular file as opened by :meth:`SshFS.open`: bytes at offsets, over the wire."""

    def __init__(self, fs: SshFS, path: str, info: FileInfo, head_crc: int | None) -> None:
        self._fs = fs
        self.path = path
        self.info = info
        self._head_crc = head_crc

    def read_at(self, offset: int, size: int) -> bytes:
        cached = self._fs.host.heads.get(self.path)
        if (
            offset == 0
            and size <= HEAD
            and cached is not None
            and cached[0] == self.info.identity
            and cached[1] == self._head_crc
            and len(cached[2]) >= min(size, self.info.size)
        ):
            return cached[2][:size]  # the head check, answered locally: the bytes did not change
        _, data = self._fs.host.call(
            {
                "op": "read",
                "path": self._fs.remote(self.path),
                "root": self._fs.remote_root,
                "offset": offset,
                "size": size,
                "identity": list(self.info.identity),
            }
        )
        if offset == 0 and len(data) >= min(HEAD, self.info.size):
            head_bytes = data[:HEAD]
            self._fs.host.heads[self.path] = (self.info.identity, zlib.crc32(head_bytes), head_bytes)
        return data

    def close(self) -> None:
        """Nothing is held open remotely between calls."""

    def __enter__(self) -> SshFile:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SshFS:
    """The :class:`~rltui.sources.fs.FileSystem` of one host; paths are ``ssh://host/abs/path``."""

    def __init__(self, host: SshHost, root: str | None = None) -> None:
        self.host = host
        self.prefix = host.target.prefix
        self.root = root
        self.remote_root = self.remote(root) if root else None
        #: Infos fetched for a whole poll by :meth:`prefetch`, each used once.
        self._batch: dict[str, dict[str, Any]] = {}
        self._reals: dict[str, str] = {}

    def remote(self, path: str) -> str:
        if not path.startswith(self.prefix):
            raise OSError(errno.EXDEV, f"not on {self.host.target.label}", path)
        rest = path[len(self.prefix) :]
        return posixpath.normpath(rest) if rest.startswith("/") else "/" + rest

    def local(self, remote: str) -> str:
        return self.prefix + remote

    def confined(self, root: str | None) -> SshFS:
        return SshFS(self.host, root)

    def status(self) -> str | None:
        return self.host.status()

    def prefetch(self, paths: list[str]) -> None:
        """The info of many files in one round trip (one poll); errors are left to ``open``."""
        mine = [p for p in paths if p.startswith(self.prefix)]
        if not mine:
            return
        try:
            head, _ = self.host.call(
                {"op": "open_many", "paths": [self.remote(p) for p in mine], "root": self.remote_root}
            )
        except OSError:
            self._batch = {}
            return
        results = head.get("results") or []
        self._batch = {p: r for p, r in zip(mine, results, strict=False) if "error" not in r}
        for p, r in zip(mine, results, strict=False):
            self.host.seen_files[p] = None if "error" in r else _signature(r)

    def open(self, path: str) -> SshFile:
        info = self._batch.pop(path, None)
        if info is None:
            try:
                info, _ = self.host.call({"op": "open", "path": self.remote(path), "root": self.remote_root})
            except FileNotFoundError:
                self.host.seen_files[path] = None
                raise
            self.host.seen_files[path] = _signature(info)
        return SshFile(self, path, _info(info), info.get("head_crc"))

    def stat(self, path: str) -> FileInfo:
        head, _ = self.host.call({"op": "stat", "path": self.remote(path), "root": self.remote_root})
        if head.get("real"):
            self._reals[path] = self.local(str(head["real"]))
        if head.get("kind") == "dir":
            self.host.seen_dirs[path] = _signature(head)
        return _info(head)

    def realpath(self, path: str) -> str:
        """The real path (from the last ``stat`` of it when there was one: no extra round trip)."""
        known = self._reals.pop(path, None)
        if known is not None:
            return known
        head, _ = self.host.call({"op": "realpath", "path": self.remote(path)})
        return self.local(str(head["path"]))

    def scandir(self, path: str) -> Iterator[Entry]:
        head, _ = self.host.call({"op": "scandir", "path": self.remote(path), "root": self.remote_root})
        for name, kind, outside, target in head.get("entries") or []:
            full = posixpath.join(path, str(name))
            tgt = self.local(str(target)) if target else ""
            yield Entry(str(name), full, kind, outside=bool(outside), target=tgt)

    def read_small(self, path: str, limit: int = MAX_METADATA_BYTES) -> bytes:
        with self.open(path) as fh:
            if fh.info.size > limit:
                raise TooLarge(path, fh.info.size, limit)
            data = fh.read_at(0, limit + 1)
        if len(data) > limit:
            raise TooLarge(path, len(data), limit)
        return data

    def tmux(self, args: list[str]) -> tuple[int, bytes, str]:
        """``tmux ARGS`` on the host (display-message and capture-pane only): rc, stdout, stderr."""
        head, data = self.host.call({"op": "tmux", "args": args})
        return int(head.get("rc", 1)), data, str(head.get("stderr", ""))


class SshWaker:
    """Wakes a remote run when one of its files or folders changes on the host.

    One outstanding ``wait`` request per run: the helper compares, next to the files, what the
    run's readers last saw (``SshHost.seen_files``/``seen_dirs``, kept by every open, poll and
    listing) with the files now, every 0.1 s, and answers when something differs. A quiet run
    therefore costs nothing here and nothing on the wire. A changed folder (a new checkpoint, a
    new event file) also asks for a rescan (:meth:`take_rescan`). While the host is unreachable
    it wakes once a second, so the run shows the lost connection and retries.
    """

    def __init__(self, fs: SshFS, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self._closed = threading.Event()
        self._rescan = False

    def _mine(self, seen: dict[str, list[int] | None]) -> list[list[Any]]:
        root = self.root
        return [
            [self.fs.remote(p), sig] for p, sig in list(seen.items()) if p == root or p.startswith(root + "/")
        ]

    def take_rescan(self) -> bool:
        due, self._rescan = self._rescan, False
        return due

    def wait(self, timeout: float) -> bool:
        if self._closed.is_set():
            return False
        host = self.fs.host
        files, dirs = self._mine(host.seen_files), self._mine(host.seen_dirs)
        if not files and not dirs:
            self._closed.wait(min(timeout, 1.0))
            return not self._closed.is_set()
        try:
            head, _ = host.call(
                {"op": "wait", "files": files, "dirs": dirs, "timeout": timeout, "interval": 0.1},
                timeout=timeout + CALL_TIMEOUT_S,
            )
        except OSError:
            self._closed.wait(min(timeout, 1.0))  # lost: poll (and so retry) once a second
            return not self._closed.is_set()
        changed = {str(p) for p in head.get("changed") or []}
        if changed & {d for d, _ in dirs}:
            self._rescan = True
        return bool(changed) and not self._closed.is_set()

    def close(self) -> None:
        self._closed.set()
