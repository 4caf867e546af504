"""The reconciler's copy of the tier limits (impact analysis) agrees with the emulator's."""

from reconcile.emulator import routes_tier
from reconcile.kinds import vocab


def test_tier_limits_match_the_emulator():
    assert vocab.TIER_LIMITS == routes_tier.TIER_LIMITS
    assert tuple(vocab.TIER_LIMITS) == vocab.TIERS  # lowest first, like TIERS
