"""A real PostgreSQL server for the tests, started by them: initdb + pg_ctl in a temporary folder.

One server for the whole run, on a free 127.0.0.1 port, with a template database already migrated
so each test gets a fresh database in milliseconds (``CREATE DATABASE ... TEMPLATE``). ``initdb``
refuses to run as root (CI runs as root): then the folder belongs to the ``postgres`` user and the
binaries run through ``runuser -u postgres --``. The server is stopped by its data folder at the end,
also when the run fails (and at interpreter exit, should a fixture's finaliser not run).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

TEMPLATE = "studybot_template"
CLEAN = "studybot_clean"
START_SECONDS = 30


class ServerUnavailable(Exception):
    """PostgreSQL's binaries are missing, or the server would not start; the message says which."""


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A throwaway cluster; ``url(db)`` is how StudyBot reaches a database on it (user postgres, trust auth)."""

    def __init__(self) -> None:
        self.bin = find_binaries()
        if self.bin is None:
            raise ServerUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); "
                                    "install the Debian package `postgresql`")
        self.root = Path(tempfile.mkdtemp(prefix="studybot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self._names = itertools.count(1)
        self.running = False
        self._clean_made = False
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)

    def _run(self, *args: str, timeout: float = START_SECONDS) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False)

    def start(self) -> None:
        """initdb (once) and start; raises ServerUnavailable with the server's own words on failure."""
        if not self.data.exists():
            done = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                             "-E", "UTF8", "--locale=C", "--no-sync")
            if done.returncode != 0:
                raise ServerUnavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        # fsync off (a test's data need not survive the machine); synchronous_commit stays on, since
        # restart tests stop the server at once and expect every acknowledged commit back.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                         str(self.root / "server.log"), "-w", "-t", str(START_SECONDS), "start")
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:] \
                if (self.root / "server.log").exists() else ""
            raise ServerUnavailable(f"pg_ctl start failed: {done.stderr.strip()} {log}")
        self.running = True
        atexit.register(self.stop)

    def stop(self, mode: str = "immediate") -> None:
        """Stops the server by its data folder (idempotent)."""
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")  # type: ignore[operator]
            self.running = False

    def restart(self) -> None:
        """Stops the server at once (as a crash would) and starts it again on the same port."""
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def cpu_seconds(self) -> float | None:
        """CPU time the server's processes used so far (those still running and those that exited);
        None where /proc cannot tell (not Linux). For benchmarks, which print what the server cost."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
            ticks = os.sysconf("SC_CLK_TCK")
            total = 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue  # exited meanwhile: counted in the postmaster's children's time
                fields = stat[stat.rindex(")") + 2:].split()
                if int(entry) == postmaster:  # its own time and its exited children's
                    total += sum(int(f) for f in fields[11:15])
                elif int(fields[1]) == postmaster:
                    total += int(fields[11]) + int(fields[12])
            return total / ticks
        except (OSError, ValueError, IndexError):
            return None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        assert self.bin is not None
        done = self._run(str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql)
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def clean_database(self) -> str:
        """The URL of a migrated database with every table emptied (ids restarting at 1).

        One database reused and truncated, because CREATE DATABASE takes over a second on a busy
        machine and TRUNCATE a few milliseconds; tests that need a database of their own (several
        processes, migrations, copies) ask :meth:`fresh_database`.
        """
        if not self._clean_made:
            self.psql(f"CREATE DATABASE {CLEAN} TEMPLATE {TEMPLATE}")
            self._clean_made = True
        else:
            self.psql("DO $$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename), ', ') || "
                      "' RESTART IDENTITY CASCADE' FROM pg_tables WHERE schemaname = 'public' "
                      "AND tablename <> 'schema_version'); END $$", CLEAN)
        return self.url(CLEAN)

    def fresh_database(self, migrated: bool = True) -> str:
        """A new database's URL: a copy of the migrated template, or empty."""
        name = f"t{os.getpid()}_{next(self._names)}"
        template = TEMPLATE if migrated else "template0"
        self.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def make_template(self) -> None:
        """The template every migrated test database is copied from, migrated by StudyBot itself."""
        import asyncio

        from bot.store.postgres import PostgresStore

        self.psql(f"CREATE DATABASE {TEMPLATE}")

        async def migrate() -> None:
            store = await PostgresStore.open(self.url(TEMPLATE), pool_size=1)
            await store.close()

        # In a thread of its own: the fixture may be set up while a test's event loop is running.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, migrate()).result(timeout=START_SECONDS)


def start_server() -> PostgresServer:
    """A started server with its template, or ServerUnavailable."""
    server = PostgresServer()
    try:
        server.start()
        server.make_template()
    except (ServerUnavailable, OSError, subprocess.SubprocessError, RuntimeError) as exc:
        with contextlib.suppress(Exception):
            server.remove()
        raise ServerUnavailable(str(exc)) from exc
    return server
