"""Balance station: force-plate and IMU acquisition, sway analysis and clinic workflow.

The package is organised as in DESIGN.md §2: ``hw`` (chip drivers), ``sim`` (register-level
simulation), ``acquire`` (the acquisition process), ``analysis`` (pure numpy metrics),
``protocols`` (clinical tests), ``store`` (SQLite and trial files), ``cli`` (the command).
"""



def __getattr__(name: str) -> str:
    """``station.__version__``: the release and the commit this software was built from
    (``0.1.0+g1a2b3c4d5e``, :mod:`station.version`), worked out at its first use (PEP 562), so that
    importing ``station.analysis`` loads no other station module (DESIGN §2: analysis stands alone)."""
    if name == "__version__":
        from station.version import running_version

        globals()["__version__"] = version = running_version()
        return version
    raise AttributeError(f"module 'station' has no attribute {name!r}")
