"""A broker that is down or hung, for the sends that must not wait on it (tests/conftest.py
offers the fixtures to every test)."""

import socket
import threading
import time

import pytest

ANSWER_WITHIN_S = 2.0  # how fast a request that sends to the broker answers when it is down or hung


def timed(call):
    """(call(), seconds it took)."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.fixture
def broker_down(monkeypatch):
    """A Redis URL on a loopback port that refuses connections: bound, never listening."""
    refusing = socket.socket()
    refusing.bind(("127.0.0.1", 0))
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{refusing.getsockname()[1]}/0")
    yield
    refusing.close()


@pytest.fixture
def broker_hung(monkeypatch):
    """A Redis URL on a loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept_and_hold():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # closed at teardown
                return

    threading.Thread(target=accept_and_hold, daemon=True).start()
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", f"redis://127.0.0.1:{server.getsockname()[1]}/0")
    yield
    server.close()
    for conn in held:
        conn.close()
