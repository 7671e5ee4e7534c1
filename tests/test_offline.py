"""The offline guarantee: with every socket blocked, import, train, run, grade and agree all work.

Every way of opening a connection, sending a datagram, listening, binding to a non-loopback
address or resolving a name is replaced by a function that records the attempt and raises, so
a library that swallows the error still fails the test (making a socket object sends nothing;
urllib3 makes one at import time to probe for IPv6 on the loopback address).
"""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from autocode.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


@pytest.fixture()
def sockets_blocked(monkeypatch):
    attempts: list[str] = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(f"{name}{args!r}")
            raise OSError(f"network access attempted in an offline test: {name}")
        return blocked

    for name in ("connect", "connect_ex", "sendto", "sendmsg", "listen"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.{name}"))
    real_bind = socket.socket.bind

    def bind(sock, address, *rest):
        # urllib3 probes for IPv6 at import by binding to ::1; loopback is not a network
        if isinstance(address, tuple) and address[0] in ("::1", "127.0.0.1", "localhost"):
            return real_bind(sock, address, *rest)
        return refuse("socket.bind")(sock, address, *rest)

    monkeypatch.setattr(socket.socket, "bind", bind)
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_server"):
        monkeypatch.setattr(socket, name, refuse(f"socket.{name}"))
    yield attempts
    assert attempts == [], f"autocode tried to use the network: {attempts}"


def ok(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_import_train_run_grade_agree_end_to_end_with_sockets_blocked(mini, tmp_path, sockets_blocked):
    pytest.importorskip("torch")
    from autocode.training import train
    from tests.tiny_models import tiny_bert

    # the blocking works: nothing can open a socket or resolve a name
    with pytest.raises(OSError):
        socket.create_connection(("example.org", 443))
    sockets_blocked.clear()

    # import: Zoom captions (VTT)
    ok("import", FIXTURES / "interop" / "zoom.vtt", "--out", tmp_path / "zoom-study")
    assert any((tmp_path / "zoom-study" / "transcripts").iterdir())

    # train: TF-IDF through the CLI, a tiny transformer through the library
    ok("train", mini, "--out", tmp_path / "tfidf", "--folds", "2")
    train(mini, tmp_path / "tiny", "transformer",
          params={"base": tiny_bert(), "epochs": 2, "lr": 3e-3, "batch_size": 4, "device": "cpu"})
    assert json.loads((tmp_path / "tiny" / "model.json").read_text())["type"] == "transformer"

    # run with each model; export the TF-IDF run as REFI-QDA and import it back (qdpx)
    ok("run", mini, "--model", tmp_path / "tfidf", "--out", tmp_path / "run-tfidf", "--export", "qdpx")
    ok("run", mini, "--model", tmp_path / "tiny", "--out", tmp_path / "run-tiny")
    ok("import", tmp_path / "run-tfidf" / "project.qdpx", "--out", tmp_path / "qdpx-study")
    assert (tmp_path / "qdpx-study" / "codings" / "coder_a.jsonl").is_file()
    # the imported captions can be coded with the study's codebook
    ok("run", tmp_path / "zoom-study", "--model", tmp_path / "tfidf", "--codebook", mini / "codebook.yaml",
       "--out", tmp_path / "run-zoom")

    # grade and agree, human and machine
    segments = tmp_path / "run-tiny" / "segments.jsonl"
    graded = ok("grade", mini, "--coding", segments)
    assert "tension" in graded.output
    ok("agree", mini / "codings" / "coder_a.jsonl", tmp_path / "run-tfidf" / "segments.jsonl",
       "--out", tmp_path / "agree", "--bootstrap", "50")
    assert (tmp_path / "agree" / "agreement.html").is_file()
