"""Published reference values the results pages compare with: age-group norms of sway measures
(:mod:`station.reference.norms`) and minimal detectable changes (:mod:`station.reference.mdc`)."""
