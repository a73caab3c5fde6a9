"""Benchmarks behind `balance-station bench`: they measure and print, never assert."""
