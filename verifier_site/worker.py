"""The gunicorn worker `receipts serve` runs: waitress's event loop inside a gunicorn worker.

Why: gunicorn's threaded worker gives each connection a thread as soon as its first byte
arrives and then reads the request head blocking, with no deadline; four sockets that
send half a header held all four threads, /healthz included. Here one event loop per
worker reads every connection without blocking (waitress's channels) and hands a thread
only a request that has fully arrived, head and body, within MAX_BODY bytes. So a slow
or idle client costs a socket and a buffer, never a thread:

- a request must arrive whole within REQUEST_SECONDS of its first byte (header and body
  read deadline), and a connection that sends nothing for IDLE_SECONDS (or gunicorn's
  keep-alive setting, if longer) is closed; both are checked every CLEANUP_SECONDS;
- at most `worker_connections` connections per worker; past it the worker stops
  accepting until some close (the kernel's backlog holds the rest);
- requests wait for a thread in a fair queue: one queue per caller (the API key's id,
  else the client address), served in turn, so one customer's flood is served between
  everyone else's requests instead of in front of them; and one caller holds at most
  half the threads at once, so its flood, even of requests refused at once, cannot take
  the processor from everyone else.

gunicorn still manages the processes: workers, restarts, heartbeats and signals.
"""

import logging
import os
import socket
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from receipts.api_keys import key_id_of
from receipts.text import visible
from verifier_site.bodies import DEFAULT_SETTING, largest_limit

REQUEST_SECONDS = 20.0  # from a request's first byte to its last
IDLE_SECONDS = 5  # at least: a connection that sends nothing for this long is closed
CLEANUP_SECONDS = 2  # how often deadlines are checked
HEAD_BYTES = 16 * 1024  # a request line and its header fields; past it, 431
WIRE_SLACK = 64 * 1024
OTHER_APP_BODY_LIMIT = 1024 * 1024


class FairQueue:
    """Waiting requests, one queue per caller, taken in turn; a caller already holding
    `per_caller` threads waits until one of them is free. (It keeps a deque's append,
    popleft, len and truth, which waitress's dispatcher uses to queue and to cancel.)"""

    def __init__(self, caller: Callable[[Any], str], per_caller: int) -> None:
        self._caller = caller
        self.per_caller = per_caller
        self._queues: OrderedDict[str, deque] = OrderedDict()
        self._running: Counter[str] = Counter()
        self._size = 0

    def append(self, task: Any) -> None:
        self._queues.setdefault(self._caller(task), deque()).append(task)
        self._size += 1

    def ready(self) -> bool:
        """Is there a task whose caller may have one more thread?"""
        return any(self._running[caller] < self.per_caller for caller in self._queues)

    def take(self) -> tuple[str, Any]:
        """The next caller in turn that may have one more thread, and its oldest task."""
        caller = next(caller for caller in self._queues if self._running[caller] < self.per_caller)
        self._running[caller] += 1
        return caller, self._pop(caller)

    def finished(self, caller: str) -> None:
        self._running[caller] -= 1
        if not self._running[caller]:
            del self._running[caller]

    def popleft(self) -> Any:
        """The next task in turn, caps aside (waitress cancels what is left this way)."""
        return self._pop(next(iter(self._queues)))

    def _pop(self, caller: str) -> Any:
        tasks = self._queues.pop(caller)
        task = tasks.popleft()
        if tasks:
            self._queues[caller] = tasks  # to the back: everyone else goes first
        self._size -= 1
        return task

    def __len__(self) -> int:
        return self._size


def caller_of(channel: Any) -> str:
    """Who sent the channel's next request: its API key's id, else its address. (A key id
    that is not valid gets its 401 quickly; the id is only a queue name.)"""
    requests = getattr(channel, "requests", None)
    headers = requests[0].headers if requests else {}
    scheme, _, token = headers.get("AUTHORIZATION", "").partition(" ")
    key_id = key_id_of(token.strip()) if scheme.lower() == "bearer" else None
    if key_id:
        return "key:" + key_id
    address = getattr(channel, "addr", None)
    return "address:" + str(address[0] if isinstance(address, tuple) else address)


class FairDispatcher(ThreadedTaskDispatcher):
    """Waitress's thread pool taking requests from a FairQueue; its handler loop is
    waitress's own, but for the caller's thread count kept around each task."""

    def __init__(self, per_caller: int) -> None:
        super().__init__()
        self.queue: FairQueue = FairQueue(caller_of, per_caller)  # type: ignore[assignment]

    def handler_thread(self, thread_no: int) -> None:
        while True:
            with self.lock:
                while not self.queue.ready() and self.stop_count == 0:
                    self.active_count -= 1  # idle until woken
                    self.queue_cv.wait()
                    self.active_count += 1
                if self.stop_count > 0:
                    self.active_count -= 1
                    self.stop_count -= 1
                    self.threads.discard(thread_no)
                    self.thread_exit_cv.notify()
                    break
                caller, task = self.queue.take()
            try:
                task.service()
            except BaseException:
                self.logger.exception("Exception when servicing %r", task)
            finally:
                with self.lock:
                    self.queue.finished(caller)
                    self.queue_cv.notify()  # a task of this caller may be waiting for the thread


