"""A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, served on the
loopback on a free port (its unix socket in the same directory), stopped and removed at the end.

PostgreSQL refuses to run as root: as root (CI), the cluster belongs to and runs as the
``postgres`` user (created by Debian's package) or else ``nobody``, through ``runuser``. The
superuser ``balance`` logs in with a random password (scram-sha-256), so the tests use URLs with a
password as a hub does. Durability is off (``fsync=off``): nothing of it must survive the run.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from free_ports import free_port as _free_port

SUPERUSER = "balance"


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither the postgres nor the nobody user exists")


class Cluster:
    """A running cluster; :meth:`url` of a database in it, :meth:`create_database`."""

    def __init__(self) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL is not installed (no initdb); run tests/bootstrap.sh as root")
        self.bindir = bindir
        self.user = _run_as_user()
        self.root = Path(tempfile.mkdtemp(prefix="balance-pg-"))
        self.data = self.root / "data"
        self.password = secrets.token_urlsafe(16)
        self.port = 0
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.user:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile), "--auth", "scram-sha-256",
                  "--encoding", "UTF8", "--locale", "C", "--no-sync")
        pwfile.unlink()
        self._start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        return result

    def _start(self) -> None:
        last = ""
        for _attempt in range(3):  # a free port may be taken before the server binds it
            self.port = _free_port()
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.root}'"
                       " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            result = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l",
                               str(self.root / "server.log"), "-o", options, check=False)
            if result.returncode == 0:
                return
            last = (self.root / "server.log").read_text(errors="replace")[-1500:] if (self.root / "server.log").exists() \
                else result.stderr
        raise RuntimeError(f"the test PostgreSQL did not start: {last}")

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run statements (autocommit) as the superuser in the ``postgres`` database."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); return its URL."""
        suffix = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        self.admin(f"CREATE DATABASE {name}{suffix}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
