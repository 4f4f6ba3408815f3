"""`leadbill load` reads only a regular set-up file of bounded size, and says which file it refused."""

import os
import time

import pytest

from leadbill.cli.commands import load as load_command
from leadbill.cli.main import main

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_device_is_refused_unread_in_one_line(capsys):
    started = time.monotonic()
    assert main(["load", "/dev/zero"]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "/dev/zero" in err and "not a regular file" in err


def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "setup.yaml"
    os.mkfifo(fifo)
    assert main(["load", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_folder_is_refused(tmp_path, capsys):
    assert main(["load", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_a_file_over_the_bound_is_refused_naming_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(load_command, "SETUP_MAX_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200)
    assert main(["load", str(big)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "big.yaml" in err and "at most 1,000" in err


def test_a_missing_file_and_bad_encoding_still_say_so(tmp_path, capsys):
    assert main(["load", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert main(["load", str(latin)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
