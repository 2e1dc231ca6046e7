"""rewardkit.agents."""

__all__: list[str] = []
