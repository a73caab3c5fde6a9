"""The batch side of ``analyze`` and ``gait``: their shared options (``--jobs``, ``--dask``), running
the files (:mod:`station.batch`) and streaming each result to the output as it comes, in order.

Every file gives one result: ``{"file", ...}`` or ``{"file", "error"}``. Errors are also one line
each on stderr (``balance-station CMD: FILE: problem``), in file order, and a summary line ends a
batch with failures. JSON and CSV are written result by result (a JSON list byte for byte as
``json.dumps(results, indent=2)`` would write it), so no number of files is held in memory;
``--out`` is replaced atomically when the batch ends, never left half written (a device or named
pipe, e.g. ``/dev/stdout``, is written into instead; a link's target is replaced, the link kept).

Every command's standard output goes through :func:`output` (or :func:`write_stdout`, for a
document written at once: ``trial``, ``protocols``, ``programmes``, ``config show``): a full disk or a
reader that left early (``| head``) is one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from station.cli import UserError


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs N`` and ``--dask ADDRESS``."""
    parser.add_argument(
        "--jobs", "-j", type=int, metavar="N",
        help="worker processes on this machine (default: every core this process may use; 1 = no extra processes)",
    )
    parser.add_argument(
        "--dask", metavar="ADDRESS",
        help="run the files on an existing Dask cluster (scheduler address, e.g. tcp://host:8786); its workers need "
        "balance-station installed and the files at the same paths (pip install 'balance-station[dask]')",
    )


_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    r"""``text`` with its control characters (line breaks, escape sequences) written as Python escapes
    (``\n``, ``\x1b``): a file name from outside may hold them, and a report line must stay one line
    that says what it names (``evil\nbalance-station gait: all good.csv`` printed raw was two lines,
    the second a forged one).

    >>> print(one_line("walk\nbalance-station gait: 0 failed.csv: empty file"))
    walk\nbalance-station gait: 0 failed.csv: empty file
    """
    return _CONTROL_CHARACTERS.sub(lambda m: repr(m.group())[1:-1], text)


def usage_error(message: str) -> UserError:
    err = UserError(message)
    err.exit_status = 2
    return err


def check_batch_options(args: argparse.Namespace) -> None:
    """Usage errors of ``--jobs``/``--dask`` and ``--out`` (exit status 2), before any work."""
    jobs = getattr(args, "jobs", None)
    if jobs is not None and jobs < 1:
        raise usage_error(f"--jobs {jobs}: give at least 1 worker process")
    if jobs is not None and getattr(args, "dask", None):
        raise usage_error("--jobs and --dask: choose one (the cluster's workers decide the parallelism)")
    if args.out is not None:
        out_dir = Path(args.out).resolve().parent
        if Path(args.out).is_dir():
            raise usage_error(f"--out {args.out}: is a directory; give a file name")
        if not out_dir.is_dir():
            raise usage_error(f"--out {args.out}: directory {out_dir} does not exist; create it first")
        check_out_is_no_input(args.out, getattr(args, "paths", []))


_NOT_OVER_INPUTS = "the results are never written over the data they come from; give another file name"


def check_out_is_no_input(out: str, paths: list[str]) -> None:
    """Usage error (exit status 2) when ``--out`` is one of the batch's inputs: a file given, its
    JSON sidecar, or a trial file or sidecar of a directory given (the files ``analyze``/``gait``
    read there, :func:`station.commands.analyze.expand_paths`): replacing it would lose recorded
    data, and results in a sidecar not yet written would be read as the trial's metadata. Compared by
    real path (symbolic links followed both ways) and ``os.path.samefile`` (hard links)."""
    from station.commands.analyze import expand_paths
    from station.store.trialfile import sidecar_path

    for given in paths:
        inside = os.path.isdir(given)
        files = [f for f in expand_paths([given])[0] if f != given] if inside else [given]
        for file in files:
            name = os.path.basename(file)
            for protected, what in ((file, f"the trial file {name}" if inside else "the input file"),
                                    (str(sidecar_path(file)),
                                     f"the sidecar of the trial file {name}" if inside else "the sidecar of the input file")):
                if _same_file(out, protected):
                    where = f"of the input directory {given}" if inside else given
                    raise usage_error(f"--out {out}: is {what} {where}; {_NOT_OVER_INPUTS}")


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one file (the same real path, or the same inode)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be looked at): nothing there to replace
        return False


