"""``balance-station hub``: the clinic's hub, the same web application and API on PostgreSQL.

    balance-station hub --database postgresql://hub@db.clinic/balance [--port 8000] [--data-dir DIR]

The hub serves every station's patients, sessions, trials, programmes and audit trail from one
PostgreSQL database (:mod:`station.store.pg`), with the station's login, roles, CSRF and audit,
through waitress as ``run`` does, plus the sync API the stations push to (``create_app({"HUB":
True})``, :mod:`web.hub_api`). It has no plate and starts no acquisition: the pages that measure
say the station is not running trials. The data directory keeps only the web secret key (and
the service lock: one hub per data directory). The database URL may also come from
``$BALANCE_STATION_DATABASE``; its password is better kept in ``~/.pgpass`` or ``$PGPASSWORD``
(libpq reads both) than on a command line that ``ps`` shows. Whichever way, it is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

DATABASE_ENV = "BALANCE_STATION_DATABASE"
"""Environment variable holding the hub's database URL when ``--database`` is not given."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "hub", help="serve the clinic's hub: the web app on a PostgreSQL database that the stations sync to")
    add_database_argument(parser)
    parser.add_argument("--host", help="address to listen on (default from the configuration: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default from the configuration: 8000)")
    parser.add_argument("--data-dir", type=Path, help="where the hub keeps its web secret key")
    parser.set_defaults(func=serve)
    actions = parser.add_subparsers(dest="hub_command", metavar="SUBCOMMAND")
    from station.commands._hub_stations import register_stations

    register_stations(actions, add_database_argument)


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """``--database URL`` (the hub's commands share it)."""
    parser.add_argument(
        "--database", metavar="URL",
        help=f"the hub's PostgreSQL database, postgresql://USER@HOST[:PORT]/DATABASE (default: ${DATABASE_ENV}; "
             "keep the password in ~/.pgpass or $PGPASSWORD rather than in the URL)")


def database_url(args: argparse.Namespace) -> str:
    """The database URL of ``--database`` or ``$BALANCE_STATION_DATABASE``; UserError (one line,
    without the password) if missing or not a PostgreSQL URL."""
    from station.cli import UserError
    from station.store.pg import is_postgres_url, redact_url, url_has_password

    url = getattr(args, "database", None) or os.environ.get(DATABASE_ENV)
    if not url:
        raise UserError(f"give the hub's database: --database postgresql://USER@HOST/DATABASE (or ${DATABASE_ENV})")
    if not is_postgres_url(url):
        shown = redact_url(url) if "://" in url else "that"
        raise UserError(f"--database must be a PostgreSQL URL like postgresql://USER@HOST:PORT/DATABASE, not {shown}")
    if getattr(args, "database", None) and url_has_password(url):
        print(PASSWORD_ON_COMMAND_LINE, file=sys.stderr)
    return url


PASSWORD_ON_COMMAND_LINE = (
    "balance-station: warning: the password in --database is on the command line, which every user of this machine "
    f"can read (ps); keep it in ~/.pgpass or $PGPASSWORD, or give the URL in ${DATABASE_ENV}")
"""Said (not refused: scripts and the tests' throwaway cluster pass URLs with a password) when a
``--database`` URL holds a password."""


def open_hub_store(args: argparse.Namespace, config, *, service: bool, url: str | None = None):
    """The hub's store on the database of ``args`` (or ``url`` already taken from them: UserError
    with one line if it cannot open)."""
    from station.cli import UserError
    from station.store.db import StoreError
    from station.store.store import Store

    url = url or database_url(args)
    try:
        if service:
            return Store.open_service(Path(config.data_dir), config=config, database=url)
        return Store.open(Path(config.data_dir), config=config, database=url)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def serve(args: argparse.Namespace) -> int:
    from station.cli import UserError
    from station.commands._common import load_config
    from station.commands.run import _bind
    from station.store.db import StoreError
    from station.store.pg import redact_url
    from station.commands.config import warn_utc_day
    from station.config_file import resolve_config_path

    url = database_url(args)
    config = load_config(args)
    web = config.web
    if args.host:
        web = replace(web, host=args.host)
    if args.port is not None:
        if not 0 < args.port < 65536:
            raise UserError(f"--port must be between 1 and 65535, got {args.port}")
        web = replace(web, port=args.port)
    config = replace(config, web=web)
    listener = _bind(config.web.host, config.web.port, another_port="--port 8001, or [web] port of the configuration")
    try:
        store = open_hub_store(args, config, service=True, url=url)
    except BaseException:
        listener.close()
        raise
    from waitress.server import create_server

    from station.commands._serve import serve_until_stopped
    from station.sdnotify import notify
    from station.tls_proxy import direct_access_warning, waitress_proxy_options
    from web import create_app
    from web.jsonio import SERVER_LIMITS

    try:
        app = create_app({"DATA_DIR": str(config.data_dir), "STATION_CONFIG": config, "STORE": store, "HUB": True})
        server = create_server(
            app, threads=32, ident="balance-station-hub", sockets=[listener], **waitress_proxy_options(config),
            **SERVER_LIMITS,
        )
    except BaseException as exc:
        store.close()
        listener.close()
        if isinstance(exc, StoreError):  # e.g. the clinic key file missing (station.store.erasure_key)
            raise UserError(str(exc)) from None
        raise
    stopping = threading.Event()
    warning = direct_access_warning("balance-station hub", config.web.host, config.web.port)
    if warning:
        print(warning, file=sys.stderr)
    print(f"balance-station hub: serving on http://{config.web.host}:{config.web.port}/ "
          f"(database {redact_url(url)})", file=sys.stderr)
    warn_utc_day(config.clinic.time_zone, resolve_config_path(getattr(args, "config", None)))  # in its journal
    notify("READY=1")
    try:
        serve_until_stopped(server, stopping)
    finally:
        stopping.set()
        server.close()
        store.close()
        print("balance-station hub: stopped", file=sys.stderr)
    return 0
