"""Refusing guessable passwords (OWASP ASVS 4.0 V2.1.7, NIST SP 800-63B §5.1.1.2).

:func:`weakness` says why a candidate password is too easy to guess, or returns None. It checks,
case-insensitively and ignoring spaces:

- a compact list of the passwords attackers try first (:data:`COMMON_PASSWORDS`: the most frequent
  entries of public breach lists that are 10 characters or longer, plus words of this product and
  its setting such as ``balance``, ``station``, ``clinic``, ``physio``, each also with digits or
  symbols around it: ``password12``, ``Welcome2024!``, ``!station123``);
- a single character or a short unit repeated (``aaaaaaaaaa``, ``abcabcabca``, ``nope nope nope``);
- runs along the alphabet, the digits or a keyboard row, forwards or backwards
  (``1234567890``, ``abcdefghij``, ``qwertyuiop``, ``0987654321``, ``1qaz2wsx3edc``);
- fewer than 5 different characters (``1122334411``).

The list is bundled (no network on the station); it is short on purpose, because with the
10-character minimum the bulk of breach lists is already refused by length, and the patterns
catch their long tail of keyboard walks and repetitions. A passphrase of ordinary words
(``admin password 123``, ``a long password``) is accepted: it is the length that protects it.
"""

from __future__ import annotations

import re

BASE_WORDS = frozenset(
    """password passw0rd p@ssword p@ssw0rd pass passwd secret letmein welcome welcome1 iloveyou
    qwerty qwertz azerty admin administrator root user guest login changeme default master
    monkey dragon football baseball shadow sunshine princess superman batman trustno1 starwars
    whatever freedom computer internet michael jennifer jordan hunter ranger soccer hockey killer
    charlie thomas george summer winter spring autumn flower cheese chocolate pokemon
    balance station balancestation clinic physio physiotherapy therapy hospital doctor nurse
    patient health medical rehab forceplate sway raspberry raspberrypi pi""".split()
)
"""Words that, alone or with digits and symbols around them, make a guessable password."""

COMMON_PASSWORDS = frozenset(
    """1234567890 0123456789 12345678910 123456789a a123456789 1234567890a qwertyuiop
    1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc qazwsxedc qazwsxedcrfv zaq12wsx zaq1zaq1zaq1
    asdfghjkl asdfghjkl1 zxcvbnm123 qwerty123456 qwertyuiop1 iloveyou12 iloveyou123
    password12 password123 password1234 password12345 password1! passwordpassword
    abcdefghij abc1234567 abcd123456 a1b2c3d4e5 1a2b3c4d5e aa12345678 11111111111 1111111111
    0000000000 9876543210 5555555555 7777777777 1212121212 1231231231 123123123123
    147258369 1472583690 741852963 9638527410 3141592653 1234qwer 1234qwerasdf qwer1234qwer
    letmein123 welcome123 welcome2024 welcome2025 welcome2026 changeme123 administrator
    admin12345 admin123456 adminadmin rootroot123 guestguest superuser123 trustno1trustno1
    football12 baseball12 starwars12 dragon1234 monkey1234 sunshine12 princess12 michael123
    jennifer12 computer12 internet12 whatever12 freedom123 chocolate1 pokemon123 liverpool1
    manchester chelsea123 barcelona1 realmadrid1 juventus10 arsenal123 1qazxsw23edc
    jesus12345 christ1234 blessed123 princesa12 tequiero12 teamo12345 mustang123 harley1234
    unknown123 secret1234 passw0rd12 p@ssw0rd12 p@ssword12 passpass12 testtest12 test123456
    spring2024 summer2024 autumn2024 winter2024 spring2025 summer2025 autumn2025 winter2025
    january2025 february2025 december2024 clinic1234 station123 balance123 physio2025""".split()
)
"""Frequent long passwords of public breach lists, lower case and without spaces."""

_ROWS = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "qwertzuiop",
    "azertyuiop",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7",
)
_AROUND = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$")
MIN_DISTINCT_CHARS = 5


def _is_repetition(text: str) -> bool:
    """``text`` is one unit of at most a third of its length repeated (the last copy may be cut)."""
    for size in range(1, len(text) // 3 + 1):
        unit = text[:size]
        if (unit * (len(text) // size + 1))[: len(text)] == text:
            return True
    return False


def _is_run(text: str) -> bool:
    """``text`` (4 characters or more) follows one row forwards or backwards, maybe wrapping."""
    if len(text) < 4:
        return False
    for row in _ROWS:
        for line in (row, row[::-1]):
            doubled = line + line
            if text in doubled:
                return True
    return False


def _runs_only(text: str) -> bool:
    """``text`` is made of at most two runs (``123456qwerty``, ``abcd1234``)."""
    for cut in range(4, len(text) - 3):
        if _is_run(text[:cut]) and _is_run(text[cut:]):
            return True
    return False


def weakness(password: str, username: str | None = None) -> str | None:
    """Why ``password`` is easy to guess (one line for the user), or None.

    Examples
    --------
    >>> weakness("password12")
    'is one of the most common passwords; choose a phrase of several words'
    >>> weakness("aaaaaaaaaa")
    'is one character or a short group repeated; choose a phrase of several words'
    >>> weakness("0987654321")
    'follows the keyboard, the alphabet or the digits; choose a phrase of several words'
    >>> weakness("walk the dog at nine") is None
    True
    """
    text = "".join(password.lower().split())
    advice = "; choose a phrase of several words"
    if text in COMMON_PASSWORDS:
        return "is one of the most common passwords" + advice
    core = _AROUND.match(text).group(1)
    letters = re.sub(r"[\W\d_]", "", core)
    if core in BASE_WORDS or letters in BASE_WORDS or (username and letters and letters == re.sub(r"[\W\d_]", "", username.lower())):
        return "is a common word or the user name with digits or symbols around it" + advice
    if not core:
        core = text
    if _is_repetition(text) or _is_repetition(core):
        return "is one character or a short group repeated" + advice
    if _is_run(text) or _runs_only(text) or (len(core) >= 4 and _is_run(core) and len(core) >= len(text) - 4):
        return "follows the keyboard, the alphabet or the digits" + advice
    if len(set(text)) < MIN_DISTINCT_CHARS:
        return f"has fewer than {MIN_DISTINCT_CHARS} different characters" + advice
    if username and len(username) >= 3 and username.lower() in text and len(text) - len(username) < 6:
        return "is mostly the user name" + advice
    return None
