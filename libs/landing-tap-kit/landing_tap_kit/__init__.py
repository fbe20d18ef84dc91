"""landing-tap-kit: the one implementation of what every landing tap does the same way (see README.md)."""