class JsonListWriter:
    """A JSON list written item by item: the same text as ``json.dumps(items, indent=2) + "\\n"``."""

    def __init__(self, stream):
        self.stream = stream
        self.count = 0

    def write(self, item: dict) -> None:
        try:
            text = _indented_json(item, 1)
        except _NotPlain:  # anything else json.dumps says how to write, or why it cannot
            text = json.dumps(item, indent=2, allow_nan=False).replace("\n", "\n  ")  # strings escape \n
        self.stream.write(("[\n  " if self.count == 0 else ",\n  ") + text)
        self.count += 1

    def close(self) -> None:
        self.stream.write("[]\n" if self.count == 0 else "\n]\n")


class _NotPlain(Exception):
    """A value :func:`_indented_json` leaves to ``json.dumps``."""


_json_string = json.encoder.encode_basestring_ascii  # json.dumps's own (C) string encoder, ensure_ascii
_FLOAT_REPR = float.__repr__


def _indented_json(value, depth: int) -> str:
    """``json.dumps(value, indent=2, allow_nan=False)`` as it reads nested ``depth`` levels deep
    (every line after the first indented by ``2 * depth`` more spaces), for the plain values a result
    holds: dicts with string keys, lists, strings, ints, finite floats, True, False, None. Anything
    else (a NaN, another type, a subclass) raises :class:`_NotPlain`, for ``json.dumps`` to write or
    refuse. ``json.dumps`` with an indent never uses its C encoder: 200 results of ``analyze`` took
    24 ms of the command's CPU that way, 10.5 ms this way (best of 5, the same text)."""
    kind = type(value)
    if kind is float:
        if value != value or value in (_INFINITY, -_INFINITY):
            raise _NotPlain
        return _FLOAT_REPR(value)
    if kind is str:
        return _json_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = "\n" + "  " * (depth + 1)
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            parts.append(_json_string(key) + ": " + _indented_json(item, depth + 1))
        return "{" + inner + ("," + inner).join(parts) + "\n" + "  " * depth + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = "\n" + "  " * (depth + 1)
        return "[" + inner + ("," + inner).join(_indented_json(item, depth + 1) for item in value) + "\n" + "  " * depth + "]"
    raise _NotPlain


_INFINITY = float("inf")


class CsvWriter:
    """One header, then one row per result (``row(result)`` gives the cells)."""

    def __init__(self, stream, header: list[str], row: Callable[[dict], list]):
        import csv

        self.writer = csv.writer(stream, lineterminator="\n")
        self.writer.writerow(header)
        self.row = row

    def write(self, item: dict) -> None:
        self.writer.writerow(self.row(item))

    def close(self) -> None:
        pass


class _OutputLost(Exception):
    """Standard output refused the results (not a closed pipe: a full disk, an I/O error)."""


class _StdoutForResults:
    """Standard output as the results' stream: a write or flush that fails with an ``OSError``
    other than a closed pipe raises :class:`_OutputLost` with its reason, so that it is told apart
    from any other ``OSError`` of the batch and reported in one line."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputLost(exc.strerror or str(exc)) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputLost(exc.strerror or str(exc)) from None


def _discard_stdout() -> None:
    """Point standard output at /dev/null: what is still buffered is lost anyway, and its flush at
    exit must not fail again (a second message, or a traceback)."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def output(out: str | None, *, keep_hint: str = "use --out FILE to keep every result") -> Iterator:
    """The stream results go to: stdout, or ``--out FILE`` replaced atomically at the end. A reader
    that leaves early (``| head``) ends the command with one line, ``keep_hint`` saying how to
    keep the whole output."""
    if out is None:
        stream = _StdoutForResults(sys.stdout)
        try:
            yield stream
            stream.flush()
        except BrokenPipeError:  # e.g. `analyze DIR | head`: the reader left; say so in one line
            _discard_stdout()
            raise UserError(f"the output was closed before the end (the reading program stopped); {keep_hint}") from None
        except _OutputLost as exc:  # e.g. `analyze DIR > FILE` on a full disk
            _discard_stdout()
            raise UserError(f"cannot write the output ({exc}); {keep_hint}") from None
        return
    try:
        with _out_writer(out) as stream:
            yield stream
    except OSError as exc:
        raise UserError(f"cannot write --out {out}: {exc.strerror or exc}") from None


