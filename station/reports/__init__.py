"""PDF reports and FHIR resources, built from the store's records (DESIGN.md §10).

PDF (reportlab, vector charts drawn with reportlab's graphics, A4 or Letter, readable in black and
white): :mod:`.session_report` (a visit: every test, its key measures against norms and cut-offs,
Romberg, trace and ellipse plots, walk tests), :mod:`.history_report` (a patient's key measures
over time with their minimal detectable change, programme adherence) and
:mod:`.programme_report` (a training programme: baseline to end per outcome against the MDC,
adherence and dose); :mod:`.build` makes any of them, audited like an export.

FHIR R4B (``fhir.resources``): :mod:`.fhir_bundle` builds a ``Bundle`` of ``Observation``
resources for a trial, a session (its visit) or a patient's history, validated before it leaves;
:mod:`.fhir_codes` is the project's CodeSystem (documented in ``docs/fhir.md``).

The pages and the bundle carry the patient's pseudonymous identifier only.
"""
