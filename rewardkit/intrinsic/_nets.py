"""Flax NNX networks of the bonuses: encoders, MLP heads and their initialisers.

Networks are ``nnx.Module``s used only through ``nnx.split``/``nnx.merge`` inside
the bonuses' pure functions; their parameters live in the bonus state.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rewardkit.core import ConfigError
from rewardkit.intrinsic._spaces import Spec

__all__ = ["MLP", "Encoder", "check_encoder", "linear"]

ENCODERS = ("auto", "mlp", "minigrid", "espeholt", "nature")
#: Largest image side (per layer input) convolved as patches times kernel
#: (:func:`conv_patches`); larger inputs use XLA's convolution. Measured on 7x7
#: MiniGrid views (benchmarks/encoders.py); not measured on large images or GPUs.
PATCH_CONV_MAX = 16
INITS = ("orthogonal", "uniform")


def _uniform(fan_in: int):
    bound = 1.0 / math.sqrt(max(fan_in, 1))

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _inits(init: str, fan_in: int) -> dict[str, Any]:
    if init == "orthogonal":  # gain √2, zero bias (rllte model.py:L34-37)
        return {
            "kernel_init": nnx.initializers.orthogonal(math.sqrt(2.0)),
            "bias_init": nnx.initializers.zeros_init(),
        }
    return {"kernel_init": _uniform(fan_in), "bias_init": _uniform(fan_in)}


def linear(d_in: int, d_out: int, init: str, rngs: nnx.Rngs) -> nnx.Linear:
    """A dense layer with the configured initialisation.

    Example:
      >>> layer = linear(3, 2, "uniform", nnx.Rngs(0))
      >>> float(jnp.abs(layer.bias[...]).max()) <= 3 ** -0.5
      True
    """
    return nnx.Linear(d_in, d_out, rngs=rngs, **_inits(init, d_in))


def _conv(c_in, c_out, k, stride, padding, init, rngs) -> nnx.Conv:
    return nnx.Conv(
        c_in,
        c_out,
        (k, k),
        strides=(stride, stride),
        padding=padding,
        rngs=rngs,
        **_inits(init, c_in * k * k),
    )


def conv_patches(
    x: jax.Array, kernel: jax.Array, bias: jax.Array, stride: int, padding: Any
) -> jax.Array:
    """A 2-D convolution of NHWC ``x`` as one matrix product over image patches.

    Same result as ``nnx.Conv`` with this ``kernel`` ``[kh, kw, c_in, c_out]``
    (``padding`` ``"VALID"`` or an int applied on every side), computed as
    ``kh·kw`` strided slices concatenated along channels, times the kernel
    reshaped to ``[kh·kw·c_in, c_out]``. On MiniGrid's 7×7 views it is 1.6-2x
    faster than XLA:CPU's convolution, forward and gradient
    (``python -m benchmarks.encoders``), and inside a bonus's jitted update up to
    8x (XLA's convolution gradients ran at 6-9 % of the matmul peak there).

    Example:
      >>> conv = nnx.Conv(3, 4, (3, 3), strides=(2, 2), padding=1, rngs=nnx.Rngs(0))
      >>> x = jax.random.normal(jax.random.key(1), (2, 7, 7, 3))
      >>> y = conv_patches(x, conv.kernel[...], conv.bias[...], 2, 1)
      >>> y.shape, bool(jnp.allclose(y, conv(x), atol=1e-5))
      ((2, 4, 4, 4), True)
    """
    kh, kw, c_in, c_out = kernel.shape
    if padding != "VALID":
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(
                f"`padding` must be 'VALID' or an int >= 0; got {padding!r}."
            )
        p = padding
        x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    ho = (x.shape[1] - kh) // stride + 1
    wo = (x.shape[2] - kw) // stride + 1
    cols = [
        x[
            :,
            i : i + stride * (ho - 1) + 1 : stride,
            j : j + stride * (wo - 1) + 1 : stride,
        ]
        for i in range(kh)
        for j in range(kw)
    ]
    patches = jnp.concatenate(cols, axis=-1)  # [B, ho, wo, kh·kw·c_in], (i, j, c)
    return patches @ kernel.reshape(kh * kw * c_in, c_out) + bias


class MLP(nnx.Module):
    """``Linear–ReLU–…–Linear``: hidden layers with ReLU, a linear output.

    Example:
      >>> net = MLP([4, 8, 2], "orthogonal", nnx.Rngs(0))
      >>> net(jnp.ones((5, 4))).shape
      (5, 2)
    """

    def __init__(self, sizes: list[int], init: str, rngs: nnx.Rngs):
        self.layers = nnx.List(
            [linear(a, b, init, rngs) for a, b in itertools.pairwise(sizes)]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        """Applies the layers."""
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = jax.nn.relu(x)
        return x


def resolve_encoder(encoder: str, spec: Spec) -> str:
    """The concrete encoder for ``encoder="auto"`` and a space, checked.

    Raises:
      ValueError: naming ``encoder`` when it cannot take the observations.
    """
    if spec.obs_kind == "vector":
        if encoder not in ("auto", "mlp"):
            raise ValueError(
                f"`encoder` {encoder!r} needs image observations (rank 3); got "
                f"shape {spec.obs_shape}. Use 'mlp' or 'auto'."
            )
        return "mlp"
    h, w = _hw(spec)
    if encoder == "auto":
        if min(h, w) >= 36:
            return "nature"
        return "minigrid" if min(h, w) >= 7 else "espeholt"
    if encoder == "nature" and min(h, w) < 36:
        raise ValueError(
            f"`encoder` 'nature' (Nature CNN) needs images of at least 36x36 pixels; "
            f"got {h}x{w}. Use 'minigrid' or 'espeholt' for small images."
        )
    if encoder == "minigrid" and min(h, w) < 7:
        # 2x2 conv, 2x2 max-pool, two 2x2 convs: (size - 1) // 2 - 2 >= 1.
        raise ValueError(
            f"`encoder` 'minigrid' needs at least 7x7 images; got {h}x{w}. "
            "Use 'espeholt' for smaller ones."
        )
    return encoder


def check_encoder(encoder: Any) -> str:
    """Checks an ``encoder`` argument's value (the space is checked at ``init``)."""
    if encoder not in ENCODERS:
        raise ConfigError(
            f"`encoder` must be one of {', '.join(map(repr, ENCODERS))}; got {encoder!r}."
        )
    return encoder


def _hw(spec: Spec) -> tuple[int, int]:
    s = spec.obs_shape
    return (s[1], s[2]) if spec.channels_first else (s[0], s[1])


def _channels(spec: Spec) -> int:
    return spec.obs_shape[0] if spec.channels_first else spec.obs_shape[-1]


class Encoder(nnx.Module):
    """Observation encoder ``[B, *obs_shape] -> [B, latent]`` (spec §2.5).

    * ``"mlp"``: Linear(D, hidden)–ReLU–Linear(hidden, latent).
    * ``"minigrid"``: 16@2×2, ReLU, maxpool 2, 32@2×2, ReLU, 64@2×2, ReLU,
      Linear→latent (RE3 authors' MiniGrid encoder; 7×7×3 → 64 features).
    * ``"espeholt"``: 4×(32@3×3/2, pad 1, ELU), Linear→latent, ReLU.
    * ``"nature"``: 32@8×8/4, 64@4×4/2, 64@3×3/1, ReLU, Linear→latent, ReLU.

    Images may be HWC or CHW. Example:
      >>> import gymnasium as gym
      >>> from rewardkit.intrinsic._spaces import make_spec
      >>> spec = make_spec(gym.spaces.Box(0, 255, (7, 7, 3)), None, needs_action=False)
      >>> resolve_encoder("auto", spec)
      'minigrid'
      >>> spec = make_spec(gym.spaces.Box(-1, 1, (5,)), None, needs_action=False)
      >>> Encoder(spec, "auto", 4, 8, "orthogonal", nnx.Rngs(0))(jnp.zeros((2, 5))).shape
      (2, 4)
    """

    def __init__(
        self, spec: Spec, kind: str, latent: int, hidden: int, init: str, rngs: nnx.Rngs
    ):
        self.kind = resolve_encoder(kind, spec)
        self.channels_first = spec.channels_first
        self.convs = nnx.List([])
        if self.kind == "mlp":
            d = int(math.prod(spec.obs_shape))
            self.head = MLP([d, hidden, latent], init, rngs)
            return
        c = _channels(spec)
        h, w = _hw(spec)
        if self.kind == "minigrid":
            self.convs = nnx.List(
                [
                    _conv(c, 16, 2, 1, "VALID", init, rngs),
                    _conv(16, 32, 2, 1, "VALID", init, rngs),
                    _conv(32, 64, 2, 1, "VALID", init, rngs),
                ]
            )
            h, w = (h - 1) // 2 - 2, (w - 1) // 2 - 2
            flat = 64 * h * w
        elif self.kind == "espeholt":
            chans = [c, 32, 32, 32, 32]
            self.convs = nnx.List(
                [_conv(a, b, 3, 2, 1, init, rngs) for a, b in itertools.pairwise(chans)]
            )
            for _ in range(4):
                h, w = (h + 1) // 2, (w + 1) // 2
            flat = 32 * h * w
        else:
            self.convs = nnx.List(
                [
                    _conv(c, 32, 8, 4, "VALID", init, rngs),
                    _conv(32, 64, 4, 2, "VALID", init, rngs),
                    _conv(64, 64, 3, 1, "VALID", init, rngs),
                ]
            )
            h, w = (h - 8) // 4 + 1, (w - 8) // 4 + 1
            h, w = (h - 4) // 2 + 1, (w - 4) // 2 + 1
            flat = 64 * (h - 2) * (w - 2)
        self.head = MLP([flat, latent], init, rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Encodes a batch ``[B, *obs_shape]`` (already normalised, float32)."""
        if self.kind == "mlp":
            return self.head(x.reshape(x.shape[0], -1))
        if self.channels_first:
            x = jnp.moveaxis(x, 1, -1)
        for i, conv in enumerate(self.convs):
            if self.kind == "nature" or max(x.shape[1:3]) > PATCH_CONV_MAX:
                x = conv(x)  # larger images: XLA's convolution
            else:  # small images: patches times kernel (conv_patches)
                x = conv_patches(
                    x, conv.kernel[...], conv.bias[...], conv.strides[0], conv.padding
                )
            x = jax.nn.elu(x) if self.kind == "espeholt" else jax.nn.relu(x)
            if self.kind == "minigrid" and i == 0:  # max-pool 2x2, stride 2
                # As a reshape and a max: XLA:CPU's max-pool gradient
                # (select-and-scatter) took 2.9 of the encoder's 10.5 ms gradient
                # (1 024 images, one core).
                b, h, w, c = x.shape
                x = x[:, : h // 2 * 2, : w // 2 * 2]
                x = x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        x = self.head(x.reshape(x.shape[0], -1))
        return x if self.kind == "minigrid" else jax.nn.relu(x)
