"""Gymnasium vector front-end of the intrinsic bonuses."""

from rewardkit.intrinsic._vector import AddIntrinsicReward

__all__ = ["AddIntrinsicReward"]
