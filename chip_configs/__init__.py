"""Chip definitions: cores, neurons, CAM/SRAM/tags, router, default biases (package data)."""
