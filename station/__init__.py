"""Balance station: force-plate and IMU acquisition, sway analysis and clinic workflow.

The package is organised as in DESIGN.md §2: ``hw`` (chip drivers), ``sim`` (register-level
simulation), ``acquire`` (the acquisition process), ``analysis`` (pure numpy metrics),
``protocols`` (clinical tests), ``store`` (SQLite and trial files), ``cli`` (the command).
"""

__version__ = "0.1.0"
