"""``preset="rllte"`` against the anchor itself (rllte-core 1.0.1) on one rollout.

Spec §7: the preset must match the anchor's outputs on a recorded rollout, in a
separate job with the anchor installed. This module skips unless torch and
rllte-core import (CI has neither: the project must not depend on torch). Run it
in the benchmark's reference environment, which has both and rewardkit::

    /path/to/rllte-venv/bin/python -m pytest tests/intrinsic/test_anchor.py

For RND, ICM, Disagreement and E3B: the anchor module is built on a replay env
(its observation statistics warm up on the rollout's observations), its network
weights are copied into rewardkit's state (a torch ``Linear`` weight is the
transposed flax kernel, a ``Conv2d`` weight OIHW of its HWIO), and both then see
the same 8 x 64 rollout, of flat 147-d observations (MLP encoders) and of 3x7x7
images (the ``"espeholt"`` CNN):

* the raw bonuses of ``compute`` (the anchor with ``rwd_norm_type="none"`` and
  ``sync=False``, rewardkit's ``info["raw"]``), E3B with an episode end inside;
* two ``update`` calls with one minibatch of the whole rollout (so the anchor's
  shuffling cannot matter): the losses it reports and every trained weight after
  each Adam step (the second step depends on the gradients' magnitudes, not only
  on their signs).
"""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rewardkit as rk
from rewardkit.core import RunningStats

torch = pytest.importorskip("torch")
anchor = pytest.importorskip("rllte.xplore.reward")
from benchmarks._rllte_reference import ReplayVectorEnv  # noqa: E402 - needs torch

T, N, D, A = 64, 8, 147, 7
CLASS = {"rnd": "RND", "icm": "ICM", "disagreement": "Disagreement", "e3b": "E3B"}


#: Flat 147-d observations (MLP encoders) and MiniGrid's image in the anchor's CHW
#: layout (its "espeholt" CNN; rewardkit's reads CHW too).
SHAPES = {"flat": (D,), "image": (3, 7, 7)}


