"""The outbox: message rows claimed, sent, recorded, retried and recovered — the same way for every message.

Each message is a row (a subclass of `delivery.models.OutboxMessage`) written
before anything is sent. An `Outbox` runs the cycle over one kind of row:

- `hand_out()` gives due, pending rows to the task queue in batches (marking
  them handed out, so the ticker does not hand them out twice);
- `send(ids)` claims rows with one compare-and-set (pending → sending, tagged
  with this call's token), so two workers given the same rows send each once;
  it delivers each outside any transaction and records the results at least
  every second, so a worker killed mid-batch leaves few sent-but-unrecorded rows;
- a failure is retried with backoff (`retry_delay`), then the row fails;
- `recover()` puts rows whose worker died while sending back to pending and
  hands out what is due. Better twice than never.

What a row says and where it goes is the owner's business: `prepare(row, cache)`
returns `(target, message)`, or None when the message is no longer wanted (the
row is cancelled); `recorded(outcomes)` runs inside the transaction that writes
the results (to put them on an incident's timeline, say).
"""

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.models import Status
from delivery.transports import Result, deliver
from project.queue import enqueue

logger = logging.getLogger(__name__)

# Retry policy of every message row.
MAX_ATTEMPTS = 3
RETRY_BACKOFF = (10, 30)  # seconds before the 2nd and 3rd attempts
# A message claimed this long ago and still "sending" lost its worker (django-q2
# kills a task after 60 s): it is sent again; better twice than never.
STALE_SENDING_AFTER = timedelta(seconds=120)
STORED_TEXT = 2000  # characters of an error or provider response kept on the row


