# (Runs on the remote python3, which may be as old as 3.6: kept free of annotations; see the mypy
# override for this module in pyproject.toml.)
"""The helper rltui runs on a remote host over ssh: file info, listings and byte ranges, read only.

Why a helper: one ssh connection per host then serves every file of every run on it (one
``ssh`` process, not one per file and poll), and only the bytes a reader asks for at its offset
cross the wire. It is sent over the connection's stdin (``python3 -c "exec(stdin.read(N))"``),
so nothing is installed on the remote side; it needs only a stock python3 (3.6+, stdlib).

It never writes, never follows a symlink out of a run's root when asked to confine, refuses
FIFOs, sockets and devices without blocking (``O_NONBLOCK`` then ``fstat``), bounds every reply,
and runs no command but ``tmux display-message`` / ``tmux capture-pane`` (remote tmux panes).

Protocol (binary, both ways): a frame is ``struct ">II"`` (JSON length, data length), the JSON
header, then the raw data. Requests carry ``{"id", "op", ...}``; replies ``{"id", "ok", ...}`` or
``{"id", "ok": false, "errno", "error"}``. The first reply is ``{"hello": 1, "home": ...}``.
Replies come in the order the work finishes: a ``wait`` (block until a file changes) runs in a
thread of its own while the other requests are answered; the client matches replies by id.
This file is also imported by tests (the protocol functions run locally the same way).
"""

import errno
import json
import os
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib

VERSION = 1
MAX_READ = 16 << 20
MAX_ENTRIES = 20000
HEAD = 64
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
TMUX_OPS = ("display-message", "capture-pane")


