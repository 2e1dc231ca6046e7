"""Warnings that particular tests expect, each with its reason (pytest filter strings)."""

CHECK_ENV_EXPECTED_WARNINGS = [
    # check_env warns when given a wrapper; checking the wrapper is the point.
    "ignore:.*is different from the unwrapped version",
    # Envs built directly (not through gym.make) have no spec.
    "ignore:.*not have a `spec`.*",
]
