"""Training programmes as data: schedules, dose, adherence and change against the MDC (DESIGN.md §9).

* :mod:`.template`, :mod:`.loader`: programme templates as TOML files (built-ins in ``builtin/``,
  a clinic's own in ``<protocols dir>/programmes/``), validated with :mod:`station.tomlschema`;
* :mod:`.schedule`: the planned sessions and assessment visits from a start date;
* :mod:`.dose`: a session's dose from a walking trial the station measured;
* :mod:`.adherence`: sessions and minutes done against planned, per week and overall;
* :mod:`.change`: each outcome's change from baseline, called real only beyond the MDC
  published for people like the patient (:mod:`station.reference.mdc`), as the history applies it;
* :mod:`.report`: the programme page's document, from the store (:mod:`station.store.programmes`).
"""
