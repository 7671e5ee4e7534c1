import pytest

from autocode.errors import AutocodeError
from autocode.io.atomic import output_dir, write_text
from autocode.io.study import load_study


def test_failed_output_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with output_dir(out) as tmp:
            write_text(tmp / "half.csv", "a,b\n")
            raise RuntimeError("crash half way")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_forced_output_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with output_dir(out, force=True) as tmp:
        write_text(tmp / "new.txt", "new")
        assert (out / "old.txt").exists()  # untouched until the new folder is complete
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_interrupt_during_output_keeps_the_old_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with output_dir(out, force=True) as tmp:
            write_text(tmp / "new.txt", "new")
            raise KeyboardInterrupt
    assert (out / "old.txt").read_text() == "old" and not (out / "new.txt").exists()


def test_study_loads_transcripts_participants_codings(mini):
    study = load_study(mini)
    assert [t.id for t in study.transcripts] == ["M01", "M02", "M03", "M04", "M05"]
    assert study.participants["M01"]["role"] == "physician"
    assert set(study.codings) == {"coder_a", "coder_b"}
    assert study.codebook.name == "mini" and study.settings.heldout == ["M05"]


def test_heldout_must_name_real_transcripts(mini):
    (mini / "study.yaml").write_text("codebook: codebook.yaml\nheldout: [M99]\n")
    with pytest.raises(AutocodeError, match="M99"):
        load_study(mini)


def test_quote_mismatch_is_caught(mini):
    path = mini / "codings" / "coder_a.jsonl"
    path.write_text(path.read_text().replace('"text": "We had no beds', '"text": "We had no cots', 1))
    with pytest.raises(AutocodeError, match="line 1: the quoted text does not match"):
        load_study(mini)


def test_run_without_human_coding_writes_no_comparison(mini, mini_model, tmp_path):
    import shutil

    from autocode.pipeline import run

    shutil.rmtree(mini / "codings")
    result = run(mini, tmp_path / "out", mini_model)
    assert result.comparison is None and not (tmp_path / "out" / "comparison.csv").exists()
