"""The schedule math stays below the ORM: the clock, restrictions and plans import no models."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_after(statement):
    """Our modules loaded by `statement` in a fresh interpreter (no Django setup)."""
    code = (
        f"{statement}\n"
        "import sys\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in {'project', 'rotations'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "module", ["project.clock", "rotations.restrictions", "rotations.plans", "rotations.final_schedule"]
)
def test_the_schedule_math_loads_without_the_models(module):
    loaded = imported_after(f"import {module}")

    assert "rotations.models" not in loaded
    assert "rotations.oncall" not in loaded


def test_the_clock_imports_nothing_of_ours():
    assert imported_after("import project.clock") == {"project", "project.clock"}
