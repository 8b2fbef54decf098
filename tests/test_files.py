"""`files.write_atomically`: the one way agentctl writes a file a kill must not leave half-written."""

from __future__ import annotations

import pytest

from agentctl.files import write_atomically


def test_the_file_is_replaced_whole_and_no_temporary_is_left(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    write_atomically(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomically(target, None)  # type: ignore[arg-type]  # a write that fails halfway
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
