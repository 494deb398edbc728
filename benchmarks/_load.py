"""A cheap HTTP/1.1 load generator: asyncio streams, keep-alive, pre-built requests.

It shares the machine's cores with the server it measures, so it does as little
as it can per request: no HTTP library, one small parse of the status line and
of Content-Length, reconnect only when the server closes the connection.
"""

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    started: float = 0.0
    finished: float = 0.0
    latencies: list = field(default_factory=list)
    statuses: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    timeouts: int = 0
    reconnects: int = 0

    @property
    def count(self):
        return len(self.latencies)

    @property
    def elapsed(self):
        return self.finished - self.started

    @property
    def rate(self):
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    def server_errors(self):
        return sum(n for code, n in self.statuses.items() if code >= 500)

    def summary(self):
        return {
            "requests": self.count,
            "seconds": round(self.elapsed, 3),
            "rate": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50) * 1000, 1),
            "p90_ms": round(self.percentile(0.90) * 1000, 1),
            "p99_ms": round(self.percentile(0.99) * 1000, 1),
            "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": len(self.errors),
            "timeouts": self.timeouts,
            "reconnects": self.reconnects,
        }


def build_request(host, port, path, body):
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class _Connection:
    def __init__(self, host, port, result):
        self.host, self.port, self.result = host, port, result
        self.reader = self.writer = None

    async def send(self, request):
        """Send one request; return the status code. Reconnects once if the server had closed."""
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(request)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                self.result.reconnects += 1
                if attempt == 2:
                    raise
                continue
            status = int(head[9:12])
            lower = head.lower()
            index = lower.find(b"content-length:")
            length = int(lower[index + 15 : lower.index(b"\r\n", index)]) if index >= 0 else 0
            if length:
                await self.reader.readexactly(length)
            if b"connection: close" in lower:
                self.close()
            return status
        raise AssertionError("unreachable")

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(host, port, requests, clients, *, total=None, duration=None, rate=None, timeout=None):
    """`requests(i)` returns the bytes of request i.

    Closed loop (rate=None): each client sends its next request as soon as the
    previous one is answered, until `total` requests or `duration` seconds.
    Open loop (rate=R): request i is due at start + i/R; its latency counts from
    that due time, so a server falling behind is not hidden by waiting clients.
    A request not answered within `timeout` seconds is given up (a client
    time-out, as Alertmanager's) and counted in `timeouts`, not in latencies.
    """
    result = Result()
    counter = iter(range(total if total is not None else 10**12))
    loop = asyncio.get_running_loop()
    result.started = start = loop.time()
    deadline = start + duration if duration else float("inf")

    async def client():
        connection = _Connection(host, port, result)
        try:
            for index in counter:
                due = start + index / rate if rate else loop.time()
                if due >= deadline or loop.time() >= deadline:
                    break
                if rate and due > loop.time():
                    await asyncio.sleep(due - loop.time())
                request = requests(index)
                sent = due if rate else loop.time()
                try:
                    status = await asyncio.wait_for(connection.send(request), timeout)
                except TimeoutError:
                    result.timeouts += 1
                    connection.close()
                    continue
                except (OSError, asyncio.IncompleteReadError) as exc:
                    result.errors.append(repr(exc))
                    connection.close()
                    continue
                result.latencies.append(loop.time() - sent)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    result.finished = loop.time()
    return result


def merge(results):
    """The results of several runs as one: their requests together, over the sum of their durations."""
    merged = Result(finished=sum(r.elapsed for r in results))
    for result in results:
        merged.latencies += result.latencies
        merged.errors += result.errors
        merged.timeouts += result.timeouts
        merged.reconnects += result.reconnects
        for status, count in result.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + count
    merged.generator_cpu = sum(r.generator_cpu for r in results)
    return merged


def run(host, port, requests, clients, **kwargs):
    cpu_before = time.process_time()
    result = asyncio.run(_run(host, port, requests, clients, **kwargs))
    result.generator_cpu = time.process_time() - cpu_before
    return result
