from __future__ import annotations


def test_help_lists_every_command_without_importing_them(run_cli):
    res = run_cli("--help")
    assert res.exit_code == 0
    for name in ("from-labelme", "from-cvat", "from-csv", "validate", "visualize", "train"):
        assert name in res.stdout


def test_unknown_command_is_usage_error(run_cli):
    res = run_cli("no-such-command")
    assert res.exit_code == 2
    assert "No such command" in res.stderr
