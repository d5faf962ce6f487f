"""A throwaway Dovecot IMAP server (the Debian package's binary) for the tests.

Its own configuration, folders and loopback port; a single user with a plain password; run in
the foreground (`dovecot -F`) as a child process and killed at the end. Mail belongs to the
`nobody` user, so it works the same when the tests run as root (CI) or not.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "plateforme", "imap-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    def __init__(self) -> None:
        if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        # Dovecot's own processes run as its users: every folder on the way must let them in
        # (pytest's temporary folders are private to the user running the tests).
        self.folder = Path(tempfile.mkdtemp(prefix="casework-dovecot-"))
        self.folder.chmod(0o755)
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        f = self.folder
        for sub in ("run", "state", "home"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        (f / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (f / "users").chmod(0o644)
        if os.geteuid() == 0:
            os.chown(f / "home", owner.pw_uid, owner.pw_gid)
        config = f / "dovecot.conf"
        config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {f / "run"}
state_dir = {f / "state"}
log_path = {f / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {f / "users"}
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={f / "home"}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                # (Again) if it exited: right after `kill`, the old login processes may still
                # hold the port for a moment, and the new master gives up on binding it.
                self.process = subprocess.Popen(
                    [binary, "-F", "-c", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # its own process group: `kill` takes them all
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        log = (f / "dovecot.log").read_text() if (f / "dovecot.log").exists() else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start: {log[-2000:]}")

    def kill(self) -> None:
        """Stop the server, keeping its mail (`start` again brings it back on the same port)."""
        if self.process is None:
            return
        # The whole process group: the master, and the IMAP sessions it would otherwise leave
        # running for a moment (or, as seen in CI, keep serving their clients).
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait()
        # Everything is gone or going: wait for the port to close.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return
            time.sleep(0.05)

    def cut_sessions(self) -> int:
        """SIGKILL the server's IMAP session processes: their clients see the connection close
        with no BYE (as with a network cut), while the server itself stays up."""
        assert self.process is not None
        cut = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": the name may hold spaces, so split after the ")".
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if parent == self.process.pid and name == "imap":
                os.kill(int(entry.name), signal.SIGKILL)
                cut += 1
        return cut

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
