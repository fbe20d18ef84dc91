from landing_tap_zengrc.tap import TapZenGRC

TapZenGRC.cli()
