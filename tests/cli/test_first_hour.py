"""The operator's first hour: a config read from another folder, files that are not UTF-8,
and the directory listings."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import FrozenClock
from housedesk.bootstrap import App
from housedesk.cli.main import build_parser
from housedesk.settings.config import ConfigError, load_settings
from tests.conftest import REPO


def test_paths_in_the_config_file_are_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HOUSEDESK_STORAGE__DATA_DIR", "HOUSEDESK_DATABASE__URL"):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "srv"
    site.mkdir()
    (site / "config.toml").write_text(
        '[database]\nurl = "sqlite://data/hd.sqlite3"\n[storage]\ndata_dir = "data"\n'
        '[voicemail]\ndrop_folder = "/var/spool/pbx"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings("srv/config.toml")
    assert settings.storage.data_dir == site / "data"
    assert settings.database.url == f"sqlite://{site}/data/hd.sqlite3"
    assert settings.voicemail.drop_folder == Path("/var/spool/pbx")  # absolute: as written

    monkeypatch.setenv("HOUSEDESK_STORAGE__DATA_DIR", "elsewhere")  # a variable: as given
    assert load_settings("srv/config.toml").storage.data_dir == Path("elsewhere")


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'[service]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)  # `housedesk` prints it as "housedesk: config error: ..."
    assert str(caught.value) == (
        f"config file {config} is not UTF-8 text (byte 21); save it as UTF-8"
    )


async def housedesk(app: App, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(await args.func(app, args))


async def test_a_directory_file_that_is_not_utf8_is_refused_in_one_line(
    app: App, tmp_path: Path
) -> None:
    from core.errors import InvalidInput

    directory = tmp_path / "directory.toml"
    directory.write_bytes(b'[[buildings]]\ncode = "X"\nname = "caf\xe9"\n')
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(byte 36\); save it as UTF-8"):
        await housedesk(app, "import", str(directory))


async def test_staff_and_buildings_are_listed(
    app: App, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    await housedesk(app, "import", str(REPO / "examples" / "directory.toml"))
    capsys.readouterr()
    await housedesk(app, "staff", "list")
    staff = capsys.readouterr().out
    assert (
        "Bob Plumber · technician · bob@oakcourt.example, +447700900101 · chat linked\n"
        "  buildings: OAK · trades: plumbing, general\n"
    ) in staff
    assert "Carol Accounts · dispatcher · accounts@oakcourt.example · chat not linked" in staff
    await housedesk(app, "building", "list")
    buildings = capsys.readouterr().out.splitlines()
    assert buildings == [
        "LIPA     ЖК Липовый · Europe/Moscow · ru · +7 495 000-00-07 · 120 flats · 0 residents",
        "OAK      Oak Court · Europe/London · en · +44 20 7946 0101 · 41 flats · 1 resident",
    ]


def test_a_negative_limit_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["tickets", "list", "--limit", "-1"])
    assert exited.value.code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("error: argument --limit: must be 0 or more, not -1")
    )
