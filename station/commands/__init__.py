"""Sub-commands of ``balance-station``: one module per command (or command group).

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning the exit status). :mod:`station.cli`
discovers the modules of this package, so adding a command is adding a module.
"""
