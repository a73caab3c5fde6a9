"""``balance-station run``: the station daemon (acquisition process + web server)."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path


DEFAULT_SCENARIO = "patient"
"""Who stands on the simulated plate when ``--simulate`` names no ``--scenario``: the virtual
patient who follows every protocol run on the dashboard (steps on, closes the eyes, stands on the
foam, lifts a foot), so that the demo shows real tests."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the station: acquisition and the web dashboard")
    parser.add_argument("--simulate", action="store_true", help="use the simulated plate and IMU with a virtual person")
    parser.add_argument("--replay", metavar="FILE", help="simulated plate replaying a recorded trial (implies --simulate)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    parser.add_argument("--timing", choices=("ideal", "pi-under-load"), default="ideal",
                        help="with --simulate: wake-ups as this machine gives them, or made late like a Pi 4 under load")
    parser.add_argument("--host", help="address to listen on (default from the configuration: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default from the configuration: 8000)")
    parser.add_argument("--data-dir", type=Path, help="where the database and trials are kept")
    from station.sim.scenarios import SCENARIOS

    parser.add_argument(
        "--scenario", choices=sorted(SCENARIOS), metavar="NAME",
        help="with --simulate, who stands on the simulated plate (demo and browser tests): "
        + "; ".join(f"{s.name}: {s.description}" for s in SCENARIOS.values()) + f" (default {DEFAULT_SCENARIO})",
    )
    parser.add_argument("--fault", action="append", default=[], metavar="KIND:AFTER_S[:FOR_S]",
                        help="with --simulate: the simulated station fails AFTER_S into the first walk trial recorded on "
                             "the dashboard: stall (the acquisition loop blocked for FOR_S) or imu-unplugged (the "
                             "lower-back sensor's cable out, back after FOR_S if given); repeatable")
    from station.commands.sync import add_hub_arguments

    add_hub_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from station.acquire.process import (
        AcquisitionProcess,
        AcquisitionSpec,
        AcquisitionStartError,
        remove_stale_rings,
        ring_name_for,
    )
    from station.acquire.source import RingFrameSource
    from station.cli import UserError
    from station.commands._common import load_config

    config = load_config(args)
    web = config.web
    if args.host:
        web = replace(web, host=args.host)
    if args.port is not None:
        if not 0 < args.port < 65536:
            raise UserError(f"--port must be between 1 and 65535, got {args.port}")
        web = replace(web, port=args.port)
    config = replace(config, web=web)
    data_dir = Path(config.data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the data directory {data_dir}: {exc.strerror}") from None
    simulate = bool(args.simulate or args.replay)
    if args.replay and not Path(args.replay).is_file():
        raise UserError(f"{args.replay}: no such file to replay")
    if getattr(args, "scenario", None) and (not args.simulate or args.replay):
        raise UserError("--scenario chooses who stands on the simulated plate: use it with --simulate (and without --replay)")
    if getattr(args, "timing", "ideal") != "ideal" and not simulate:
        raise UserError("--timing makes the simulated station's wake-ups late like a Pi's: use it with --simulate")
    scenario = getattr(args, "scenario", None) or (DEFAULT_SCENARIO if args.simulate and not args.replay else None)
    faults = _faults(getattr(args, "fault", []), scenario)
    listener = _bind(config.web.host, config.web.port)
    try:
        store = _open_store(data_dir, config)
    except BaseException:
        listener.close()
        raise
    try:
        sync_worker = _start_sync(args, config, store)
    except BaseException:
        store.close()
        listener.close()
        raise

    for name in remove_stale_rings():
        print(f"balance-station: removed the shared memory {name} left by a station that was killed", file=sys.stderr)
    hardware = None
    if simulate:
        from station.sim.station import SimulatedHardwareRecipe

        hardware = SimulatedHardwareRecipe(seed=args.seed, replay=args.replay, scenario=scenario,
                                           timing=getattr(args, "timing", "ideal"), faults=faults)
    spec = AcquisitionSpec(
        config=config,
        ring_name=ring_name_for(os.getpid()),
        hardware=hardware,
        data_dir=str(data_dir),
    )
    acquisition = AcquisitionProcess(spec)
    print(f"balance-station: starting acquisition ({'simulated hardware' if simulate else 'I2C bus ' + str(config.acquisition.bus)})", file=sys.stderr)
    try:
        acquisition.start()
    except AcquisitionStartError as exc:
        store.close()
        listener.close()
        raise UserError(f"the acquisition could not start: {exc}") from None

    link = RingFrameSource(spec.ring_name, config.acquisition.rate_hz)
    from waitress.server import create_server

    from web import create_app

    service = _start_trial_service(config, data_dir, link, store, acquisition, hardware)
    from station.acquire.supervisor import AcquisitionSupervisor

    # restarts the acquisition process if it dies (bounded; counted in /healthz)
    supervisor = AcquisitionSupervisor(acquisition, readers=(link, service.source))
    app = create_app({"DATA_DIR": str(data_dir), "STATION_LINK": link, "STATION_CONFIG": config, "STORE": store,
                      "TRIAL_SERVICE": service, "ACQUISITION_SUPERVISOR": supervisor,
                      "SYNC": None if sync_worker is None else sync_worker.sync})
    from station.commands._serve import serve_until_stopped
    from station.tls_proxy import direct_access_warning, waitress_proxy_options

    # Behind the HTTPS proxy, waitress takes the tablet's address from nginx's X-Forwarded-For
    # (login rate limits and the audit log are per client).
    from web.jsonio import SERVER_LIMITS

    server = create_server(
        app, threads=32, ident="balance-station", sockets=[listener], **waitress_proxy_options(config),
        **SERVER_LIMITS,
    )
    stopping = threading.Event()
    watchdog = _start_watchdog(link, acquisition, stopping)
    threading.Thread(target=supervisor.run, args=(stopping,), name="acquisition-supervisor", daemon=True).start()
    warning = direct_access_warning("balance-station", config.web.host, config.web.port)
    if warning:
        print(warning, file=sys.stderr)
    print(f"balance-station: serving on http://{config.web.host}:{config.web.port}/", file=sys.stderr)
    try:
        serve_until_stopped(server, stopping)
    finally:
        stopping.set()
        server.close()
        if watchdog is not None:
            watchdog.join(2)
        service.shutdown()
        if sync_worker is not None:
            sync_worker.stop()
        link.close()
        acquisition.stop()
        store.close()
        print("balance-station: stopped", file=sys.stderr)
    return 0


def _faults(texts: list[str], scenario: str | None) -> tuple:
    """The ``--fault`` options parsed (:func:`station.sim.faults.parse_fault`, as ``trial`` does);
    UserError in one line when they cannot apply."""
    if not texts:
        return ()
    from station.cli import UserError
    from station.sim.faults import parse_fault
    from station.sim.scenarios import SCENARIOS

    if scenario is None or not SCENARIOS[scenario].follows:
        raise UserError("--fault makes the simulated station fail during a walk trial: use it with --simulate and a "
                        f"scenario whose virtual patient follows the tests (e.g. --scenario {DEFAULT_SCENARIO})")
    try:
        return tuple(parse_fault(text) for text in texts)
    except ValueError as exc:
        raise UserError(f"--fault {exc}") from None


def _bind(host: str, port: int, *, another_port: str = "--port 8001, or `make run PORT=8001` in a checkout"):
    """The web server's listening socket, bound before anything else starts, so that a port in
    use is one line for the user (and no acquisition is started for nothing); ``another_port``
    says how the command that serves is given another port."""
    import socket

    from station.cli import UserError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"cannot listen on {host}: {exc.strerror}; give another --host") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            what = "is already in use (another station or program listens there)" if exc.errno == errno.EADDRINUSE \
                else "needs more rights than this user has"
            raise UserError(f"port {port} on {host} {what}; choose another ({another_port}) or stop the other "
                            "program") from None
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _start_sync(args, config, store):
    """The background sync to the hub (:class:`station.sync.syncer.SyncWorker`), started; None
    when no hub is configured ([hub] url and token, or --hub and --hub-token)."""
    from station.commands.sync import hub_settings, station_sync
    from station.sync.syncer import SyncWorker

    hub = hub_settings(args, config)
    sync = station_sync(store, hub)
    if sync is None:
        return None
    print(f"balance-station: syncing with the hub at {sync.client.url} every {hub.interval_s:g} s", file=sys.stderr)
    return SyncWorker(sync, interval_s=hub.interval_s).start()