class TimedParser(HTTPRequestParser):
    """Remembers when the request's first byte arrived."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()


class TimedChannel(HTTPChannel):
    parser_class = TimedParser


class DeadlineServer(TcpWSGIServer):
    """Closes a connection whose request has not arrived whole in REQUEST_SECONDS."""

    channel_class = TimedChannel

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections: channel_timeout
        close_late_requests(list(self.active_channels.values()))


def close_late_requests(channels: Iterable[Any]) -> None:
    """Close each connection whose request began arriving REQUEST_SECONDS ago and is not whole."""
    cutoff = time.monotonic() - REQUEST_SECONDS
    for channel in channels:
        partial = channel.request
        if partial is not None and not partial.completed and partial.started < cutoff:
            channel.will_close = True


def access_logged(app: Callable, log: Any) -> Callable:
    """One access-log line per request; the path is shown with its control characters visible."""

    def logged(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.monotonic()
        status: list[str] = []

        def start(line: str, headers: list, exc_info: Any = None) -> Callable:
            status[:] = [line.split(" ", 1)[0]]
            return start_response(line, headers, exc_info)

        try:
            return app(environ, start)
        finally:
            path = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
            log.access_log.info(
                '%s "%s %s" %s %.1fms',
                environ.get("REMOTE_ADDR", "-"),
                visible(environ.get("REQUEST_METHOD", "")),
                visible(path),
                status[0] if status else "-",
                (time.monotonic() - started) * 1000,
            )

    return logged


def body_limit_of(app: Any) -> int:
    """The largest body the site's routes take; for another WSGI app (a benchmark's), 1 MiB."""
    if isinstance(app, Flask) and DEFAULT_SETTING in app.config:
        return largest_limit(app)
    return OTHER_APP_BODY_LIMIT


class EventLoopWorker(Worker):
    """gunicorn's settings used: threads, worker_connections, keepalive, graceful_timeout, accesslog."""

    def run(self) -> None:
        # Waitress warns at every request that waits for a thread: under load that is every
        # request, and the fair queue is where they are meant to wait.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        adjustments = Adjustments(
            threads=self.cfg.threads,
            connection_limit=self.cfg.worker_connections,
            channel_timeout=max(IDLE_SECONDS, int(self.cfg.keepalive)),
            cleanup_interval=CLEANUP_SECONDS,
            max_request_header_size=HEAD_BYTES,
            # The app refuses a body over its route's limit, exactly, with its own 413 and
            # message. Waitress counts a chunked body's bytes on the wire, framing included,
            # and refuses past this: room for any sane chunk size, a bound on memory.
            max_request_body_size=2 * body_limit_of(self.wsgi) + WIRE_SLACK,
            clear_untrusted_proxy_headers=False,  # the app's ProxyFix (TRUSTED_PROXIES) decides
            ident="receipts",
            asyncore_use_poll=True,
        )
        dispatcher = FairDispatcher(per_caller=max(1, adjustments.threads // 2))
        dispatcher.set_thread_count(adjustments.threads)
        application = access_logged(self.wsgi, self.log) if self.cfg.accesslog else self.wsgi
        channels: dict = {}
        servers = [
            DeadlineServer(
                application,
                channels,
                _sock=listener.sock,
                dispatcher=dispatcher,
                adj=adjustments,
                bind_socket=False,
                sockinfo=(listener.sock.family, socket.SOCK_STREAM, 0, listener.sock.getsockname()),
            )
            for listener in self.sockets
        ]
        while self.alive and self.ppid == os.getppid():
            self.notify()
            wasyncore.loop(timeout=1.0, map=channels, use_poll=True, count=1)
        self._stop(servers, channels, dispatcher)

    def _stop(self, servers: list[DeadlineServer], channels: dict, dispatcher: FairDispatcher) -> None:
        """Stop accepting, let requests in progress finish (graceful_timeout), then close."""
        for server in servers:
            server.del_channel()  # leaves the listening socket itself to gunicorn
            for channel in list(server.active_channels.values()):
                if not channel.requests and channel.request is None:
                    channel.will_close = True  # idle, kept alive: nothing to finish
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while any(server.active_channels for server in servers) and time.monotonic() < deadline:
            self.notify()
            wasyncore.loop(timeout=0.2, map=channels, use_poll=True, count=1)
        dispatcher.shutdown(timeout=1)
        wasyncore.close_all(channels)
