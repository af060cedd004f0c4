"""A real S3 API server on 127.0.0.1 for the tests: moto in server mode, started by the test.

rltui reaches it through s3fs exactly as it would reach AWS or MinIO: fsspec's own configuration
(``FSSPEC_S3='{"endpoint_url": ..., "key": ..., "secret": ...}'``) names the endpoint and keys.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    def __init__(self) -> None:
        pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[test]')")
        pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[test]')")
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.endpoint, timeout=1) as response:
                    response.read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto server did not start")
                time.sleep(0.1)

    @property
    def options(self) -> dict[str, str]:
        """fsspec's S3 options for this server (what a user puts in FSSPEC_S3 or fsspec config)."""
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing"}

    @property
    def env(self) -> dict[str, str]:
        return {"FSSPEC_S3": json.dumps(self.options), "AWS_DEFAULT_REGION": "us-east-1"}

    def filesystem(self) -> Any:
        """A fresh s3fs client of the test's own (the "training" side that uploads the run).

        ``Any``: s3fs and fsspec ship no type information.
        """
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.options)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
