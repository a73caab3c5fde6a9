"""``balance-station config {check,show,proxy}``: validate, display and use the configuration file.

``check`` exits 0 when the file is valid and 1 with every error (key, value, what is allowed, file
and line), or when it holds ``[hub] token`` yet other users may read it (the check ``sync`` and
``run`` make before using the token). ``show`` prints the values in effect as TOML (keys the file does not set are marked
``# default``; secrets hidden). ``proxy`` prints the nginx site that serves the station over HTTPS
(:mod:`station.tls_proxy`; used by ``systemd/install.sh``). Which file: ``--config FILE``, else
``$BALANCE_STATION_CONFIG``, else ``/etc/balance-station/station.toml`` if present, else the
built-in development defaults.

``check --json [--ca-cert FILE]`` answers all three in one start (``systemd/install.sh`` reads it: each start of
the CLI costs a Pi seconds): on a valid file one JSON object, the check's words (``valid``), ``file`` and ``config``
as ``show --json`` has them, and ``proxy``, the nginx site (``{"site": TEXT}``) or, where ``proxy`` would refuse,
its one-line error and exit status (``{"error": WORDS, "exit_status": 1}``); an invalid file is refused as ``check``
refuses it (its errors on stderr, exit 1, nothing on stdout); warnings on stderr as ``check``'s.
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
    check.add_argument("--json", action="store_true",
                       help="on a valid file, one JSON object: the check's words, the values in effect (as show --json) "
                            "and the nginx site or the error proxy would give (for systemd/install.sh)")
    _ca_cert_option(check, " (with --json)")
    check.set_defaults(func=_check)

    show = actions.add_parser("show", help="print the values in effect (secrets hidden)")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of TOML")
    show.set_defaults(func=_show)

    proxy = actions.add_parser("proxy", help="print the nginx site that serves the station over HTTPS")
    _ca_cert_option(proxy)
    proxy.set_defaults(func=_proxy)


def _ca_cert_option(parser: argparse.ArgumentParser, when: str = "") -> None:
    parser.add_argument(
        "--ca-cert", metavar="FILE", type=Path, default=None,
        help=f"local CA certificate offered at http://<station>/ca.crt (default: ca.crt beside web.tls_cert){when}",
    )


def _config_arg(args: argparse.Namespace) -> str | None:
    """The global ``--config FILE`` (station.cli accepts it before or after the command)."""
    return getattr(args, "config", None)


def _check(args: argparse.Namespace) -> int:
    from station.commands._hub_token import check_config_holding_token

    loaded = load_config(_config_arg(args))  # ConfigError (a UserError) lists every problem
    if loaded.config.hub.token:
        check_config_holding_token(loaded.path)  # a UserError naming the mode and the fix
    if loaded.path is None:
        words = ("no configuration file (none given, $BALANCE_STATION_CONFIG unset, "
                 "/etc/balance-station/station.toml absent): the built-in defaults are valid")
    else:
        words = f"{loaded.path}: valid ({len(loaded.keys_in_file)} settings, the rest default)"
    if args.json:
        try:
            proxy = {"site": _nginx_site(loaded.config, args.ca_cert)}
        except UserError as exc:  # what `config proxy` would say and exit with
            proxy = {"error": str(exc), "exit_status": exc.exit_status}
        write_stdout(json.dumps({"valid": words, **_shown(loaded), "proxy": proxy}, indent=2) + "\n")
    else:
        print(words)
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
    if args.json:
        write_stdout(json.dumps(_shown(loaded), indent=2) + "\n")
        return 0
    source = "built-in defaults (no configuration file)" if loaded.path is None else str(loaded.path)
    write_stdout(f"# Configuration in effect, from {source}\n"
                 + to_toml(effective_values(loaded.config), None if loaded.path is None else loaded.keys_in_file))
    return 0


def _shown(loaded) -> dict:
    """``show --json``'s document: the file read (None: the built-in defaults) and the values in effect (secrets
    hidden)."""
    return {"file": None if loaded.path is None else str(loaded.path), "config": effective_values(loaded.config)}


def _nginx_site(config, ca_cert: Path | None) -> str:
    """The nginx site of ``config`` (:func:`station.tls_proxy.render_nginx_site`); a :class:`UserError` with its
    words where it cannot be made (no certificate set, a path nginx cannot quote)."""
    from station.tls_proxy import ProxyConfigError, render_nginx_site

    try:
        return render_nginx_site(config, ca_cert)
    except ProxyConfigError as exc:
        raise UserError(str(exc)) from None


def _proxy(args: argparse.Namespace) -> int:
    loaded = load_config(_config_arg(args))
    print(_nginx_site(loaded.config, args.ca_cert), end="")
    return 0
