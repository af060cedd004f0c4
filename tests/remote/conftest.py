"""Fixtures for remote runs: one real sshd for the session, rltui's connections closed per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rltui.sources import ssh
from tests.remote._s3 import S3Server
from tests.remote._sshd import Sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = Sshd(Path(tmp_path_factory.mktemp("sshd")))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def remote(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sshd]:
    """The server, with rltui's ssh pointed at its config (as ``RLTUI_SSH_COMMAND``)."""
    monkeypatch.setenv("RLTUI_SSH_COMMAND", sshd.ssh_command)
    try:
        yield sshd
    finally:
        ssh.close_all()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """The server, configured for rltui in this process (fsspec config) and in children (env)."""
    import fsspec.config

    for k, v in s3_server.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setitem(fsspec.config.conf, "s3", dict(s3_server.options))
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    yield s3_server
    s3fs.S3FileSystem.clear_instance_cache()