@pytest.fixture(scope="module", params=list(SHAPES))
def rollout(request):
    rng = np.random.default_rng(0)
    shape = SHAPES[request.param]
    obs = rng.integers(0, 11, size=(T + 1, N, *shape)).astype(np.uint8)
    done = np.zeros((T, N), bool)
    done[T // 2, 3] = done[10, 5] = True  # E3B resets its ellipsoid there
    return {
        "obs": obs[:-1],
        "next_obs": obs[1:],
        "action": rng.integers(0, A, size=(T, N)),
        "terminated": done,
        "truncated": np.zeros((T, N), bool),
        "kind": request.param,
    }


def torch_samples(data):
    f32 = torch.float32
    return {
        "observations": torch.as_tensor(data["obs"], dtype=f32),
        "actions": torch.as_tensor(data["action"], dtype=torch.int64),
        "rewards": torch.zeros(T, N),
        "terminateds": torch.as_tensor(data["terminated"], dtype=f32),
        "truncateds": torch.as_tensor(data["truncated"], dtype=f32),
        "next_observations": torch.as_tensor(data["next_obs"], dtype=f32),
    }


def linears(seq):
    """An anchor ``ObservationEncoder`` trunk's layers, as rewardkit names them."""
    return {
        "layers": [m for m in seq.trunk if isinstance(m, torch.nn.Linear)],
        "convs": [m for m in seq.trunk if isinstance(m, torch.nn.Conv2d)],
    }


def anchor_layers(name, module):
    """rewardkit ``params``/``fixed`` group -> the anchor's Linear layers."""
    if name == "rnd":
        return {
            "predictor": linears(module.predictor),
            "target": linears(module.target),
        }
    if name == "icm":
        return {
            "encoder": linears(module.encoder),
            "forward": linears(module.fm.trunk),
            "inverse": linears(module.im.trunk),
        }
    if name == "disagreement":
        return {
            "encoder": linears(module.random_encoder),
            "members": [linears(m.trunk) for m in module.ensemble],
        }
    return {"encoder": linears(module.encoder), "inverse": linears(module.im.trunk)}


def from_anchor(tree, layers):
    """``tree`` with every kernel and bias taken from the anchor's layers."""

    def leaf(path, x):
        # e.g. ['encoder']['convs'][0]['kernel'].value or ['inverse']['layers'][1]...
        keys = [getattr(k, "key", getattr(k, "idx", None)) for k in path]
        group, part, index, kind = keys[0], keys[-4], keys[-3], keys[-2]
        assert kind in ("kernel", "bias") and part in ("convs", "layers"), keys

        def one(layer):
            w = layer.weight if kind == "kernel" else layer.bias
            # A copy: the anchor updates its weights in place, and JAX may alias
            # the memory of a NumPy array it is given.
            w = np.array(w.detach().numpy(), copy=True)
            if kind == "bias":
                return w
            # Linear [out, in] -> [in, out]; Conv2d [out, in, kh, kw] -> HWIO.
            return np.ascontiguousarray(w.T if w.ndim == 2 else w.transpose(2, 3, 1, 0))

        src = layers[group]
        value = (
            np.stack([one(m[part][index]) for m in src])  # Disagreement's members
            if isinstance(src, list)
            else one(src[part][index])
        )
        assert value.shape == x.shape, (keys, value.shape, x.shape)
        return jnp.asarray(value, x.dtype)

    return jax.tree_util.tree_map_with_path(leaf, tree)


def build_pair(name, data):
    image = data["kind"] == "image"
    module = getattr(anchor, CLASS[name])(
        envs=ReplayVectorEnv(data["next_obs"], A),
        device="cpu",
        rwd_norm_type="none",
        batch_size=T * N,
        **({"encoder_model": "espeholt"} if image else {}),
    )
    # (Without RMS normalisation the anchor divides images by 255; so does the
    # preset's obs_norm="none".)
    kwargs = {"encoder": "espeholt"} if image else {}
    bonus = getattr(rk.intrinsic, name)(
        num_envs=N, preset="rllte", batch_size=T * N, warmup_transitions=0, **kwargs
    )
    state = bonus.init(
        jax.random.key(0),
        gym.spaces.Box(0, 255, data["obs"].shape[2:], np.uint8),
        gym.spaces.Discrete(A),
    )
    layers = anchor_layers(name, module)
    if image:  # 7x7 -> 4 -> 2 -> 1 -> 1: the CNN ends at 1x1, where the anchor's
        # CHW flattening and rewardkit's HWC one coincide (else permute the kernel)
        encoder = layers.get("encoder", layers.get("predictor"))
        assert encoder["layers"][0].in_features == 32
    state = state._replace(params=from_anchor(state.params, layers))
    if state.fixed:
        state = state._replace(fixed=from_anchor(state.fixed, layers))
    # Fresh optimiser state for the copied weights.
    state = state._replace(opt_state=jax.tree.map(jnp.zeros_like, state.opt_state))
    return module, bonus, with_anchor_stats(state, module)


def with_anchor_stats(state, module):
    """rewardkit's observation statistics set to the anchor's current ones."""
    if module.obs_norm is None:
        return state
    stats = RunningStats(
        mean=jnp.asarray(module.obs_norm.mean.numpy(), jnp.float32),
        var=jnp.asarray(module.obs_norm.var.numpy(), jnp.float32),
        count=jnp.asarray(float(module.obs_norm.count), jnp.float32),
    )
    return state._replace(obs_stats=stats, obs_snapshot=stats)


def batch_of(data):
    return rk.core.Transition(
        obs=jnp.asarray(data["obs"]),
        action=jnp.asarray(data["action"]),
        reward=jnp.zeros((T, N)),
        next_obs=jnp.asarray(data["next_obs"]),
        terminated=jnp.asarray(data["terminated"]),
        truncated=jnp.asarray(data["truncated"]),
    )


@pytest.mark.parametrize("name", list(CLASS))
def test_raw_bonuses_match_the_anchor(name, rollout):
    module, bonus, state = build_pair(name, rollout)
    theirs = module.compute(torch_samples(rollout), sync=False).numpy()
    # The anchor's ``compute`` first adds the rollout's observations to its
    # statistics (its subclasses call the base ``compute`` without ``sync``), then
    # normalises with them; rewardkit normalises with the previous rollouts'
    # statistics (the snapshot rule, spec §2.1), a deviation the preset keeps.
    # Same statistics on both sides, then:
    state = with_anchor_stats(state, module)
    ours = np.asarray(bonus.compute(state, batch_of(rollout))[2]["raw"])
    assert ours.shape == theirs.shape == (T, N)
    # E3B's ellipsoid accumulates 64 float32 rank-one updates in both libraries.
    rtol = 2e-3 if name == "e3b" else 2e-5
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-6)


def anchor_loss(name, module):
    return float(module.metrics["loss"][-1][1])


def our_loss(name, metrics):
    if name == "icm":  # the anchor logs inverse + forward
        return float(metrics["inverse_loss"] + metrics["forward_loss"])
    return float(metrics["loss"])


@pytest.mark.parametrize("name", list(CLASS))
def test_updates_match_the_anchor(name, rollout):
    module, bonus, state = build_pair(name, rollout)
    batch, samples = batch_of(rollout), torch_samples(rollout)
    update = jax.jit(bonus.update)
    for step in (1, 2):
        torch.manual_seed(0)
        module.update(samples)
        state, metrics = update(state, batch)
        np.testing.assert_allclose(
            our_loss(name, metrics), anchor_loss(name, module), rtol=1e-5
        )
        want = from_anchor(state.params, anchor_layers(name, module))
        for ours, theirs in zip(
            jax.tree.leaves(state.params), jax.tree.leaves(want), strict=True
        ):
            # An Adam step moves a weight by ±lr·g/(|g| + eps), up to lr = 1e-3
            # either way: a weight whose gradient is within float32 rounding of 0
            # moves by an amount (or in a direction) that rounding decides, in
            # either library. Such weights are rare (0-1 in 10^5 seen); the step
            # of every other weight must agree, and none may differ by more than
            # two steps per update.
            err = np.abs(np.asarray(ours) - np.asarray(theirs))
            assert err.max() <= step * 2e-3 + 1e-5, err.max()
            assert np.mean(err > 5e-5) <= 1e-4, np.sum(err > 5e-5)
