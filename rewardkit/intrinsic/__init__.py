"""rewardkit.intrinsic."""

__all__: list[str] = []
