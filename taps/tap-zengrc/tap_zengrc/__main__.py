from tap_zengrc.tap import TapZenGRC

TapZenGRC.cli()
