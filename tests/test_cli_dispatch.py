"""The ``ra-desktop`` dispatcher: GUI by default, subcommands by name, --self-test alias."""
import pytest

import ra_desktop.cli as cli
import ra_desktop.cli.gui as gui
import ra_desktop.cli.self_test as self_test


@pytest.fixture
def captured(monkeypatch):
    seen = {}
    monkeypatch.setattr(gui, "run", lambda args: seen.setdefault("gui", args) and 0)
    monkeypatch.setattr(self_test, "run", lambda args: seen.setdefault("self_test", args) and 0)
    return seen


def test_folder_alone_opens_gui(captured):
    assert cli.main(["some/folder"]) == 0
    assert captured["gui"].paths == ["some/folder"]


def test_gui_options_without_command_open_gui(captured):
    cli.main(["--model", "models/x", "--device", "cpu", "cases"])
    args = captured["gui"]
    assert (args.model, args.device, args.paths) == ("models/x", "cpu", ["cases"])


def test_self_test_flag_is_the_self_test_command(captured):
    cli.main(["--self-test"])
    assert "self_test" in captured and "gui" not in captured


def test_version_does_not_open_gui(captured, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert "ra-desktop" in capsys.readouterr().out
    assert "gui" not in captured
