"""Storage: SQLite schema and migrations, raw trial files, exports.

The clinic store: :mod:`station.store.store` (``Store``, open a data directory), :mod:`.db` (one
writer, WAL, durability), :mod:`.migrations`, :mod:`.users`, :mod:`.logins`, :mod:`.patients`,
:mod:`.sessions`, :mod:`.trials` (recording and recovery), :mod:`.audit`, :mod:`.settings`,
:mod:`.export`, :mod:`.secret`; trial files: :mod:`.trialfile`; backups: :mod:`.backup`.
"""
