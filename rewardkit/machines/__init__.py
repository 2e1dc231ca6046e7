"""rewardkit.machines."""

__all__: list[str] = []
