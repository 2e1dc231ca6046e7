"""Functional (JAX env protocol) front-end of the intrinsic bonuses."""

from rewardkit.intrinsic._functional import (
    AddIntrinsicParams,
    AddIntrinsicReward,
    AddIntrinsicState,
)

__all__ = ["AddIntrinsicParams", "AddIntrinsicReward", "AddIntrinsicState"]