def _open_store(data_dir: Path, config):
    """The clinic store, opened as the station service (DataDirLocked when another station uses
    the data directory: one line for the user)."""
    from station.cli import UserError
    from station.store.db import StoreError
    from station.store.store import Store

    try:
        return Store.open_service(data_dir, config=config)
    except StoreError as exc:
        raise UserError(str(exc)) from None


def _start_trial_service(config, data_dir: Path, link, store, acquisition, recipe):
    """The trial service on its own ring reader, with the station panel and the walkway's light
    gates when there is GPIO; a scenario's virtual patient in the acquisition process follows its
    events, and (simulated) its walks break simulated gates here."""
    from station.acquire.source import RingFrameSource
    from station.protocols.service import TrialService, open_panel

    source = RingFrameSource(link.ring_name, link.rate_hz)
    simulated_gates = _simulated_gates(config, data_dir, source, recipe) if acquisition.follows_protocols else None
    if simulated_gates is not None:
        gates = simulated_gates.gates
    elif recipe is not None:
        gates = None  # a simulated station without a walker (no scenario that follows the tests)
    else:
        gates = _open_gates(config, source.clock)
    panel, reason = open_panel(config.panel, source.clock)
    mounting = (config.imu.mounting_up, config.imu.mounting_toes)
    if recipe is not None:
        from station.sim.walker import SENSOR_MOUNTING

        mounting = SENSOR_MOUNTING  # the simulated sensor is worn as the simulation wears it
    service = TrialService(source, store, calibration=acquisition.calibration or {}, protocols_dir=data_dir / "protocols",
                           panel=panel, panel_reason=reason, gates=gates, mounting=mounting,
                           plate_width_cm=config.plate.width_cm)
    if acquisition.follows_protocols:
        service.bus.subscribe(acquisition.forward_event)
    if simulated_gates is not None:
        service.bus.subscribe(simulated_gates.on_event)
        service.add_tick(simulated_gates.tick)
    service.start()
    where = "station panel on GPIO" if panel else "no station panel on this computer: start and stop trials on the dashboard"
    print(f"balance-station: trial service running ({where})", file=sys.stderr)
    return service


