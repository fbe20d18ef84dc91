"""Singer tap for Workday Adaptive Planning (XML API)."""
