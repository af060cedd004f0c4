"""A real OpenSSH server on 127.0.0.1 for the tests: throw-away host and user keys in a temp dir.

The server runs as the current user on a free high port with key authentication only; the client
side is an ``ssh_config`` with a ``Host`` alias (``rltui-test``), its own ``known_hosts`` and
identity, so nothing of the user's own ssh setup is read or changed. rltui is pointed at it the
way a user would: ``RLTUI_SSH_COMMAND="ssh -F <config>"``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ALIAS = "rltui-test"
#: The same server, but its host key is not in known_hosts (a first connection, or a changed key).
ALIAS_UNKNOWN_KEY = "rltui-test-newkey"
#: The same server with a key it does not accept.
ALIAS_BAD_KEY = "rltui-test-badkey"


def sshd_binary() -> str | None:
    for cand in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


class Sshd:
    """One sshd process and a client config that reaches it."""

    def __init__(self, root: Path) -> None:
        binary = sshd_binary()
        if binary is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
            pytest.skip("openssh-server/openssh-client not installed (.ci/run installs them with apt-get)")
        self.root = root
        self.port = _free_port()
        self.user = getpass.getuser()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        host_key, user_key, other_key = root / "host_key", root / "id_user", root / "id_other"
        for k in (host_key, user_key, other_key):
            _keygen(k)
        (root / "authorized_keys").write_text((root / "id_user.pub").read_text())
        os.chmod(root / "authorized_keys", 0o600)
        host_pub = (root / "host_key.pub").read_text().split()
        (root / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (root / "empty_known_hosts").write_text("")
        (root / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"AuthorizedKeysFile {root / 'authorized_keys'}",
                    f"PidFile {root / 'sshd.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "LogLevel ERROR",
                    # The "remote" tmux server of the tests lives here, not in the user's /tmp.
                    f"SetEnv TMUX_TMPDIR={root / 'tmux'}",
                    "",
                ]
            )
        )
        common = [
            "  HostName 127.0.0.1",
            f"  Port {self.port}",
            f"  User {self.user}",
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking yes",
            "  LogLevel ERROR",
        ]
        self.config = root / "ssh_config"
        self.config.write_text(
            "\n".join(
                [
                    f"Host {ALIAS}",
                    *common,
                    f"  IdentityFile {user_key}",
                    f"  UserKnownHostsFile {root / 'known_hosts'}",
                    f"Host {ALIAS_UNKNOWN_KEY}",
                    *common,
                    f"  IdentityFile {user_key}",
                    f"  UserKnownHostsFile {root / 'empty_known_hosts'}",
                    f"Host {ALIAS_BAD_KEY}",
                    *common,
                    f"  IdentityFile {other_key}",
                    f"  UserKnownHostsFile {root / 'known_hosts'}",
                    "",
                ]
            )
        )
        self.log = root / "sshd.log"
        self.tmux_tmpdir = root / "tmux"
        self.tmux_tmpdir.mkdir(exist_ok=True)
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            # sshd run as root insists on its privilege-separation folder (systemd makes it on a
            # normal install; a container has none). As another user it is not needed.
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self._argv = [binary, "-D", "-e", "-f", str(root / "sshd_config")]
        self._start()

    def _start(self) -> None:
        with self.log.open("ab") as log:  # sshd has its own copy; ours is closed (else: ResourceWarning)
            self.proc = subprocess.Popen(
                self._argv,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        self._wait_ready()

    def pause(self) -> None:
        """The host goes away: connections dropped and the listener stopped (a reboot)."""
        self.kill_connections()
        self.close()

    def resume(self) -> None:
        self._start()

    @property
    def ssh_command(self) -> str:
        """What a user would put in ``RLTUI_SSH_COMMAND`` to use this config."""
        return f"ssh -F {self.config}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"sshd exited: {self.log.read_text()[-2000:]}")
            res = subprocess.run(
                ["ssh", "-F", str(self.config), "-o", "BatchMode=yes", ALIAS, "true"],
                capture_output=True,
                timeout=15,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            if res.returncode == 0:
                return
            time.sleep(0.1)
        pytest.fail(
            f"sshd never accepted the test key: {res.stderr.decode()[-500:]} {self.log.read_text()[-500:]}"
        )

    def kill_connections(self) -> None:
        """Kill every per-connection sshd child (the listener stays): a dropped network link."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False)
        for pid in out.stdout.split():
            subprocess.run(["kill", "-9", pid], check=False)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@contextlib.contextmanager
def training_pane(server: Sshd, out: Path, session: str = "train") -> Iterator[None]:
    """A tmux session on the "remote host" (the server's tmux folder, which its ssh config hands
    to every login) whose pane prints ``out`` and then what is appended to it, as a training
    started without ``tee`` would; its server is killed afterwards."""
    env = {**os.environ, "TMUX_TMPDIR": str(server.tmux_tmpdir)}
    env.pop("TMUX", None)
    far = ["tmux", "-f", "/dev/null"]
    cmd = [*far, "new-session", "-d", "-x", "120", "-y", "40", "-s", session, "-n", "log"]
    subprocess.run([*cmd, f"tail -n +1 -f {out}"], env=env, check=True, timeout=10)
    try:
        yield
    finally:
        subprocess.run([*far, "kill-server"], env=env, check=False, timeout=10)
