"""Store-and-forward sync between stations and the hub (issue 19).

:mod:`station.store.outbox` queues each change in its own transaction; :mod:`station.sync.syncer`
pushes the queue and applies the hub's erasures at the station; :mod:`station.sync.hub` is the
hub's side (tokens, applying changes, frame uploads, tombstones); :mod:`station.sync.client` talks
HTTPS to the hub; :mod:`station.sync.records` says what travels.
"""
