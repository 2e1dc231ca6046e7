"""Jitted scripts that reproduce the papers' headline results.

Run ``python -m experiments list`` to see them and ``python -m experiments NAME
[--quick]`` to run one. Each writes a CSV and a PNG under ``results/NAME/``.
"""
