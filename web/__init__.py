"""The station's web application (Flask app factory, blueprints per concern).

``web`` uses ``station``'s public API; nothing in ``station`` imports ``web`` (DESIGN.md §2).
Security (login required by default, CSRF, headers): :mod:`web.security`. The JSON API is
documented in ``docs/api.md``.
"""

from __future__ import annotations

import importlib
import time

from flask import Flask

from station.config import StationConfig
from station.store.passwords import DEFAULT_COST
from station.store.secret import load_or_create_secret_key
from station.store.store import Store
from station.store.timefmt import utc_iso

BLUEPRINT_MODULES = (
    "web.health", "web.auth", "web.api_patients", "web.api_trials", "web.api_admin",
    "web.api_station", "web.api_results", "web.live", "web.pages",
    "web.api_programmes", "web.programme_pages", "web.api_reports", "web.api_sync", "web.api_training",
)
"""Modules whose ``bp`` is registered, in order."""

LOGIN_WINDOW_S = 15 * 60
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 20
SETUP_ATTEMPTS_PER_ADDRESS = 10


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app.

    Parameters
    ----------
    test_config : dict, optional
        Settings that override the defaults (tests pass a temporary ``DATA_DIR`` here). Keys:

        ``DATA_DIR``
            The data directory (database, secret key); default ``./data``.
        ``STATION_LINK``
            The connection to the acquisition process (see :mod:`station.acquire.link`); without
            one, live pages report the acquisition as down. Passed through untouched.
        ``STATION_CONFIG``
            The :class:`~station.config.StationConfig` (session timeout default, TLS).
        ``ACQUISITION_SUPERVISOR``
            The :class:`~station.acquire.supervisor.AcquisitionSupervisor` whose restart counts
            ``/healthz`` shows; passed through untouched.
        ``TRIAL_SERVICE``
            The :class:`~station.protocols.service.TrialService` that runs protocols (the live
            view and the station controls); without one, those pages say the station is not
            running trials. Passed through untouched.
        ``STORE``
            An already opened :class:`~station.store.store.Store` to use (the service may share
            its store with the protocol engine); by default the app opens ``DATA_DIR`` as the
            service (lock, migrations, recovery of interrupted trials).
        ``SECRET_KEY``
            Default: generated once into ``<DATA_DIR>/secret_key`` (mode 0600).
        ``WALL_CLOCK``
            Time source in s (``time.time``), for login expiry and what is recorded.
        ``THROTTLE_CLOCK``
            Monotonic time in s (``time.monotonic``) of the rate limits (:mod:`web.throttle`), so
            that a step of the wall clock neither lengthens nor ends a lockout.
        ``PASSWORD_COST``
            scrypt cost of new password hashes (:class:`~station.store.passwords.ScryptCost`).
        ``TRUSTED_PROXIES``
            Reverse proxies in front (the TLS proxy): 1 when ``web.tls_cert`` is set, else 0.
            Client addresses (rate limits, audit) then come from ``X-Forwarded-For``, believed
            only on connections that ``PROXY_PEER_CHECK`` accepts.
        ``HUB``
            True when the app serves as the clinic network's hub: its store becomes the hub's
            and the stations' sync API and health page are mounted (:mod:`web.hub_api`).
        ``SYNC``
            At a station that syncs, its :class:`~station.sync.syncer.StationSync` (patients
            pulled from the hub by identifier); ``/healthz`` shows the queue either way.
        ``PROXY_PEER_CHECK``
            ``check(environ) -> bool``: is this connection the proxy's own? Default: a loopback
            connection owned by nginx's user (:func:`web.proxy.default_check`).
    """
    from web.security import init_app as init_security
    from web.throttle import KNOWN_FOR_S, LoginThrottle, SignInGuard
    from web.jsonio import install_converters, install_error_handlers
    from web.exposure import ExposureAudit
    from web.proxy import TrustedProxyFix
    from web.proxy import default_check as default_proxy_check

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATA_DIR="./data",
        STATION_LINK=None,
        ACQUISITION_SUPERVISOR=None,
        STATION_CONFIG=None,
        TRIAL_SERVICE=None,
        STORE=None,
        SECRET_KEY=None,
        WALL_CLOCK=time.time,
        THROTTLE_CLOCK=time.monotonic,
        PASSWORD_COST=DEFAULT_COST,
        TRUSTED_PROXIES=None,
        PROXY_PEER_CHECK=None,
        HUB=False,
        SYNC=None,
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_NAME="station_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=None,
    )
    if test_config:
        app.config.from_mapping(test_config)
    config = app.config["STATION_CONFIG"] or StationConfig()
    app.config["STATION_CONFIG"] = config
    tls = config.web.tls_cert is not None
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = tls
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies is None:
        proxies = 1 if tls else 0
    if proxies:
        check = app.config["PROXY_PEER_CHECK"] or default_proxy_check()
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, check, hops=proxies)

    store = app.config["STORE"]
    if store is None:
        store = Store.open_service(
            app.config["DATA_DIR"],
            config=config,
            wall_clock=app.config["WALL_CLOCK"],
            password_cost=app.config["PASSWORD_COST"],
        )
    app.extensions["station_store"] = store
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = load_or_create_secret_key(store.data_dir)
    clock = app.config["THROTTLE_CLOCK"]
    guard = app.extensions["station_sign_in_guard"] = SignInGuard(
        clock, window_s=LOGIN_WINDOW_S, per_pair=LOGIN_FAILURES_PER_ACCOUNT, per_address=LOGIN_FAILURES_PER_ADDRESS
    )
    now_s = app.config["WALL_CLOCK"]()  # the addresses each account signed in from lately are not paced
    guard.remember_sign_ins(store.audit.query(action="user.login", since=utc_iso(now_s - KNOWN_FOR_S), limit=1000), now_s)
    app.extensions["station_exposure_audit"] = ExposureAudit(store.audit)
    app.extensions["station_setup_throttle"] = LoginThrottle(SETUP_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW_S, clock)
    app.extensions["station_password_change_throttle"] = LoginThrottle(LOGIN_FAILURES_PER_ACCOUNT, LOGIN_WINDOW_S, clock)

    @app.before_request
    def _make_room() -> None:
        """On a (nearly) full disk the space reserve goes before this request writes, so the request
        that releases it goes through (:meth:`station.store.space.SpaceMonitor.make_room`)."""
        store.space.make_room()

    init_security(app)
    install_error_handlers(app)
    install_converters(app)
    for name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)
    if app.config["HUB"]:
        from web.hub_api import init_hub

        init_hub(app)
    return app
