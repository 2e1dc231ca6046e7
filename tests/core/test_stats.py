import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rewardkit.core import init_running_stats, update_running_stats


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 10_000))
def test_parts_equal_whole_and_match_float64(n1, n2, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(n1 + n2, 3)).astype(np.float32)
    whole = update_running_stats(init_running_stats((3,)), x)
    parts = update_running_stats(
        update_running_stats(init_running_stats((3,)), x[:n1]), x[n1:]
    )
    np.testing.assert_allclose(whole.mean, parts.mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(whole.var, parts.var, rtol=1e-4, atol=1e-5)
    # Reference: the prior (mean 0, var 1, count 1e-4) merged with the data in float64.
    c0 = np.float64(np.float32(1e-4))
    n = n1 + n2
    xd = x.astype(np.float64)
    mean = (xd.sum(0)) / (c0 + n)
    m2 = (
        c0 * 1.0 + ((xd - xd.mean(0)) ** 2).sum(0) + xd.mean(0) ** 2 * c0 * n / (c0 + n)
    )
    np.testing.assert_allclose(whole.mean, mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(whole.var, m2 / (c0 + n), rtol=1e-4, atol=1e-5)
    assert whole.count.dtype == jnp.float32 and float(whole.count) == np.float32(c0 + n)


def test_scalar_stats_over_batch_axes():
    s = update_running_stats(init_running_stats(), jnp.arange(12.0).reshape(3, 4))
    assert s.mean.shape == () and abs(float(s.mean) - 5.5) < 1e-3
