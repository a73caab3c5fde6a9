"""The station's web application (Flask app factory, blueprints per concern).

``web`` uses ``station``'s public API; nothing in ``station`` imports ``web`` (DESIGN.md §2).
"""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app.

    Parameters
    ----------
    test_config : dict, optional
        Settings that override the defaults (tests pass a temporary ``DATA_DIR`` here).
        ``STATION_LINK`` is the connection to the acquisition process (see
        :mod:`station.acquire.link`); without one, live pages report the acquisition as down.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DATA_DIR="./data", STATION_LINK=None)
    if test_config:
        app.config.from_mapping(test_config)

    from web import health

    app.register_blueprint(health.bp)
    return app
