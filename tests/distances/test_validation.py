"""Bad input: clear ConfigError/TypeError naming the argument."""

import jax
import numpy as np
import pytest

import rewardkit as rk
import rewardkit.distances as rd
from rewardkit.core import ConfigError

T = np.full((3, 2, 3), 1 / 3)
MDP = rd.make_mdp(T, 0.9)
R = np.zeros((3, 2, 3))
R[0, 0, 1] = 1.0


def test_transitions_checked():
    bad = T.copy()
    bad[1, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(
        ConfigError, match=r"`transitions` rows must sum to 1.*\(1, 0\)"
    ):
        rd.make_mdp(bad, 0.9)
    neg = T.copy()
    neg[0, 0] = [1.5, -0.5, 0.0]
    with pytest.raises(ConfigError, match="non-negative"):
        rd.make_mdp(neg, 0.9)
    with pytest.raises(ConfigError, match=r"\[S, A, S\]"):
        rd.make_mdp(np.ones((2, 2, 3)) / 3, 0.9)


@pytest.mark.parametrize("gamma", [1.0, 1.5, -0.1, float("nan")])
def test_gamma_checked(gamma):
    with pytest.raises(ConfigError, match="`gamma`"):
        rd.make_mdp(T, gamma)
    model = rk.core.TabularModel(
        T, R, np.zeros(3, bool), np.zeros(3, np.uint32), np.full(3, 1 / 3)
    )
    with pytest.raises(ConfigError, match="`gamma`"):
        rd.from_tabular_model(model, gamma)


def test_epic_gamma_and_mdp_exclusive():
    with pytest.raises(ConfigError, match="exactly one of `mdp` and `gamma`"):
        rd.epic_distance(R, R, MDP, gamma=0.9)
    with pytest.raises(ConfigError, match="exactly one of `mdp` and `gamma`"):
        rd.epic_distance(R, R)
    with pytest.raises(ConfigError, match="`gamma`"):
        rd.epic_distance(R, R, gamma=1.01)
    assert rd.epic_distance(R, 2 * R, gamma=1.0) < 1e-6


def test_shapes_nan_and_layout():
    with pytest.raises(ConfigError, match=r"`R2`.*\(3, 2, 3\).*\(3, 2\).*\(4, 2\)"):
        rd.starc_distance(R, np.zeros((4, 2)), MDP)
    for bad in (np.nan, np.inf):
        r = R.copy()
        r[1, 1, 1] = bad
        with pytest.raises(ConfigError, match="`R1` must be finite"):
            rd.starc_distance(r, R, MDP)
        with pytest.raises(ConfigError, match="`R2` must be finite"):
            rd.epic_distance(R, r, MDP)
    square = rd.make_mdp(np.full((3, 3, 3), 1 / 3), 0.9)
    with pytest.raises(ConfigError, match=r"ambiguous.*layout"):
        rd.starc_distance(np.zeros((3, 3, 3)), np.zeros((3, 3, 3)), square)
    d = rd.starc_distance(np.eye(3)[None], np.eye(3)[None] * 2, square, layout="sa")
    assert d.shape == (1,) and d[0] < 1e-6
    with pytest.raises(TypeError, match="`R1` must be an array"):
        rd.starc_distance(lambda s, a, t: s, R, MDP)
    with pytest.raises(TypeError, match="`mdp`"):
        rd.starc_distance(R, R, T)
    with pytest.raises(ConfigError, match="do not broadcast"):
        rd.starc_distance(np.zeros((2, 3, 2, 3)), np.zeros((3, 3, 2, 3)), MDP)


def test_weights_and_distributions():
    with pytest.raises(ConfigError, match="`weights` must be strictly positive"):
        rd.starc(weights=np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="`state_dist`"):
        rd.make_mdp(T, 0.9, state_dist=[1.0, 0.0, 0.0])
    with pytest.raises(ConfigError, match="`action_dist` must sum to 1"):
        rd.canon.epic(action_dist=[0.5, 0.6])
    with pytest.raises(ConfigError, match="`action_dist`"):
        rd.epic_distance(R, R, gamma=0.9, action_dist=[1.0, 0.0])
    with pytest.raises(ConfigError, match="`policy`"):
        rd.canon.val(policy=np.ones((3, 2)))
    with pytest.raises(ConfigError, match="`weights` must have the canonical"):
        rd.starc_distance(R, R, MDP, weights=np.ones((3, 2, 3)))
    with pytest.raises(ConfigError, match="`norm`"):
        rd.starc(norm=0.5)
    with pytest.raises(ConfigError, match="`canon`"):
        rd.starc("nope")
    with pytest.raises(ConfigError, match="STARC canonicalisation"):
        rd.certify_equivalent(R, R, MDP, canon="epic")
    # degenerate weights are accepted only on request, and lose the guarantee
    w = np.ones((3, 2))
    w[0, 0] = 0.0
    d = rd.starc(weights=w, allow_degenerate_weights=True)
    out = d.apply(d.init(MDP), R, -R)
    assert not bool(out.guaranteed)


def test_absorbing_must_self_loop():
    with pytest.raises(ConfigError, match="`absorbing` state 0 must self-loop"):
        rd.make_mdp(T, 0.9, absorbing=[True, False, False])


def test_no_trace_time_errors_inside_jit():
    d = rd.starc()
    state = d.init(MDP)
    bad = R.copy()
    bad[0, 0, 0] = np.nan
    out = jax.jit(d.apply)(state, bad, R)  # NaN propagates, nothing raises
    assert np.isnan(float(out.distance))


def test_one_shot_functions_compile_once():
    from rewardkit.distances import _starc

    r2 = np.random.default_rng(0).normal(size=(3, 2, 3))
    rd.starc_distance(R, r2, MDP, norm=1)
    fn = _starc._pair_fn(rd.starc(norm=1).spec)
    before = fn._cache_size()
    for k in range(3):
        rd.starc_distance(R * (k + 2), r2 + k, MDP, norm=1)
        rd.starc_distance(R.tolist(), r2, MDP, norm=1)
    assert fn._cache_size() == before  # no recompilation per call
