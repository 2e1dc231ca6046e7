import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "rewardkit_tests_distances_reference_np",
    Path(__file__).with_name("reference_np.py"),
)
REF = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(REF)


@pytest.fixture(scope="session")
def ref():
    return REF


def random_transitions(rng, s, a, max_succ=4, absorbing=0):
    """Sparse T: 1..min(S, max_succ) successors per (s, a), Dirichlet weights."""
    t = np.zeros((s, a, s))
    for i in range(s):
        for j in range(a):
            k = rng.integers(1, min(s, max_succ) + 1)
            succ = rng.choice(s, size=k, replace=False)
            t[i, j, succ] = rng.dirichlet(np.ones(k))
    ab = np.zeros(s, bool)
    for i in range(s - absorbing, s):
        t[i] = 0.0
        t[i, :, i] = 1.0
        ab[i] = True
    return t, ab


@pytest.fixture(scope="session")
def make_random_transitions():
    return random_transitions
