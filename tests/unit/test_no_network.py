"""The unit tier runs with sockets disabled (pytest-socket, switched on in tests/conftest.py).
pytest-socket also warns (a UserWarning naming the call) when it blocks one."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError

pytestmark = pytest.mark.unit


def test_a_unit_test_cannot_open_a_connection() -> None:
    with pytest.raises(SocketBlockedError), pytest.warns(UserWarning, match="tried to use socket"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_nor_create_a_socket_at_all() -> None:
    with pytest.raises(SocketBlockedError), pytest.warns(UserWarning, match="tried to use socket"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
