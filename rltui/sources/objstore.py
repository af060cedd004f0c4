"""Runs in object storage and other file systems (``s3://``, ``gs://``, ``hf://``, ``az://`` ...)
through fsspec, behind the same file-system seam as local files (``rltui.sources.fs``).

Why fsspec: it is the layer TensorBoard's own reader and Lightning use, and each backend is one
optional package (``pip install 'rltui[s3]'``), configured the way the user already configures it
(``~/.aws``, ``AWS_*``, fsspec's ``FSSPEC_S3='{"endpoint_url": ...}'`` and config files).

What "following" means on a store: an object is never appended to; a training that syncs its
run re-uploads a longer object. So a file's identity here is its path, and readers see a longer
file whose first bytes did not change (their usual size and head checks catch a real rewrite);
they ask for the byte range past their offset only (``cat_file(path, start, end)``: an HTTP
range request). Listings and infos are fetched fresh on each call (fsspec's listing cache would
hide new objects). Polled every :data:`POLL_INTERVAL_S` seconds: each poll is a request per file,
and requests cost money.
"""

from __future__ import annotations

import errno
import posixpath
import zlib
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

from rltui.sources.fs import MAX_METADATA_BYTES, Entry, FileInfo, TooLarge

#: Seconds between polls of a run in a store (a request per followed file each time).
POLL_INTERVAL_S = 2.0
#: The optional extra, and the package behind it, per URL scheme.
EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"),
    "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"),
    "gcs": ("gcs", "gcsfs"),
    "az": ("azure", "adlfs"),
    "abfs": ("azure", "adlfs"),
    "abfss": ("azure", "adlfs"),
    "hf": ("hf", "huggingface_hub"),
}


class MissingExtra(OSError):
    """The backend for a URL scheme is not installed; the message is the command to run."""

    def __init__(self, scheme: str) -> None:
        extra, package = EXTRAS.get(scheme, ("", ""))
        how = f"pip install 'rltui[{extra}]'" if extra else "pip install fsspec and its backend"
        what = f" ({package})" if package else ""
        super().__init__(errno.ENOPKG, f"reading {scheme}:// needs an optional extra{what}: {how}")


def _mtime_ns(info: dict[str, Any]) -> int:
    for key in ("LastModified", "mtime", "last_modified", "updated", "modified"):
        value = info.get(key)
        if isinstance(value, datetime):
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
        if isinstance(value, str):
            try:
                return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e9)
            except ValueError:
                continue
    return 0


def _identity(path: str) -> tuple[int, int]:
    return (0, zlib.crc32(path.encode("utf-8", "surrogateescape")))


class StoreFile:
    """An object as opened by :meth:`StoreFS.open`: byte ranges on request."""

    def __init__(self, fs: StoreFS, path: str, info: FileInfo) -> None:
        self._fs = fs
        self.path = path
        self.info = info

    def read_at(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.info.size)
        if end <= offset:
            return b""
        try:
            data = self._fs.fs.cat_file(self._fs.key(self.path), start=offset, end=end)
        except FileNotFoundError:
            raise
        except Exception as exc:  # a backend's own error types: a read failure, not a crash
            raise OSError(errno.EIO, f"cannot read from the store: {type(exc).__name__}: {exc}") from None
        return bytes(data)

    def close(self) -> None:
        """Nothing is held open."""

    def __enter__(self) -> StoreFile:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class StoreFS:
    """The :class:`~rltui.sources.fs.FileSystem` of one fsspec protocol; paths are full URLs."""

    def __init__(self, scheme: str, fs: Any) -> None:
        self.scheme = scheme
        self.fs = fs

    def key(self, path: str) -> str:
        """The path as the backend names it (fsspec strips the protocol itself; done here too)."""
        prefix = f"{self.scheme}://"
        return path[len(prefix) :] if path.startswith(prefix) else path

    def url(self, key: str) -> str:
        return f"{self.scheme}://{key.lstrip('/')}"

    def confined(self, root: str | None) -> StoreFS:
        return self  # no symlinks in a store: nothing leaves a run's prefix

    def _info(self, path: str) -> dict[str, Any]:
        key = self.key(path)
        try:
            self.fs.invalidate_cache(posixpath.dirname(key.rstrip("/")))
            self.fs.invalidate_cache(key)
            return dict(self.fs.info(key))
        except (FileNotFoundError, PermissionError):
            raise
        except OSError:
            raise
        except Exception as exc:
            raise OSError(errno.EIO, f"cannot reach the store: {type(exc).__name__}: {exc}") from None

    def stat(self, path: str) -> FileInfo:
        info = self._info(path)
        kind: Literal["file", "dir"] = "dir" if info.get("type") == "directory" else "file"
        return FileInfo(int(info.get("size") or 0), _mtime_ns(info), _identity(path), kind)

    def open(self, path: str) -> StoreFile:
        info = self.stat(path)
        if info.kind != "file":
            raise OSError(errno.EISDIR, "not a regular file (a folder), not read", path)
        return StoreFile(self, path, info)

    def scandir(self, path: str) -> Iterator[Entry]:
        key = self.key(path).rstrip("/")
        try:
            self.fs.invalidate_cache(key)
            listing = self.fs.ls(key, detail=True)
        except (FileNotFoundError, PermissionError):
            raise
        except Exception as exc:
            raise OSError(errno.EIO, f"cannot list the store: {type(exc).__name__}: {exc}") from None
        for item in listing:
            name = posixpath.basename(str(item.get("name", "")).rstrip("/"))
            if not name:
                continue
            kind: Literal["file", "dir"] = "dir" if item.get("type") == "directory" else "file"
            yield Entry(name, posixpath.join(path.rstrip("/"), name), kind)

    def read_small(self, path: str, limit: int = MAX_METADATA_BYTES) -> bytes:
        with self.open(path) as fh:
            if fh.info.size > limit:
                raise TooLarge(path, fh.info.size, limit)
            return fh.read_at(0, limit)


def store_fs(path: str) -> StoreFS:
    """The store file system for a URL; :class:`MissingExtra` when its backend is missing."""
    scheme = path.split("://", 1)[0].lower()
    try:
        import fsspec
    except ImportError:
        raise MissingExtra(scheme) from None
    try:
        fs = fsspec.filesystem(scheme)
    except ImportError:
        raise MissingExtra(scheme) from None
    except ValueError as exc:  # "Protocol not known"
        raise OSError(errno.EPROTONOSUPPORT, f"no file system for {scheme}:// ({exc})") from None
    return StoreFS(scheme, fs)
