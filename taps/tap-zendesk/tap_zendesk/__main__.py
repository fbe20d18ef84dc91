"""``python -m tap_zendesk`` = ``tap-zendesk``."""

from tap_zendesk.tap import TapZendesk

TapZendesk.cli()