def _open_gates(config, clock):
    """The walkway's light gates on GPIO (gpiozero's default pin factory), or None where there is
    no GPIO or none is configured (walk tests then say so when started)."""
    import warnings

    from gpiozero.exc import GPIOZeroError

    from station.hw.gates import GateArray

    if not config.panel.gates:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return GateArray(config.panel.gates, clock=clock)
        except (GPIOZeroError, OSError) as exc:
            print(f"balance-station: no light gates (no usable GPIO: {exc})", file=sys.stderr)
            return None


def _simulated_gates(config, data_dir: Path, source, recipe):
    """The simulated walkway: gates at every position the walk tests time with (the configured
    ones plus the missing ones), broken by the scenario's virtual walks."""
    from station.protocols.loader import builtin_protocols
    from station.sim.scenarios import SCENARIOS, ScenarioGates, simulated_gate_configs

    positions = [p for protocol in builtin_protocols().values() if protocol.walk for p in protocol.walk.gates_m]
    panel = config.panel
    gate_configs = simulated_gate_configs(panel.gates, positions, (panel.button_pin, panel.buzzer_pin, panel.led_pin))
    return ScenarioGates(SCENARIOS[recipe.scenario], gate_configs, source.clock, seed=recipe.seed,
                         protocols_dir=data_dir / "protocols")


def _start_watchdog(link, acquisition, stopping: threading.Event):
    """Tell systemd when frames flow (READY=1) and feed its watchdog only while they keep
    arriving; without systemd ($NOTIFY_SOCKET unset) this only checks and sends nothing."""
    from station.sdnotify import ServiceWatchdog

    def frames() -> int:
        return int(link.health().get("frames", 0)) if acquisition.is_alive() else -1

    watchdog = ServiceWatchdog(link.health, frames_counter=frames)
    thread = threading.Thread(target=watchdog.run, args=(stopping,), name="systemd-watchdog", daemon=True)
    thread.start()
    return thread
