"""``python -m landing_tap_zendesk`` = ``landing-tap-zendesk``."""

from landing_tap_zendesk.tap import TapZendesk

TapZendesk.cli()
