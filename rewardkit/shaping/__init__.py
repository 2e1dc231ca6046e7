"""rewardkit.shaping."""

__all__: list[str] = []
