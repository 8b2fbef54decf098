"""Bad command lines, everywhere: exit 2 and ONE line on stderr that says what is wrong.

Walks the real typer app (sub-apps included) so a command added later is covered
without editing this file. Runs `agentctl.cli.main.main` in-process (same code
as the console script, minus the interpreter start) to stay fast.
"""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path

import pytest
import typer.main

from agentctl.cli.main import app, main

BAD_VALUE = "not-a-valid-value"


# typer vendors its own click (typer._click) and describes a parameter's type by its Python annotation.


def _annotation(p):
    return p.type_descriptor.annotation


def _is_argument(p) -> bool:
    return p.param_type_name == "argument"


def _is_number(p) -> bool:
    return _annotation(p) in (int, float)


def _is_choice(p) -> bool:
    return isinstance(_annotation(p), type) and issubclass(_annotation(p), enum.Enum)


def _is_existing_path(p) -> bool:
    return _annotation(p) is Path and bool(getattr(p.type_descriptor.parameter_info, "exists", False))


def _leaves(cmd, path: tuple[str, ...] = ()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


COMMANDS = dict(_leaves(typer.main.get_command(app)))


def _filler(param) -> list[str]:
    """A plausible value for a positional argument, so the option under test is what fails."""
    if _is_number(param):
        return ["1"]
    if _annotation(param) is Path:
        return [__file__]
    return ["5"] if param.name == "amount" else ["x"]


def _args_filled(cmd) -> list[str]:
    out: list[str] = []
    for p in cmd.params:
        if _is_argument(p) and p.required:
            out += _filler(p) * (p.nargs if p.nargs > 0 else 1)
    return out


def _typed_options(cmd):
    """Options whose type rejects an arbitrary word: numbers, ranges, choices, existing paths."""
    for p in cmd.params:
        hideable = p.param_type_name == "option" and not p.is_flag and not p.hidden
        if hideable and (_is_number(p) or _is_choice(p) or _is_existing_path(p)):
            yield p


def _bad_invocations():
    for path, cmd in COMMANDS.items():
        name = " ".join(path)
        filled = _args_filled(cmd)
        yield pytest.param([*path, *filled, "--no-such-option"], "--no-such-option", id=f"{name}:unknown-option")
        yield pytest.param([*path, *filled, "surplus", "arguments", "here"], None, id=f"{name}:surplus-args")
        for opt in _typed_options(cmd):
            flag = max(opt.opts, key=len)
            yield pytest.param([*path, *filled, flag, BAD_VALUE], flag, id=f"{name}:{flag}={BAD_VALUE}")
            yield pytest.param([*path, *filled, flag], flag, id=f"{name}:{flag}-without-value")
        for arg in cmd.params:
            if _is_argument(arg) and arg.required:
                rest = [v for p in cmd.params if _is_argument(p) and p is not arg for v in _filler(p)]
                yield pytest.param([*path, *rest][: len(path) + len(rest)], None, id=f"{name}:missing-{arg.name}")
                if _is_number(arg):
                    yield pytest.param([*path, BAD_VALUE, *rest], None, id=f"{name}:{arg.name}={BAD_VALUE}")
    yield pytest.param(["frobnicate"], "frobnicate", id="unknown-command")
    yield pytest.param(["db", "frobnicate"], "frobnicate", id="db:unknown-command")
    yield pytest.param(["--no-such-option"], "--no-such-option", id="top-level:unknown-option")


@pytest.fixture
def no_db(tmp_path, monkeypatch):
    """Settings pointing at a database that cannot exist: a command that got past parsing would exit 75, not 2."""
    from agentctl import settings as settings_mod

    monkeypatch.setenv("AGENTCTL_DATABASE_URL", f"postgresql://nobody@/nodb?host={tmp_path}/no-socket&port=1")
    monkeypatch.setenv("AGENTCTL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTCTL_CONFIG", os.devnull)
    settings_mod.get_settings.cache_clear()
    yield
    settings_mod.get_settings.cache_clear()


def run_main(monkeypatch, capsys, argv: list[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["agentctl", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def _assert_one_usage_line(code, out, err, says=None):
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("agentctl: "), err
    assert "Traceback" not in err and out == ""
    if says:
        assert says.lower() in lines[0].lower(), lines[0]


def test_the_walk_finds_every_command():
    names = {" ".join(p) for p in COMMANDS}
    assert {
        "tick",
        "run",
        "cancel",
        "db upgrade",
        "db status",
        "status",
        "cycles",
        "show",
        "budget set",
        "cost",
        "actions",
        "triggers",
        "doctor",
        "metrics",
        "data list",
        "data import",
        "cron",
        "db stop",
        "db start",
    } <= names


@pytest.mark.parametrize("argv, says", list(_bad_invocations()))
def test_bad_arguments_exit_2_with_one_line(no_db, monkeypatch, capsys, argv, says):
    _assert_one_usage_line(*run_main(monkeypatch, capsys, argv), says)


# `budget set`: tests/reports/test_reports_cli_budget_and_doctor.py covers -1, 0, abc, 1e309, 0.001, nan, 2026-02-30,
# 'tomorrow', a past date and --date with --default; these are the ones it does not.
@pytest.mark.parametrize(
    "args, says",
    [
        (["-0"], "not positive"),
        (["-0.00"], "not positive"),
        (["inf"], "finite"),
        (["-inf"], "finite"),
        (["Infinity"], "finite"),
        (["1e-3"], "more than cents"),
        (["10000.01"], "maximum"),
        (["1e4000"], "maximum"),
        (
            [
                "",
            ],
            "amount",
        ),
        (["10 USD"], "not an amount"),
        (["10$"], "not an amount"),
        (["1,5"], "not an amount"),
        (["0x10"], "not an amount"),
        (["5", "--date", "2027-02-29"], "not a real date"),  # not a leap year
        (["5", "--date", "2026-13-01"], "not a real date"),
        (["5", "--date", "2026-04-31"], "not a real date"),
        (["5", "--date", "0000-01-01"], "date"),
        (["5", "--date", ""], "YYYY-MM-DD"),
        (["5", "--date", "2026-1-1"], "YYYY-MM-DD"),
        (["5", "--date", "2026-01-01\x00"], "YYYY-MM-DD"),
        (["5", "--date"], "--date"),
        ([], "AMOUNT"),
    ],
)
def test_budget_set_rejects_more_bad_input(no_db, monkeypatch, capsys, args, says):
    _assert_one_usage_line(*run_main(monkeypatch, capsys, ["budget", "set", *args]), says)
