"""Every command has help, is listed, and `digest --help` stays fast to import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from digest.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and f" {name} " in result.output


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, (_, summary) in COMMANDS.items():
        assert name in result.output and summary[:30] in result.output


def test_help_imports_no_heavy_module():
    """`digest --help` must not import the pipeline's heavy parts (start-up budget)."""
    code = (
        "import sys\n"
        "from digest.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('numpy', 'scipy', 'jinja2', 'mjml', 'feedgen', 'httpx', 'pydantic',"
        " 'lxml', 'starlette') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"