def retry_delay(attempts):
    """Seconds to wait after `attempts` failed attempts, or None when they are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_BACKOFF[min(attempts, len(RETRY_BACKOFF)) - 1]


@dataclass
class Outcome:
    """What became of one claimed row: sent, pending again (retry in `retry_in` s), failed or cancelled."""

    row: object
    result: Result | None
    status: str
    retry_in: int | None = None


class Outbox:
    def __init__(
        self,
        model,
        *,
        task,
        prepare,
        recorded=None,
        select_related=(),
        batch=250,
        claim_chunk=100,
        budget=40,
        flush_every=1.0,
        reenqueue_after=timedelta(seconds=60),
        tick_batch=5000,
    ):
        self.model = model
        self.task = task  # dotted path of a task that calls `send(ids)`
        self.prepare = prepare
        self.recorded = recorded
        self.select_related = select_related
        self.batch = batch  # rows per task
        self.claim_chunk = claim_chunk  # rows claimed at once inside a task
        self.budget = budget  # seconds a task starts new chunks for (django-q2 kills a task after 60)
        self.flush_every = flush_every  # seconds between writes of the results
        self.reenqueue_after = reenqueue_after  # a handed-out row not sent by then is handed out again
        self.tick_batch = tick_batch

    # --- handing out --------------------------------------------------------------

    def due(self, queryset=None, *, now):
        queryset = self.model.objects.all() if queryset is None else queryset
        not_handed = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - self.reenqueue_after)
        return queryset.filter(not_handed, status=Status.PENDING, due_at__lte=now)

    def hand_out(self, queryset=None, *, now=None):
        """Give due, pending, not yet handed-out rows to the queue in batches; returns how many."""
        now = now or timezone.now()
        ids = list(self.due(queryset, now=now).order_by("due_at", "pk").values_list("pk", flat=True)[: self.tick_batch])
        handed = 0
        for start in range(0, len(ids), self.batch):
            chunk = ids[start : start + self.batch]
            self.model.objects.filter(pk__in=chunk, status=Status.PENDING).update(enqueued_at=now)
            if not self._enqueue(chunk):
                break  # the broker is down: the next tick tries again
            handed += len(chunk)
        return handed

    def _enqueue(self, chunk):
        if enqueue(self.task, chunk) is None:
            self.model.objects.filter(pk__in=chunk, status=Status.PENDING).update(enqueued_at=None)
            return False
        return True

    def hand_out_on_commit(self, queryset):
        transaction.on_commit(lambda: self.hand_out(queryset))

    def enqueue_on_commit(self, ids):
        """Queue rows already marked as handed out, after the transaction that wrote them commits."""
        for start in range(0, len(ids), self.batch):
            chunk = ids[start : start + self.batch]
            transaction.on_commit(lambda chunk=chunk: self._enqueue(chunk))

    def recover(self, now=None):
        """Rows whose worker died while sending go back to pending; due rows go to the queue."""
        now = now or timezone.now()
        self.model.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_SENDING_AFTER).update(
            status=Status.PENDING, enqueued_at=None
        )
        return self.hand_out(now=now)

    def release(self):
        """Rows handed out but not claimed go back to the ticker (a stopping worker's queue held them)."""
        return self.model.objects.filter(status=Status.PENDING, enqueued_at__isnull=False).update(enqueued_at=None)

    def stuck(self, now=None):
        """Rows still "sending" long after `recover()` should have put them back: no worker recovers them."""
        now = now or timezone.now()
        return self.model.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_SENDING_AFTER * 2)

    # --- sending ------------------------------------------------------------------

    def send(self, ids, *, now=None):
        """Deliver due rows, each once, a chunk at a time; returns how many were sent."""
        ids = list(ids)
        started = time.monotonic()
        cache = {}
        sent = 0
        for start in range(0, len(ids), self.claim_chunk):
            if time.monotonic() - started > self.budget:
                # Out of time: the ticker hands the rest out again.
                self.model.objects.filter(pk__in=ids[start:], status=Status.PENDING).update(enqueued_at=None)
                break
            sent += self._send_chunk(ids[start : start + self.claim_chunk], now=now or timezone.now(), cache=cache)
        return sent

    def _send_chunk(self, ids, *, now, cache):
        token = secrets.token_hex(16)
        claimed = self.model.objects.filter(pk__in=ids, status=Status.PENDING, due_at__lte=now).update(
            status=Status.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
        )
        if not claimed:
            return 0
        rows = self.model.objects.filter(pk__in=ids, claim=token, status=Status.SENDING)
        if self.select_related:
            rows = rows.select_related(*self.select_related)
        sent = 0
        outcomes = []
        flushed = time.monotonic()
        for row in rows.order_by("pk"):
            prepared = self.prepare(row, cache)
            result = None if prepared is None else deliver(*self._identified(row, *prepared))
            outcomes.append(self._outcome(row, result))
            if time.monotonic() - flushed > self.flush_every:
                sent += self._record(outcomes)
                outcomes, flushed = [], time.monotonic()
        return sent + self._record(outcomes)

    def _identified(self, row, target, message):
        """The message with its delivery id: the same on every attempt, so receivers can deduplicate."""
        message.delivery_id = f"{self.model._meta.label_lower}:{row.pk}"
        return target, message

    @staticmethod
    def _outcome(row, result):
        if result is None:
            return Outcome(row, None, Status.CANCELLED)
        if result.ok:
            return Outcome(row, result, Status.SENT)
        delay = retry_delay(row.attempts)
        if delay is not None:
            return Outcome(row, result, Status.PENDING, retry_in=delay)
        return Outcome(row, result, Status.FAILED)

    def _record(self, outcomes):
        """Write the results of several sends in one transaction (one commit, one fsync)."""
        if not outcomes:
            return 0
        with transaction.atomic():
            for outcome in outcomes:
                self._write(outcome)
            if self.recorded is not None:
                self.recorded(outcomes)
        return sum(1 for outcome in outcomes if outcome.status == Status.SENT)

    def _write(self, outcome):
        row, result = outcome.row, outcome.result
        rows = self.model.objects.filter(pk=row.pk, claim=row.claim)
        if result is None:
            rows.update(status=Status.CANCELLED)
            return
        texts = {"error": result.error[:STORED_TEXT], "response": result.response[:STORED_TEXT]}
        if outcome.status == Status.SENT:
            rows.update(status=Status.SENT, sent_at=timezone.now(), **texts)
        elif outcome.status == Status.PENDING:
            due = timezone.now() + timedelta(seconds=outcome.retry_in)
            rows.update(status=Status.PENDING, due_at=due, enqueued_at=None, **texts)
        else:
            rows.update(status=Status.FAILED, **texts)
            logger.warning("message failed for good model=%s id=%s", self.model._meta.label, row.pk)
