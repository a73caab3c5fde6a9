"""Error pages in the station's style for the HTML pages (the API keeps its JSON errors).

:func:`error_page` renders ``error.html``: a title, what happened and what to do in plain words,
the status code and the address, and the way back. Used for unknown addresses (404), refused
methods (405), pages of another role and expired forms (403), bodies too large (413), a busy
station (503), a full disk (507) and unexpected errors (500). If the page itself cannot be drawn
(e.g. the database does not answer), the same words go out as one line of plain text.
"""

from __future__ import annotations

from flask import Response, render_template

TITLES = {
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible here",
    413: "Too much data",
    500: "Something went wrong",
    503: "The station is busy",
    507: "The station's disk is full",
}
WORDS = {
    403: "Your account cannot open this. Ask an administrator if you need it.",
    404: "There is no page at this address. It may have been mistyped, or the record erased.",
    405: "This address does not accept that kind of request. Go back and use the page's buttons.",
    500: "The station could not show this page. Try again; if it keeps happening, tell the administrator "
         "(the station's log has the details).",
}


def error_page(code: int, words: str | None = None, detail: str = "") -> Response:
    """The error page for ``code`` with ``words`` (default: the usual words for the code) and a
    technical ``detail`` in small print (for whoever looks after the station)."""
    title = TITLES.get(code, TITLES[500])
    text = words or WORDS.get(code, WORDS[500])
    try:
        from web.security import current_user

        user = current_user()
        body = render_template("error.html", title=title, words=text, code=code, detail=detail,
                               is_admin=user is not None and user.role == "admin")
    except Exception:  # the page cannot be drawn (store down): the words still reach the person
        return Response(f"{title}: {text}" + (f" ({detail})" if detail else ""), code, mimetype="text/plain")
    return Response(body, code, mimetype="text/html")
