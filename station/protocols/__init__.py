"""Clinical tests as data, the trial state machine and quality checks."""
