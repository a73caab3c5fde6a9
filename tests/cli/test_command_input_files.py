"""Files given to the commands that read them, as an attacker or a slip of the hand would give them
(DESIGN.md §11): a line of megabytes to ``analyze`` and ``gait``, a named pipe, a device that never
ends and an oversize file to ``protocols check``, ``programmes check`` and ``config check``. Each is
one line naming the file, nothing waits for ever or reads without end, and a batch goes on to the
next file. (A directory, a named pipe, ``/dev/zero`` and a symbolic link that loops given to
``analyze`` and ``gait``: tests/cli/test_analyze.py and tests/store/test_reader_hardening.py.)"""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from station.cli import main
from station.store.trialfile import write_trial_csv

IMU_HEADER = "time_s,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s"


def _station_trial(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 3000
    write_trial_csv(path, {"time_s": np.arange(n) / 100.0, "ap_cm": np.cumsum(rng.normal(0, 0.01, n)),
                           "ml_cm": np.cumsum(rng.normal(0, 0.01, n))}, {"rate_hz": 100.0})
    return path


def _walk(path: Path) -> Path:
    k = np.arange(2000) / 100.0
    acc = np.column_stack((9.81 + 2.0 * np.cos(2 * np.pi * k / 0.55), 0.3 * np.sin(np.pi * k / 0.55),
                           0.8 * np.sin(2 * np.pi * k / 0.55)))
    gyro = np.column_stack((np.zeros(k.size), 5 * np.sin(np.pi * k / 0.55), np.zeros(k.size)))
    np.savetxt(path, np.column_stack((k, acc, gyro)), delimiter=",", fmt="%.6f", header=IMU_HEADER, comments="")
    return path


@pytest.mark.parametrize("command, header, good", [("analyze", "time_s,ap_cm,ml_cm", _station_trial),
                                                   ("gait", IMU_HEADER, _walk)])
@pytest.mark.parametrize("where", ["data", "header"])
def test_a_line_of_megabytes_is_refused_from_its_length_and_the_batch_goes_on(tmp_path, capsys, command, header,
                                                                               good, where):
    # 4 MB of values on one line: before, split into a million values (an 80 MB line took 1.6 GB and 50 s)
    # to be refused for their number; a header of 4 MB was read whole as a header
    long = tmp_path / "long.csv"
    long.write_text(header + "\n" + "0.0," * 1_000_000 + "\n" if where == "data" else "x" * 4_000_000)
    fine = good(tmp_path / "fine.csv")
    status = main([command, str(long), str(fine), "--format", "json", "--jobs", "1"])
    out, err = capsys.readouterr()
    results = json.loads(out)
    line = 2 if where == "data" else 1
    said = (f"line {line} runs over 32 KiB without a line break (from byte {32768 if where == 'data' else 0}): a "
            "recording's lines hold a few hundred characters; this is not one")
    assert status == 1
    assert results[0] == {"file": str(long), "error": said}
    assert "error" not in results[1]  # the next file was read
    assert err.splitlines()[0] == f"balance-station {command}: {long}: {said}"


def test_lines_up_to_32_kib_are_read(tmp_path):
    from station.store.trialfile import LINE_PROBE_BYTES, TrialFileError, read_trial

    path = _station_trial(tmp_path / "wide.csv")
    text = path.read_text().splitlines()
    extra = "x" * (LINE_PROBE_BYTES - 200)  # a column of its own: a header line of almost 32 KiB
    path.write_text("\n".join([text[0] + "," + extra] + [row + ",1" for row in text[1:]]) + "\n")
    assert read_trial(path, allow_gaps=True).extra[extra][0] == 1.0
    path.write_text("\n".join([text[0] + "," + extra * 3] + [row + ",1" for row in text[1:]]) + "\n")
    with pytest.raises(TrialFileError, match="line 1 runs over 32 KiB"):
        read_trial(path, allow_gaps=True)


class _Writer:
    """Writes ``text`` into a named pipe as soon as someone opens it to read (the old readers did,
    and waited for ever without a writer): the reader then sees a TOML file, not the refusal."""

    def __init__(self, fifo: Path, text: bytes):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(fifo, text), daemon=True)
        self.thread.start()

    def _run(self, fifo: Path, text: bytes) -> None:
        while not self.stop.wait(0.05):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no reader yet
                    continue
                raise
            try:
                os.write(fd, text)
            finally:
                os.close(fd)
            return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


COMMANDS = {
    "protocols": (["protocols", "check"], "balance-station protocols: {path}: {what}; give the protocol's .toml file "
                                          "itself"),
    "programmes": (["programmes", "check"], "balance-station programmes: {path}: {what}; give the path of a .toml file"),
    "config": (["config", "check", "--config"], "balance-station config: {path}: this {what}; give the path of the "
                                                ".toml file itself"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, capsys, command):
    argv, words = COMMANDS[command]
    fifo = tmp_path / "clinic.toml"
    os.mkfifo(fifo)
    writer = _Writer(fifo, b'[protocol]\nname = "x"\n')
    try:
        status = main([*argv, str(fifo)])
    finally:
        writer.close()
    err = capsys.readouterr().err
    assert status != 0
    assert err.strip() == words.format(path=fifo, what="is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_device_is_never_read(tmp_path, capsys, command):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    argv, words = COMMANDS[command]
    device = tmp_path / "clinic.toml"
    device.symlink_to("/dev/zero")  # read whole, it never ends: 9 GB within a minute before
    status = main([*argv, str(device)])
    err = capsys.readouterr().err
    assert status != 0
    assert err.strip() == words.format(path=device, what="is a character device, not a regular file")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_of_megabytes_is_refused_from_its_size(tmp_path, capsys, command):
    argv, words = COMMANDS[command]
    big = tmp_path / "clinic.toml"
    big.write_text('notes = "' + "x" * 2_000_000 + '"\n')  # a protocol or station.toml is a few kB
    status = main([*argv, str(big)])
    err = capsys.readouterr().err
    assert status != 0
    assert err.strip() == words.format(path=big, what="is 2.0 MB, over the 1.0 MB bound")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_restore_of_a_named_pipe_or_a_device_is_refused_without_reading_it(tmp_path, capsys, kind):
    given = tmp_path / "station-20261206-120000.sqlite3"
    if kind == "fifo":
        os.mkfifo(given)
        writer = _Writer(given, b"not a database")  # the old reader waited for a writer for ever
        what = "a named pipe (FIFO)"
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        given.symlink_to("/dev/zero")
        writer = None
        what = "a character device"
    try:
        status = main(["restore", str(given), "--yes", "--data-dir", str(tmp_path / "data")])
    finally:
        if writer is not None:
            writer.close()
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip() == (f"balance-station restore: {given}: is {what}, not a regular file, so not a station "
                           "backup; nothing was changed")
