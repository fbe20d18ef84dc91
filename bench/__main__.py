"""`python -m bench`: run every benchmark module that exists (bench/bench_*.py), each writing its results."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    for name in names:
        print(f"==> {name}", flush=True)
        sys.argv = [f"bench.{name}"]  # each benchmark runs with its own defaults
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
