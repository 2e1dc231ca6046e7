"""rewardkit.distances."""

__all__: list[str] = []
