"""How to get the hub's PostgreSQL driver, as the software says it: the way that works (the package
is not on PyPI; finding 5 of session 23's review)."""

from __future__ import annotations

import sys

import pytest

from station.store import pg
from station.store.db import StoreError


def test_a_missing_driver_names_the_hub_installer_not_pypi(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(StoreError) as caught:
        pg._import_psycopg()
    words = str(caught.value)
    assert "sudo systemd/install.sh --hub" in words and "[hub]'" in words
    assert "pip install 'balance-station[hub]'" not in words
