"""Balance station: force-plate and IMU acquisition, sway analysis and clinic workflow.

The package is organised as in DESIGN.md §2: ``hw`` (chip drivers), ``sim`` (register-level
simulation), ``acquire`` (the acquisition process), ``analysis`` (pure numpy metrics),
``protocols`` (clinical tests), ``store`` (SQLite and trial files), ``cli`` (the command).
"""

from station.version import running_version as _running_version

__version__ = _running_version()
"""The release and the commit this software was built from (``0.1.0+g1a2b3c4d5e``): :mod:`station.version`."""