def _out_writer(out: str):
    """The writer of ``--out``: a file (new, or an existing regular one) replaced atomically; a
    symbolic link is followed, its target replaced and the link kept; a device or named pipe that
    exists (``/dev/stdout``, ``/dev/null``, a FIFO) is written straight into, since it cannot be
    replaced. Before, every ``--out`` was replaced by renaming a temporary file over it: run as root,
    ``--out /dev/stdout`` or ``--out /dev/null`` put a regular file in place of the device (and a
    full disk behind ``/dev/full`` went unnoticed, exit status 0), and a link to a results file was
    replaced by a file of its own, the file it named left stale."""
    import stat

    from station.store.atomic import atomic_text_writer

    try:
        mode = os.stat(out).st_mode  # through the links: /dev/stdout to a pipe is a pipe
    except OSError:  # nothing there yet (or not reachable: the writer says why)
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return open(out, "w", encoding="utf-8", newline="")
    return atomic_text_writer(os.path.realpath(out))


REDIRECT_HINT = "redirect it to a file (> FILE) to keep it whole"
"""The ``keep_hint`` of :func:`write_stdout` for a command without ``--out``."""


def write_stdout(text: str, *, keep_hint: str = REDIRECT_HINT) -> None:
    """``text`` on standard output (after what is already there), flushed: a full disk, an I/O
    error or a reader that left early is a :class:`~station.cli.UserError` in one line, as
    :func:`output` says it (``keep_hint`` saying how to keep the whole text)."""
    with output(None, keep_hint=keep_hint) as stream:
        stream.write(text)


FILES_PER_WORKER_AT_LEAST = 2
"""Fewer files than this per worker process: fewer workers (1 or 3 files: analysed here)."""


@dataclass
class BatchOutcome:
    files: int
    failed: int


def lost_row(item: str, reason: str) -> dict:
    """The error row of a file whose worker failed (not the file's own error)."""
    return {"file": item, "error": reason}


def run_files(
    args: argparse.Namespace,
    *,
    command: str,
    files: list[str],
    task: Callable[[str], dict],
    write: Callable[[dict], None],
    progress_min_files: int,
    version: str,
    say_incomplete: bool = False,
) -> BatchOutcome:
    """Run ``task`` on every file (here, on ``--jobs`` processes or on the ``--dask`` cluster), hand each
    result to ``write`` in file order, report errors on stderr and show the progress bar;
    ``say_incomplete``: a result's ``incomplete`` (a trial cut short) is one line on stderr too, for a
    command whose output is for programs only (``gait``; ``analyze``'s table says it itself)."""
    from station.batch import DaskUnavailable, ProgressBar, connect_dask, default_jobs, run_dask, run_local, worker_versions

    progress = ProgressBar(len(files), label=command, min_files=progress_min_files)
    client = None
    if getattr(args, "dask", None):
        try:
            client = connect_dask(args.dask)
        except DaskUnavailable as exc:
            raise UserError(str(exc)) from None
        try:
            versions = worker_versions(client)
        except Exception as exc:
            client.close()
            raise UserError(f"--dask {args.dask}: cannot ask the workers their station version ({type(exc).__name__}: "
                            f"{exc}); is balance-station installed on every worker?") from None
        other = sorted({v for v in versions.values() if v != version})
        if not versions:
            client.close()
            raise UserError(f"--dask {args.dask}: the cluster has no workers; start some with `dask worker {args.dask}`")
        if other:
            client.close()
            raise UserError(f"--dask {args.dask}: the workers run balance-station {', '.join(other)}, this command "
                            f"{version}; install the same version everywhere (results must say which version made them)")
        # Workers may run elsewhere, in another directory: they get absolute paths, the output keeps
        # the names as given.
        resolved = (str(Path(f).absolute()) for f in files)
        results = run_dask(task, resolved, client=client, total=len(files), lost=lost_row)
    else:
        # a worker process is worth its start for two files or more (a file or two: this process)
        jobs = min(args.jobs or default_jobs(), max(1, len(files) // FILES_PER_WORKER_AT_LEAST))
        results = run_local(task, files, jobs=jobs, total=len(files), lost=lost_row)
    failed = 0
    try:
        progress.update(0, force=True)
        for done, (given, result) in enumerate(zip(files, results), start=1):
            result["file"] = given
            said = result.get("error") or (result.get("incomplete") if say_incomplete else None)
            if "error" in result:
                failed += 1
            if said:
                progress.clear()
                print(one_line(f"balance-station {command}: {result['file']}: {said}"), file=sys.stderr)
            write(result)
            progress.update(done, force=done == len(files))
    finally:
        results.close()
        progress.clear()
        if client is not None:
            client.close()
    return BatchOutcome(files=len(files), failed=failed)
