"""Error and warning types, and the eager argument checks every factory uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "ConfigError",
    "RewardkitError",
    "RewardkitWarning",
    "check_callable",
    "check_choice",
    "check_gamma",
    "check_in_range",
    "check_non_negative",
    "check_positive",
    "check_positive_int",
]


class RewardkitError(Exception):
    """Base of every error rewardkit raises on purpose."""


class ConfigError(RewardkitError, ValueError):
    """A factory or constructor argument lies outside its domain.

    Example:
      >>> try:
      ...     check_gamma("gamma", 1.5)
      ... except ConfigError as e:
      ...     print(e)
      `gamma` must be a number in [0.0, 1.0]; got 1.5.
    """


class RewardkitWarning(UserWarning):
    """Base of every rewardkit warning."""


def _is_real(value: Any) -> bool:
    if isinstance(value, bool | str | bytes):  # float("0.9") parses; refuse text
        return False
    try:
        f = float(value)
    except (TypeError, ValueError):
        return False
    return not math.isnan(f) and getattr(value, "ndim", 0) == 0


def check_in_range(name: str, value: Any, low: float, high: float) -> float:
    """Checks that ``value`` is a real number in ``[low, high]`` and returns it.

    Args:
      name: the argument's name, for the message.
      value: the value received.
      low: the smallest allowed value.
      high: the largest allowed value.

    Returns:
      ``value`` as a Python float.

    Raises:
      ConfigError: naming the argument, the range and the value received.

    Example:
      >>> check_in_range("slip_prob", 0.2, 0.0, 1.0)
      0.2
    """
    if not (_is_real(value) and low <= float(value) <= high):  # NaN fails
        raise ConfigError(
            f"`{name}` must be a number in [{float(low)}, {float(high)}]; got {value!r}."
        )
    return float(value)


def check_gamma(name: str, value: Any, *, allow_one: bool = True) -> float:
    """Checks a discount: in ``[0, 1]``, or ``[0, 1)`` when ``allow_one`` is False.

    Example:
      >>> check_gamma("gamma", 0.99)
      0.99
    """
    gamma = check_in_range(name, value, 0.0, 1.0)
    if not allow_one and gamma >= 1.0:
        raise ConfigError(f"`{name}` must be a number in [0.0, 1.0); got {value!r}.")
    return gamma


def check_positive(name: str, value: Any) -> float:
    """Checks that ``value`` is a real number > 0.

    Example:
      >>> check_positive("scale", 2)
      2.0
    """
    if not (_is_real(value) and float(value) > 0):
        raise ConfigError(f"`{name}` must be a number > 0; got {value!r}.")
    return float(value)


def check_non_negative(name: str, value: Any) -> float:
    """Checks that ``value`` is a real number >= 0.

    Example:
      >>> check_non_negative("beta0", 0.0)
      0.0
    """
    if not (_is_real(value) and float(value) >= 0):
        raise ConfigError(f"`{name}` must be a number >= 0; got {value!r}.")
    return float(value)


def check_positive_int(name: str, value: Any) -> int:
    """Checks that ``value`` is an integer >= 1.

    Example:
      >>> check_positive_int("num_envs", 4)
      4
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"`{name}` must be an integer >= 1; got {value!r}.")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """Checks that ``value`` is one of ``choices``.

    Example:
      >>> check_choice("truncation", "zero", ("bootstrap", "zero"))
      'zero'
    """
    if value not in choices:
        raise ConfigError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    """Checks that ``value`` is callable.

    Raises:
      TypeError: naming the argument and the type received.

    Example:
      >>> check_callable("potential", abs) is abs
      True
    """
    if not callable(value):
        raise TypeError(
            f"`{name}` must be callable; got {type(value).__name__} {value!r}."
        )
    return value
