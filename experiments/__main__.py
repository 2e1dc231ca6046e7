"""Runner: ``python -m experiments list | all [--quick] | NAME [--quick] ...``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> dict[str, object]:
    here = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")
    )
    return {n: importlib.import_module(f"experiments.{n}") for n in names}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m experiments {list | all | NAME} [--quick] [options]\n")
        for name, mod in discover().items():
            print(f"  {name:32s} {getattr(mod, 'DESCRIPTION', '')}")
        return 0
    name, rest = argv[0], argv[1:]
    mods = discover()
    if name == "all":
        for n, mod in mods.items():
            if n == "quickstart":
                continue
            t0 = time.perf_counter()
            print(f"\n=== {n} {' '.join(rest)}", flush=True)
            mod.main(rest)
            print(f"=== {n} done in {time.perf_counter() - t0:.1f} s", flush=True)
        return 0
    if name not in mods:
        print(f"unknown experiment {name!r}; known: {', '.join(mods)}", file=sys.stderr)
        return 2
    mods[name].main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
