"""``balance-station config {check,show,proxy}``: validate, display and use the configuration file.

``check`` exits 0 when the file is valid and 1 with every error (key, value, what is allowed, file
and line), or when it holds ``[hub] token`` yet other users may read it (the check ``sync`` and
``run`` make before using the token). ``show`` prints the values in effect as TOML (keys the file does not set are marked
``# default``; secrets hidden). ``proxy`` prints the nginx site that serves the station over HTTPS
(:mod:`station.tls_proxy`; used by ``systemd/install.sh``). Which file: ``--config FILE``, else
``$BALANCE_STATION_CONFIG``, else ``/etc/balance-station/station.toml`` if present, else the
built-in development defaults.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from station.cli import UserError
from station.commands._batch import write_stdout
from station.config_file import effective_values, load_config, to_toml

def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="check or show the configuration file")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="validate the configuration; exit 1 listing every error")
    check.set_defaults(func=_check)

    show = actions.add_parser("show", help="print the values in effect (secrets hidden)")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of TOML")
    show.set_defaults(func=_show)

    proxy = actions.add_parser("proxy", help="print the nginx site that serves the station over HTTPS")
    proxy.add_argument(
        "--ca-cert", metavar="FILE", type=Path, default=None,
        help="local CA certificate offered at http://<station>/ca.crt (default: ca.crt beside web.tls_cert)",
    )
    proxy.set_defaults(func=_proxy)



def _config_arg(args: argparse.Namespace) -> str | None:
    """The global ``--config FILE`` (station.cli accepts it before or after the command)."""
    return getattr(args, "config", None)


def _check(args: argparse.Namespace) -> int:
    from station.commands._hub_token import check_config_holding_token

    loaded = load_config(_config_arg(args))  # ConfigError (a UserError) lists every problem
    if loaded.config.hub.token:
        check_config_holding_token(loaded.path)  # a UserError naming the mode and the fix
    if loaded.path is None:
        print("no configuration file (none given, $BALANCE_STATION_CONFIG unset, "
              "/etc/balance-station/station.toml absent): the built-in defaults are valid")
    else:
        print(f"{loaded.path}: valid ({len(loaded.keys_in_file)} settings, the rest default)")
    warn_utc_day(loaded.config.clinic.time_zone, loaded.path)
    return 0


def warn_utc_day(configured: str, path) -> None:
    """On stderr, a warning when ``[clinic] time_zone`` is unset on a computer kept in UTC (a hub's cloud server):
    its "today" is UTC's day (:func:`station.store.timefmt.utc_day_warning`). ``config check`` (which
    ``systemd/install.sh`` runs, and shows this line of) and ``hub`` at its start say it; valid all the same."""
    import sys

    from station.store.timefmt import utc_day_warning

    words = utc_day_warning(configured, str(path) if path else "the configuration file (--config FILE)")
    if words:
        print(f"balance-station: warning: {words}", file=sys.stderr)


def _show(args: argparse.Namespace) -> int:
    loaded = load_config(_config_arg(args))
    values = effective_values(loaded.config)
    if args.json:
        doc = {"file": None if loaded.path is None else str(loaded.path), "config": values}
        write_stdout(json.dumps(doc, indent=2) + "\n")
        return 0
    source = "built-in defaults (no configuration file)" if loaded.path is None else str(loaded.path)
    write_stdout(f"# Configuration in effect, from {source}\n"
                 + to_toml(values, None if loaded.path is None else loaded.keys_in_file))
    return 0


def _proxy(args: argparse.Namespace) -> int:
    from station.tls_proxy import ProxyConfigError, render_nginx_site

    loaded = load_config(_config_arg(args))
    try:
        print(render_nginx_site(loaded.config, args.ca_cert), end="")
    except ProxyConfigError as exc:
        raise UserError(str(exc)) from None
    return 0
