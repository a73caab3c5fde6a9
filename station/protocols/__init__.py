"""Clinical tests as data, the trial state machine and quality checks.

* :mod:`.schema`, :mod:`.loader`: protocols as TOML files (built-ins in ``builtin/``, a clinic's
  own in its protocols directory), validated when loaded;
* :mod:`.machine`: one trial: instructions, waiting for the patient, countdown, recording,
  checks, result; :mod:`.quality`: the checks, in words a clinician understands;
* :mod:`.runner`: a whole protocol with its repeats; :mod:`.events`: what followers (dashboard,
  panel, log) see; :mod:`.results`: scores, Romberg quotients, weight bearing, cut-offs, norms;
* :mod:`.sinks`: trial files and the clinic database; :mod:`.walk`: walk tests (light gates and
  the lower-back IMU).

The virtual patient who follows the instructions on the simulated station, and the scenarios of
``run --simulate``, live with the rest of the simulation (:mod:`station.sim.virtual_patient`,
:mod:`station.sim.scenarios`): the production trial engine holds no simulation.
"""
