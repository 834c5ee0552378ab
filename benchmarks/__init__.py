"""Performance benchmarks (not tests). ``python -m benchmarks NAME`` runs one."""
