"""The queue table of django-q2's database broker (`Q_BROKER=orm`), a task's row written in one plain INSERT.

django-q2's ORM broker saves each task through the ORM (a model instance, a
query and its compiler: two thirds of what queueing a task costs). A new
incident writes its task row inside its own transaction (see project.queue),
on SQLite while that transaction holds the database's one write lock, so the
row is written as `project.rows` writes the incident's other rows. The row
is the same; the rest of the broker is django-q2's.
"""

from django import db
from django.db import transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ

from project.rows import insert_all


class QueueTable(ORM):
    def enqueue(self, task):
        if transaction.get_autocommit():  # as django-q2's: outside a transaction, drop a connection past its age
            db.close_old_connections()
        row = OrmQ(key=self.list_key or Conf.CLUSTER_NAME, payload=task, lock=timezone.now())
        insert_all([row])
        return row.pk
