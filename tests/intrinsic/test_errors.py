"""Bad inputs raise clear errors naming the argument, expectation and value."""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import ConfigError
from tests.intrinsic._helpers import ACT_SPACE, OBS_SPACE, N, T, case, random_batch


def sliced(batch, fn):
    fields = ("obs", "action", "reward", "next_obs", "terminated", "truncated")
    return batch._replace(**{f: fn(getattr(batch, f)) for f in fields})


FACTORIES = [
    rk.intrinsic.rnd,
    rk.intrinsic.icm,
    rk.intrinsic.disagreement,
    rk.intrinsic.e3b,
]


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta0": -1.0}, "`beta0` must be a number >= 0; got -1.0"),
        ({"kappa": 1.5}, "`kappa`"),
        ({"num_envs": 0}, "`num_envs` must be an integer >= 1; got 0"),
        ({"reward_norm": "rms"}, "`reward_norm` must be one of"),
        ({"obs_norm": "whiten"}, "`obs_norm`"),
        ({"encoder": "resnet"}, "`encoder`"),
        ({"update_proportion": 0.0}, "`update_proportion`"),
        ({"preset": "cleanrl"}, "`preset`"),
        ({"warmup_transitions": -1}, "`warmup_transitions`"),
        ({"init": "xavier"}, "`init`"),
    ],
)
def test_factories_check_arguments_eagerly(factory, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        factory(**{"num_envs": 1, **kwargs})


def test_method_specific_arguments():
    with pytest.raises(ConfigError, match="`loss_weights`"):
        rk.intrinsic.icm(num_envs=1, loss_weights=(1.0, -1.0))
    with pytest.raises(ConfigError, match="`ridge` must be a number > 0"):
        rk.intrinsic.e3b(num_envs=1, ridge=0.0)
    with pytest.raises(ConfigError, match="`ensemble_size`"):
        rk.intrinsic.disagreement(num_envs=1, ensemble_size=1)
    with pytest.raises(ConfigError, match="`member_schedule`"):
        rk.intrinsic.disagreement(num_envs=1, member_schedule="random")
    with pytest.raises(ConfigError, match="`train_on`"):
        rk.intrinsic.rnd(num_envs=1, train_on="both")
    with pytest.raises(ConfigError, match="`score_state`"):
        rk.intrinsic.e3b(num_envs=1, score_state="previous")


def test_unsupported_spaces_raise_type_errors():
    bonus = case("icm").bonus
    with pytest.raises(TypeError, match=r"`obs_spec` must be a gymnasium.spaces.Box"):
        bonus.init(jax.random.key(0), gym.spaces.Discrete(5), ACT_SPACE)
    with pytest.raises(TypeError, match="`action_space` must be"):
        bonus.init(
            jax.random.key(0),
            OBS_SPACE,
            gym.spaces.Tuple([gym.spaces.Discrete(2), gym.spaces.Discrete(2)]),
        )


def test_nature_cnn_on_small_images_names_the_encoder():
    bonus = rk.intrinsic.rnd(num_envs=1, encoder="nature")
    with pytest.raises(ValueError, match=r"`encoder` 'nature'.*36x36.*got 7x7"):
        bonus.init(jax.random.key(0), gym.spaces.Box(0, 255, (7, 7, 3), np.uint8), None)
    with pytest.raises(ValueError, match="`encoder` 'minigrid' needs image"):
        rk.intrinsic.rnd(num_envs=1, encoder="minigrid").init(
            jax.random.key(0), OBS_SPACE, None
        )


def test_obs_norm_scale_needs_uint8():
    with pytest.raises(ValueError, match="`obs_norm` 'scale'"):
        rk.intrinsic.rnd(num_envs=1, obs_norm="scale").init(
            jax.random.key(0), OBS_SPACE, None
        )


def test_bad_batches_name_the_field():
    c = case("icm")
    batch = random_batch(jax.random.key(0), T, N)
    with pytest.raises(
        ValueError, match=r"`batch.next_obs` must have shape.*got \(5, 2, 3\)"
    ):
        c.bonus.compute(c.state, batch._replace(next_obs=batch.next_obs[..., :3]))
    with pytest.raises(ValueError, match=r"`batch.action` is required"):
        c.bonus.compute(c.state, batch._replace(action=None))
    with pytest.raises(ValueError, match="`num_envs`=2"):
        c.bonus.update(c.state, sliced(batch, lambda x: x[:, :1]))
    with pytest.raises(TypeError, match=r"`batch` must be a rewardkit.core.Transition"):
        c.bonus.compute(c.state, dict(batch._asdict()))
    with pytest.raises(ValueError, match=r"`batch.action` must have shape"):
        c.bonus.update(c.state, batch._replace(action=batch.action[..., None]))
    with pytest.raises(TypeError, match="`state` must be the BonusState"):
        c.bonus.compute({}, batch)


def test_minmax_batch_rejects_single_steps():
    bonus = rk.intrinsic.rnd(num_envs=N, reward_norm="minmax_batch")
    state = case("rnd").state  # same structure; the check fires while tracing
    one = sliced(random_batch(jax.random.key(0), T, N), lambda x: x[:1])
    with pytest.raises(ValueError, match="'minmax_batch' needs a batch with T > 1"):
        bonus.compute(state, one)


def test_restore_rejects_another_bonus():
    import io

    buf = io.BytesIO()
    rk.intrinsic.save_state(buf, case("rnd").state)
    buf.seek(0)
    with pytest.raises(ValueError, match="array leaves"):
        rk.intrinsic.restore_state(buf, case("e3b").state)


def test_reset_checks_shapes():
    c = case("e3b")
    with pytest.raises(ValueError, match="`mask` must have shape"):
        c.bonus.reset(c.state, jnp.ones(3, bool), jnp.zeros((N, 4)))
    with pytest.raises(ValueError, match="`obs` must have shape"):
        c.bonus.reset(c.state, jnp.ones(N, bool), jnp.zeros((N, 5)))


def test_init_works_inside_an_outer_jit():
    # Regression: init's cached builder passed compiler options to a nested jit,
    # which JAX refuses, so jitted training loops with a bonus crashed.
    import gymnasium as gym
    import jax
    import numpy as np

    import rewardkit as rk

    bonus = rk.intrinsic.rnd(num_envs=2, hidden=8, latent_dim=4)
    obs = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    state = jax.jit(lambda k: bonus.init(k, obs, gym.spaces.Discrete(2)))(
        jax.random.key(0)
    )
    eager = bonus.init(jax.random.key(0), obs, gym.spaces.Discrete(2))

    def data(x):
        return np.asarray(
            jax.random.key_data(x)
            if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
            else x
        )

    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(eager), strict=True):
        # Same construction; XLA may round the orthogonal init differently.
        np.testing.assert_allclose(data(a), data(b), rtol=1e-4, atol=1e-5)
