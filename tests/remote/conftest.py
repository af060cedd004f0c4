"""Fixtures for remote runs: one real sshd for the session, rltui's connections closed per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rltui.sources import ssh
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
