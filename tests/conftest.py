import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "examples" / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files in tests/golden from the current output",
    )


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden") or os.environ.get("ARCHVIZ_UPDATE_GOLDEN") == "1"


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process like the entry point: returns (exit code, stdout, stderr)."""
    from archviz.cli import cli

    def run(*args):
        with pytest.raises(SystemExit) as done:
            cli.main(args=[str(a) for a in args], prog_name="archviz")
        out, err = capsys.readouterr()
        return done.value.code, out, err

    return run


# the receptive-field library, copied as it is (it imports TensorFlow; tests/test_receptive_field.py uses it)
collect_ignore = ["receptive_field_library"]
