"""make run's process manager gives the worker the time a warm stop takes (honcho's own 5 s killed it)."""

import pytest
from honcho import manager

from annotator import procfile_runner


def test_the_stop_wait_defaults_to_nine_seconds_and_reads_the_setting():
    assert procfile_runner.stop_seconds({}) == 9.0
    assert procfile_runner.stop_seconds({"ARBITER_STOP_SECONDS": "20"}) == 20.0


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "1e9", "nan"])
def test_a_stop_wait_that_is_not_a_sensible_number_of_seconds_is_refused_by_name(raw):
    with pytest.raises(SystemExit, match="ARBITER_STOP_SECONDS"):
        procfile_runner.stop_seconds({"ARBITER_STOP_SECONDS": raw})


def test_main_sets_honchos_kill_wait_before_starting(monkeypatch):
    started = []
    monkeypatch.setattr(manager, "KILL_WAIT", 5)
    monkeypatch.setenv("ARBITER_STOP_SECONDS", "8")
    monkeypatch.setattr(procfile_runner.command, "main", lambda argv: started.append((argv, manager.KILL_WAIT)))
    procfile_runner.main(["-e", "x.env"])
    assert started == [(["start", "-e", "x.env"], 8.0)]
