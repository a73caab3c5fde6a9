"""Storage: SQLite schema and migrations, raw trial files, exports."""
