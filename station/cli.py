"""The ``balance-station`` command.

Sub-commands live in :mod:`station.commands` (one module each, discovered here). Errors the user
can act on are raised as :class:`UserError` and printed as one line, never as a traceback. Exit
status: 0 success, 1 failure of the work itself, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import NoReturn

from station import __version__


class UserError(Exception):
    """An error with a message for the user (what happened and what to do); exit status 1."""

    exit_status = 1


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just the command module of that name (a faster start:
    the other commands' imports are not paid; see :func:`main`)."""
    parser = argparse.ArgumentParser(
        prog="balance-station",
        description="Force-plate balance station: acquisition, analysis and clinic dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"balance-station {__version__}")
    parser.add_argument("--config", metavar="FILE", default=None, help=CONFIG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import station.commands as commands_pkg

    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or (only is not None and info.name != only):
            continue
        module = importlib.import_module(f"station.commands.{info.name}")
        module.register(subparsers)
    _accept_config_after_command(parser)
    return parser


CONFIG_HELP = (
    "configuration file (default: $BALANCE_STATION_CONFIG, else /etc/balance-station/station.toml "
    "if it exists, else built-in defaults); accepted before or after the command"
)


def _accept_config_after_command(parser: argparse.ArgumentParser) -> None:
    """Give every (sub-)command the global ``--config FILE`` too, so it may follow the command
    name. ``SUPPRESS`` keeps a sub-command's absent option from overwriting a ``--config`` given
    before the command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if "--config" not in sub._option_string_actions:
                    sub.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
                _accept_config_after_command(sub)


DATA_DIR_FREE = frozenset({"analyze", "bench", "config", "gait"})
"""Commands that never open the data directory (every other one may)."""


def _act_as_data_dir_owner(args: argparse.Namespace) -> None:
    """Run as root, become the data directory's owner before the command touches it, so that a
    link or file planted there by that user can never make root open, create or chown anything
    (:func:`station.store.datadir.act_as_owner`). Says so in one line on standard error."""
    if os.geteuid() != 0 or args.command in DATA_DIR_FREE:
        return
    from station.commands._common import load_config
    from station.store.datadir import act_as_owner

    data_dir = load_config(args).data_dir
    try:
        user = act_as_owner(data_dir)
    except OSError as exc:
        raise UserError(
            f"running as root, could not become the owner of {data_dir} ({exc.strerror or exc}); run the command as "
            "that user instead (sudo -u <owner> balance-station ...)"
        ) from None
    if user is not None:
        args.acting_as = user
        print(f"balance-station {args.command}: running as {user}, the owner of {data_dir}, not as root",
              file=sys.stderr)


def _named_command(argv: list[str]) -> str | None:
    """The command of ``argv`` when nothing but ``--config FILE`` comes before it, else None."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--config":
            next(tokens, None)
        elif token.startswith("--config="):
            continue
        elif token.startswith("-"):
            return None  # --help, --version, ...: the whole command line
        else:
            return token
    return None


def _parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """Only the named command's module when it registers that command (``analyze`` starts without
    importing the web server's, the simulation's or the accounts' modules); else every command."""
    command = _named_command(argv)
    if command and command.isidentifier():
        parser = build_parser(only=command)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                return parser
    return build_parser()


def main(argv: list[str] | None = None) -> int:
    """Run the command of ``argv`` (default: ``sys.argv[1:]``); its exit status."""
    return _run(argv)[0]


def _run(argv: list[str] | None) -> tuple[int, argparse.Namespace | None]:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2, None
    try:
        _act_as_data_dir_owner(args)
        return int(args.func(args) or 0), args
    except UserError as exc:
        print(f"balance-station {args.command}: {exc}", file=sys.stderr)
        return exc.exit_status, args
    except KeyboardInterrupt:
        print(f"balance-station {args.command}: interrupted", file=sys.stderr)
        return 130, args
    except PermissionError as exc:  # a file of the data directory this user may not read
        if exc.filename is None:
            raise
        from station.store.datadir import run_as_owner_words

        print(f"balance-station {args.command}: cannot open {exc.filename}: permission denied"
              f"{run_as_owner_words(exc.filename, exc)}", file=sys.stderr)
        return 1, args
    except ImportError as exc:
        user = getattr(args, "acting_as", None)
        if user is None:
            raise
        print(f"balance-station {args.command}: running as {user}, Python could not load {exc.name or exc} (its files "
              f"are not readable by {user}); run the command as {user} (sudo -u {user} balance-station ...), or with "
              "a Python every user may read (the installed /opt/balance-station/venv)", file=sys.stderr)
        return 1, args


def console(argv: list[str] | None = None) -> NoReturn:
    """The ``balance-station`` program (and ``python -m station.cli``): :func:`main`, then the
    process ends with its exit status.

    A command that sets ``exit_at_once`` (``analyze`` and ``gait``, whose work is done and whose output is
    flushed and closed when it returns: ``--out`` renamed into place, worker processes joined)
    ends with :func:`os._exit` once standard output and standard error are flushed, instead of
    the interpreter's shutdown, which frees every object of numpy, pyarrow and the rest one by
    one: after ``analyze`` of 200 files, 44 ms of wall time, 41 ms of CPU and 3,900 page faults
    against 5 ms, 5 ms and 21 (``benchmarks/analysis_exit.py``, medians of 6 alternating runs),
    for nothing the command still needs. A last flush that fails (a full disk, a closed pipe) is
    one line on standard error and exit status 1 (the interpreter's shutdown would print an
    "Exception ignored" traceback and exit with 120)."""
    status, args = _run(argv)
    if not getattr(args, "exit_at_once", False):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: already closed
            if stream is sys.stdout:
                status = status or 1
                _report_lost_output(args.command, exc)
    os._exit(status)


def _report_lost_output(command: str, exc: Exception) -> None:
    """One line on standard error (if it can still be written) saying the output is incomplete."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    try:
        sys.stderr.write(f"balance-station {command}: the output could not be written to the end ({reason}); "
                         "use --out FILE to keep every result\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    # ``python -m station.cli``: run the imported module's console, so that the commands' UserError
    # (station.cli.UserError) is the class main catches, not a copy in __main__.
    from station.cli import console as _console

    _console()
