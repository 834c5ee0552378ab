"""Calibration files: per-technology mismatch, drift and noise statistics (package data)."""