def _kind(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "other"


def _what(mode):
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


class Refused(Exception):
    def __init__(self, code, message, extra=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.extra = extra or {}


def _within(real, root):
    return real == root or real.startswith(root.rstrip("/") + "/")


def _confine(path, root):
    if root:
        real = os.path.realpath(path)
        if not _within(real, os.path.realpath(root)):
            raise Refused(
                "outside",
                f"symlink leaves the run folder (to {real}), not followed",
                {"target": real},
            )


def _info(st):
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "dev": st.st_dev,
        "ino": st.st_ino,
        "kind": _kind(st.st_mode),
    }


def _open(path, root):
    _confine(path, root)
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("notregular", f"not a regular file ({_what(st.st_mode)}), not read")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def op_stat(req):
    _confine(req["path"], req.get("root"))
    out = _info(os.stat(req["path"]))
    out["real"] = os.path.realpath(req["path"])
    return out, b""


def op_open(req):
    """Info of a regular file plus the CRC of its first bytes (the reader's rewrite check)."""
    fd, st = _open(req["path"], req.get("root"))
    try:
        head = os.pread(fd, HEAD, 0)
    finally:
        os.close(fd)
    out = _info(st)
    out["head_crc"] = zlib.crc32(head)
    out["head_len"] = len(head)
    return out, b""


def op_open_many(req):
    """``op_open`` for many paths in one round trip (one poll of a run)."""
    results = []
    for path in req["paths"][:MAX_ENTRIES]:
        try:
            info, _ = op_open({"path": path, "root": req.get("root")})
            results.append(info)
        except Refused as exc:
            results.append({"error": exc.message, "errno": exc.code})
        except OSError as exc:
            results.append({"error": exc.strerror or str(exc), "errno": exc.errno})
    return {"results": results}, b""


def op_read(req):
    """Bytes at an offset of the file that has the identity the reader saw at open."""
    fd, st = _open(req["path"], req.get("root"))
    try:
        if [st.st_dev, st.st_ino] != list(req["identity"]):
            raise Refused("replaced", "file replaced while reading")
        size = max(0, min(int(req["size"]), MAX_READ))
        offset = max(0, int(req["offset"]))
        parts = []
        while size > 0:
            part = os.pread(fd, size, offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
            size -= len(part)
    finally:
        os.close(fd)
    return {}, b"".join(parts)


def op_scandir(req):
    path, root = req["path"], req.get("root")
    real_root = os.path.realpath(root) if root else None
    entries = []  # type: list
    it = os.scandir(path)
    try:
        for entry in it:
            if len(entries) >= MAX_ENTRIES + 1:
                break
            entries.append(_entry(entry, real_root))
    finally:
        it.close()
    return {"entries": entries}, b""


def _entry(entry, real_root):
    try:
        target = ""
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if real_root is not None and not _within(target, real_root):
                return [entry.name, "other", True, target]
        if entry.is_dir(follow_symlinks=True):
            return [entry.name, "dir", False, target]
        if entry.is_file(follow_symlinks=True):
            return [entry.name, "file", False, target]
        exists = os.path.exists(entry.path) if target else True
        return [entry.name, "other" if exists else "missing", False, target]
    except (OSError, ValueError):
        return [entry.name, "missing", False, ""]


def op_realpath(req):
    return {"path": os.path.realpath(os.path.expanduser(req["path"]))}, b""


def op_tmux(req):
    args = [str(a) for a in req["args"]]
    if not args or args[0] not in TMUX_OPS:
        raise Refused("refused", "only tmux display-message and capture-pane are run")
    try:
        proc = subprocess.run(  # noqa: UP022 (capture_output is 3.7+; this may run on 3.6)
            ["tmux", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=10,
        )
    except FileNotFoundError:
        return {"rc": 127, "stderr": "tmux is not installed on the remote host"}, b""
    except subprocess.TimeoutExpired:
        return {"rc": 124, "stderr": "tmux did not answer"}, b""
    return {"rc": proc.returncode, "stderr": proc.stderr[-2000:].decode("utf-8", "replace")}, proc.stdout[
        :MAX_READ
    ]


OPS = {
    "stat": op_stat,
    "open": op_open,
    "open_many": op_open_many,
    "read": op_read,
    "scandir": op_scandir,
    "realpath": op_realpath,
    "tmux": op_tmux,
    "ping": lambda req: ({}, b""),
}


def handle(req):
    """One request -> (header, data); never raises for a bad path or a refused file."""
    rid = req.get("id")
    fn = OPS.get(req.get("op"))
    if fn is None:
        return {"id": rid, "ok": False, "errno": "badop", "error": "unknown operation"}, b""
    try:
        header, data = fn(req)
    except Refused as exc:
        return dict({"id": rid, "ok": False, "errno": exc.code, "error": exc.message}, **exc.extra), b""
    except OSError as exc:
        return {"id": rid, "ok": False, "errno": exc.errno, "error": exc.strerror or str(exc)}, b""
    except (KeyError, TypeError, ValueError) as exc:
        return {"id": rid, "ok": False, "errno": errno.EINVAL, "error": f"bad request: {exc}"}, b""
    header["id"] = rid
    header["ok"] = True
    return header, data


def _read_exact(stream, n):
    buf = b""
    while len(buf) < n:
        part = stream.read(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def write_frame(stream, header, data=b""):
    body = json.dumps(header).encode()
    stream.write(struct.pack(">II", len(body), len(data)) + body + data)
    stream.flush()


def read_frame(stream):
    head = _read_exact(stream, 8)
    if head is None:
        return None
    n, m = struct.unpack(">II", head)
    body = _read_exact(stream, n)
    data = _read_exact(stream, m) if m else b""
    if body is None or data is None:
        return None
    return json.loads(body.decode()), data


def _signature(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def op_wait(req):
    """Block until a file or folder differs from the signature the client last saw (or timeout).

    Why here: the stat loop runs next to the files (every ``interval`` s, on the remote CPU) and
    the client sleeps in one outstanding request, so a quiet run costs nothing locally and the
    wire carries nothing but the reply. Entries are [path, [size, mtime_ns, ino] or None]; for a
    folder only its mtime counts (an entry added or removed).
    """
    files = [(p, sig) for p, sig in req.get("files") or []][:MAX_ENTRIES]
    dirs = [(p, sig) for p, sig in req.get("dirs") or []][:MAX_ENTRIES]
    interval = min(max(float(req.get("interval", 0.1)), 0.02), 5.0)
    deadline = time.monotonic() + min(max(float(req.get("timeout", 20)), 0.0), 60.0)
    while True:
        changed = [p for p, sig in files if _signature(p) != sig]
        for p, sig in dirs:
            now = _signature(p)
            if (now is None) != (sig is None) or (now is not None and now[1] != sig[1]):
                changed.append(p)
        if changed or time.monotonic() >= deadline:
            return {"changed": changed}, b""
        time.sleep(interval)


#: Operations that may block: each runs in a thread of its own, so the others are not held up.
SLOW_OPS = ("wait",)
OPS["wait"] = op_wait


def main():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    lock = threading.Lock()

    def reply(request):
        header, data = handle(request)
        with lock:
            write_frame(out, header, data)

    with lock:
        write_frame(
            out, {"hello": VERSION, "home": os.path.expanduser("~"), "python": sys.version.split()[0]}
        )
    while True:
        frame = read_frame(inp)
        if frame is None:
            return
        if frame[0].get("op") in SLOW_OPS:
            threading.Thread(target=reply, args=(frame[0],), daemon=True).start()
        else:
            reply(frame[0])


if __name__ == "__main__":
    main()
