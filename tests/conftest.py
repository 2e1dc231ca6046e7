"""Shared pytest configuration: hypothesis profile and expected-warning lists."""

import os

import hypothesis

import experiments  # noqa: F401 - sets the XLA:CPU scheduler flag before JAX starts

# The first call of a jitted function compiles; deadlines would flake.
hypothesis.settings.register_profile(
    "rewardkit", deadline=None, max_examples=25, derandomize=True, print_blob=True
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "rewardkit"))
