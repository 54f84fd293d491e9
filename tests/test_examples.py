"""Every example runs (small sizes, no windows), so none can rot.

Each examples/<name>.py defines run(quick: bool, out: Path) -> dict of its key results, and runs
itself from the command line. Tests of what an example shows live in tests/test_example_<name>.py.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")  # pictures go to files; no window opens

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    return load_script(EXAMPLES / f"{name}.py", f"example_{name}")


def load_script(path: pathlib.Path, name: str) -> ModuleType:
    """Import the script at `path` as the module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is being made
    spec.loader.exec_module(module)
    return module


def run_example(name: str, out: pathlib.Path, **options: Any) -> dict[str, Any]:
    results = load_example(name).run(quick=True, out=out, **options)
    assert isinstance(results, dict)
    return results


# examples whose own test file already runs the quick mode and checks every picture it writes: run once
QUICK_RUN_ELSEWHERE = {"cnn_digits", "char_lstm", "char_gpt"}


def test_the_examples_run_elsewhere_are_checked_there() -> None:
    for name in QUICK_RUN_ELSEWHERE:
        text = (EXAMPLES.parent / "tests" / f"test_example_{name}.py").read_text()
        assert "quick=True" in text and "PNG" in text, name


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.py")
                                        if not p.stem.startswith("_") and p.stem not in QUICK_RUN_ELSEWHERE))
def test_every_example_runs_quickly_and_writes_its_pictures(name: str, tmp_path: pathlib.Path) -> None:
    results = run_example(name, tmp_path)
    for picture in results.get("pictures", []):
        path = pathlib.Path(picture)
        assert path.exists() and path.stat().st_size > 0, f"{name} promised {path} but did not write it"
