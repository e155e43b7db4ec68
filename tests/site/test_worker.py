"""The site's worker, piece by piece: the fair queue, who a request is from, and the
deadline for a request to arrive whole (tests/site/test_slow_clients.py runs it whole)."""

import logging
from types import SimpleNamespace

import pytest
from waitress.adjustments import Adjustments

from verifier_site import worker
from verifier_site.worker import FairQueue, TimedParser, access_logged, caller_of, close_late_requests


def test_the_fair_queue_takes_each_caller_in_turn() -> None:
    queue = FairQueue(lambda task: task[0], per_caller=100)
    for task in ("a1", "a2", "a3", "a4", "b1", "c1", "b2"):
        queue.append(task)
    assert len(queue) == 7
    taken = [queue.popleft() for _ in range(4)]
    queue.append("d1")  # a late caller waits behind one turn of the others, not behind a's flood
    taken += [queue.popleft() for _ in range(len(queue))]
    assert taken == ["a1", "b1", "c1", "a2", "b2", "a3", "d1", "a4"]
    assert len(queue) == 0 and not queue


def test_a_caller_holding_its_share_of_threads_waits_while_others_go_first() -> None:
    queue = FairQueue(lambda task: task[0], per_caller=2)
    for task in ("a1", "a2", "a3", "a4", "b1"):
        queue.append(task)
    taken = [queue.take() for _ in range(3)]
    assert taken == [("a", "a1"), ("b", "b1"), ("a", "a2")]
    assert not queue.ready() and len(queue) == 2  # a holds its two threads: a3 and a4 wait
    queue.finished("a")
    assert queue.ready() and queue.take() == ("a", "a3")
    queue.finished("b")
    assert not queue.ready()
    assert queue.popleft() == "a4" and not queue  # cancelling what is left ignores the caps


def channel(authorization: str | None = None, address: str = "10.0.0.7") -> SimpleNamespace:
    headers = {} if authorization is None else {"AUTHORIZATION": authorization}
    return SimpleNamespace(requests=[SimpleNamespace(headers=headers)], addr=(address, 4242))


@pytest.mark.parametrize(
    ("authorization", "caller"),
    [
        ("Bearer sk_0123456789abcdef_" + "s" * 43, "key:0123456789abcdef"),
        ("bearer  sk_0123456789abcdef_" + "s" * 43, "key:0123456789abcdef"),
        ("Bearer not-a-key", "address:10.0.0.7"),
        ("Basic dXNlcjpwYXNz", "address:10.0.0.7"),
        (None, "address:10.0.0.7"),
    ],
)
def test_a_request_is_from_its_api_key_else_its_address(authorization, caller) -> None:
    assert caller_of(channel(authorization)) == caller


def test_a_channel_without_a_request_yet_is_its_address() -> None:
    assert caller_of(SimpleNamespace(requests=[], addr=("10.0.0.8", 1))) == "address:10.0.0.8"


def pending(started: float, completed: bool = False) -> SimpleNamespace:
    parser = TimedParser(Adjustments())
    parser.started, parser.completed = started, completed
    return SimpleNamespace(request=parser, requests=[], last_activity=float("inf"), will_close=False)


def test_a_request_that_has_not_arrived_whole_in_time_closes_its_connection(monkeypatch) -> None:
    now = 1000.0
    monkeypatch.setattr(worker.time, "monotonic", lambda: now)
    late = pending(now - worker.REQUEST_SECONDS - 1)
    fresh = pending(now - 1)
    done = pending(now - worker.REQUEST_SECONDS - 1, completed=True)  # handed to a thread already
    idle = SimpleNamespace(request=None, requests=[], last_activity=float("inf"), will_close=False)
    close_late_requests([late, fresh, done, idle])
    assert [late.will_close, fresh.will_close, done.will_close, idle.will_close] == [True, False, False, False]


def test_the_servers_body_cap_follows_the_sites_largest_route_limit(make_site) -> None:
    from flask import Flask

    site = make_site(MAX_CONTENT_LENGTH=3 * 1024 * 1024)
    assert worker.body_limit_of(site.app) == 3 * 1024 * 1024
    assert worker.body_limit_of(Flask("another")) == worker.OTHER_APP_BODY_LIMIT  # a benchmark's constant app


def test_the_access_log_shows_control_characters_in_paths_as_escapes(caplog) -> None:
    def app(environ, start_response):
        start_response("404 NOT FOUND", [])
        return [b""]

    log = SimpleNamespace(access_log=logging.getLogger("test.access"))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x\x1b[2K\rOK", "REMOTE_ADDR": "1.2.3.4"}
    with caplog.at_level(logging.INFO, logger="test.access"):
        access_logged(app, log)(environ, lambda status, headers, exc_info=None: None)
    [line] = caplog.messages
    assert "\x1b" not in line and "\r" not in line
    assert '1.2.3.4 "GET /x\\u001b[2K\\u000dOK" 404' in line
