"""Local emulators of the four sources: the "source side" for tests, the demo and benchmarks.

Each source module builds on :mod:`emulators.core`: deterministic data from a seed and a volume,
a simulated clock with a mutation step, vendor paging/auth rules, and fault injection by config.
Taps never import this package; they are pointed at an emulator by their URL setting.
"""
