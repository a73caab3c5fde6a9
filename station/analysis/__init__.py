"""Pure-numpy analysis: COP, filters, sway metrics, spectra, diffusion, IMU measures, norms.

This package does no I/O and imports nothing else of the project (DESIGN.md §2).
"""
