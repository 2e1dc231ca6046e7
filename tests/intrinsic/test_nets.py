"""The image encoders against float64 NumPy convolutions, and the patch convolution."""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.encoders import _xla_forward as xla_forward
from rewardkit.intrinsic._nets import Encoder, conv_patches, resolve_encoder
from rewardkit.intrinsic._spaces import make_spec


def np_conv(x, kernel, bias, stride, padding):
    """Direct float64 NHWC convolution (cross-correlation, like flax)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    if padding != "VALID":
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    kh, kw, _, c_out = kernel.shape
    ho = (x.shape[1] - kh) // stride + 1
    wo = (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, c_out))
    for i in range(ho):
        for j in range(wo):
            window = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, i, j] = np.einsum("bhwc,hwco->bo", window, kernel)
    return out + np.asarray(bias, np.float64)


def np_encoder(enc: Encoder, x):
    """The encoder's forward pass in float64 NumPy, layer by layer."""
    x = np.asarray(x, np.float64)
    if enc.channels_first:
        x = np.moveaxis(x, 1, -1)
    elu = lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0)))  # noqa: E731
    for i, conv in enumerate(enc.convs):
        x = np_conv(x, conv.kernel[...], conv.bias[...], conv.strides[0], conv.padding)
        x = elu(x) if enc.kind == "espeholt" else np.maximum(x, 0)
        if enc.kind == "minigrid" and i == 0:  # max-pool 2x2, stride 2
            b, h, w, c = x.shape
            x = x[:, : h // 2 * 2, : w // 2 * 2]
            x = x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    x = x.reshape(x.shape[0], -1)
    (layer,) = enc.head.layers
    x = x @ np.asarray(layer.kernel[...], np.float64) + np.asarray(layer.bias[...])
    return x if enc.kind == "minigrid" else np.maximum(x, 0)


@pytest.mark.parametrize("kind", ["minigrid", "espeholt"])
@pytest.mark.parametrize("shape", [(7, 7, 3), (3, 7, 7), (9, 8, 3)])
def test_small_image_encoders_match_numpy(kind, shape):
    space = gym.spaces.Box(0, 255, shape, np.uint8)
    spec = make_spec(space, None, needs_action=False)
    enc = Encoder(spec, kind, 16, 32, "orthogonal", nnx.Rngs(0))
    x = jax.random.uniform(jax.random.key(1), (5, *shape), minval=-2, maxval=2)
    np.testing.assert_allclose(enc(x), np_encoder(enc, x), rtol=1e-4, atol=1e-5)


CONV_PATCHES = jax.jit(conv_patches, static_argnums=(3, 4))  # one compile per example


@settings(max_examples=10)  # each example compiles new shapes
@given(
    size=st.integers(3, 9),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.sampled_from(["VALID", 0, 1, 2]),
    c_in=st.integers(1, 4),
)
def test_conv_patches_equals_flax_conv(size, k, stride, pad, c_in):
    conv = nnx.Conv(
        c_in, 3, (k, k), strides=(stride, stride), padding=pad, rngs=nnx.Rngs(0)
    )
    x = jax.random.normal(jax.random.key(size), (2, size, size + 1, c_in))
    got = CONV_PATCHES(x, conv.kernel[...], conv.bias[...], stride, pad)
    want = np_conv(x, conv.kernel[...], conv.bias[...], stride, pad)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, flax_conv(conv, x), rtol=1e-4, atol=1e-5)


@nnx.jit
def flax_conv(conv, x):
    return conv(x)


@pytest.mark.parametrize("kind", ["minigrid", "espeholt"])
def test_encoder_gradients_equal_those_through_xla_convolutions(kind):
    # MiniGrid-like integer images: repeated cells make exact ties in the max-pool,
    # where jnp.max splits the gradient and max-pool picks one input; tied values
    # come from identical patches, so the parameter gradients agree all the same.
    space = gym.spaces.Box(0, 255, (7, 7, 3), np.uint8)
    enc = Encoder(make_spec(space, None, needs_action=False), kind, 16, 32,
                  "orthogonal", nnx.Rngs(0))  # fmt: skip
    graph, params = nnx.split(enc)
    x = jax.random.randint(jax.random.key(3), (6, 7, 7, 3), 0, 4).astype(jnp.float32)

    def loss(forward):
        return lambda p: jnp.sum(jnp.tanh(forward(nnx.merge(graph, p), x)))

    ours = jax.grad(loss(lambda e, x: e(x)))(params)
    want = jax.grad(loss(xla_forward))(params)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_conv_patches_rejects_unknown_padding():
    kernel, bias = jnp.zeros((3, 3, 1, 2)), jnp.zeros(2)
    with pytest.raises(ValueError, match="`padding` must be 'VALID' or an int"):
        conv_patches(jnp.zeros((1, 5, 5, 1)), kernel, bias, 1, "SAME")


def test_minigrid_encoder_needs_7x7_and_auto_falls_back_to_espeholt():
    spec = make_spec(gym.spaces.Box(0, 255, (6, 6, 3), np.uint8), None,
                     needs_action=False)  # fmt: skip
    assert resolve_encoder("auto", spec) == "espeholt"
    with pytest.raises(ValueError, match="'minigrid' needs at least 7x7"):
        resolve_encoder("minigrid", spec)


def test_patch_convolution_has_the_same_kernel_gradient_as_lax_conv():
    conv = nnx.Conv(3, 8, (3, 3), strides=(2, 2), padding=1, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(2), (4, 7, 7, 3))

    def ours(kern):
        return jnp.sum(jnp.tanh(conv_patches(x, kern, conv.bias[...], 2, 1)))

    def flax(kern):
        out = jax.lax.conv_general_dilated(
            x,
            kern,
            (2, 2),
            ((1, 1), (1, 1)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        return jnp.sum(jnp.tanh(out + conv.bias[...]))

    kern = conv.kernel[...]
    np.testing.assert_allclose(
        jax.grad(ours)(kern), jax.grad(flax)(kern), rtol=1e-4, atol=1e-5
    )
