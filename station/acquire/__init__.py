"""The acquisition process: pacing, frames, shared-memory ring, health (DESIGN.md §3)."""
