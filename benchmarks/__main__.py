"""Run every benchmark in turn: python -m benchmarks."""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks


def main() -> None:
    """Import each `bench_*` module and call its `main()`."""
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            print(f"\n== {info.name} ==", flush=True)
            importlib.import_module(f"benchmarks.{info.name}").main()


if __name__ == "__main__":
    main()
