"""A download's response and its file name.

A browser keeps a download's file name in its list of downloads (and in the folder it saved it to): on a
clinic's shared tablet, where the next user opens that list, a name that carries the patient's identifier
(often a hospital number or initials) gives it away. A patient's file is named by the patient's internal
number on this station (or hub), what it is and the clinic's day it was downloaded,
``patient-12-history-2026-12-06.csv``; the identifier stays inside the file. The command line's files
(``balance-station export``, ``report``: written where an administrator chose) keep their names.
"""

from __future__ import annotations

from flask import Response, current_app

from station.store.timefmt import local_day


def attachment(content, mimetype: str, filename: str) -> Response:
    """``content`` as a download named ``filename`` (a name of ``[A-Za-z0-9._-]`` only)."""
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def patient_file_name(patient_id: int, what: str, extension: str) -> str:
    """A patient's download's name without identifying data: ``patient-<id>-<what>-<YYYY-MM-DD>.<extension>``, the day
    the clinic's (:func:`~station.store.timefmt.local_day` of the app's ``WALL_CLOCK``): what a clinician tells two
    downloads apart by, nobody else the patient."""
    return f"patient-{int(patient_id)}-{what}-{local_day(current_app.config['WALL_CLOCK']())}.{extension}"
