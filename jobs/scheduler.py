"""The scheduler process (`flask --app shopify_app scheduler`): runs every registered job.

It never runs inside web workers. A lease row in the database names the one scheduler that works;
a second scheduler process keeps renewing its attempt and stays idle until the lease expires.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from jobs.registry import Job
from jobs.registry import load_jobs
from shopify_app.db import get_database
from shopify_app.models import SchedulerLease
from shopify_app.models import Shop

logger = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(seconds=90)
LEASE_RENEW_EVERY = timedelta(seconds=30)


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(
    session_factory: sessionmaker[Session],
    *,
    holder: str,
    now: datetime,
    ttl: timedelta = LEASE_TTL,
    name: str = LEASE_NAME,
) -> bool:
    """Take or renew the lease for *holder*; return whether *holder* holds it now."""
    try:
        with session_factory() as session, session.begin():
            lease = session.scalar(
                select(SchedulerLease).where(SchedulerLease.name == name).with_for_update()
            )
            if lease is None:
                session.add(
                    SchedulerLease(name=name, holder=holder, expires_at=now + ttl, renewed_at=now)
                )
                return True
            if lease.holder != holder and lease.expires_at > now:
                return False
            lease.holder = holder
            lease.expires_at = now + ttl
            lease.renewed_at = now
            return True
    except IntegrityError:  # another scheduler inserted the first lease at the same moment
        return False


def release_lease(
    session_factory: sessionmaker[Session], *, holder: str, name: str = LEASE_NAME
) -> None:
    with session_factory() as session, session.begin():
        lease = session.get(SchedulerLease, name)
        if lease is not None and lease.holder == holder:
            session.delete(lease)


def installed_shops(app: Flask, *, domain: str | None = None) -> list[tuple[int, str]]:
    with get_database(app).session_factory() as session:
        statement = select(Shop.id, Shop.domain).where(
            Shop.installed_at.is_not(None), Shop.uninstalled_at.is_(None)
        )
        if domain is not None:
            statement = statement.where(Shop.domain == domain)
        return [(row.id, row.domain) for row in session.execute(statement.order_by(Shop.id))]


@dataclass
class JobRun:
    name: str
    results: dict[str, object] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def run_job(app: Flask, name: str, job: Job, *, now: datetime, domain: str | None = None) -> JobRun:
    """Run *job* for every installed shop (or one); a shop's failure is logged and kept apart."""
    outcome = JobRun(name=name)
    for shop_id, shop_domain in installed_shops(app, domain=domain):
        try:
            outcome.results[shop_domain] = job.run(app, shop_id, now)
        except Exception as exc:  # one shop's failure must not stop the others
            logger.exception("Job %s failed", name, extra={"shop": shop_domain})
            outcome.failures[shop_domain] = f"{type(exc).__name__}: {exc}"
    return outcome


def run_once(
    app: Flask, *, now: datetime, domain: str | None = None, jobs: dict[str, Job] | None = None
) -> list[JobRun]:
    """Run every flow job (planners, attribution, then the sender) once as of *now*."""
    registry = jobs if jobs is not None else load_jobs()
    return [
        run_job(app, name, job, now=now, domain=domain)
        for name, job in registry.items()
        if job.in_run_once
    ]


class Scheduler:
    """APScheduler in its own process; jobs only run while this process holds the lease."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.holder = new_holder_id()
        self.session_factory = get_database(app).session_factory
        self.is_leader = False
        self.scheduler = BlockingScheduler(timezone=UTC)

    def renew(self) -> None:
        was_leader = self.is_leader
        self.is_leader = acquire_lease(
            self.session_factory, holder=self.holder, now=datetime.now(UTC)
        )
        if self.is_leader != was_leader:
            logger.info("Scheduler %s", "took the lease" if self.is_leader else "is idle")

    def _runner(self, name: str, job: Job) -> None:
        if not self.is_leader:
            return
        with self.app.app_context():
            run = run_job(self.app, name, job, now=datetime.now(UTC))
        if run.failures:
            logger.warning("Job %s failed for %d shops", name, len(run.failures))

    def start(self) -> None:
        self.renew()
        self.scheduler.add_job(
            self.renew,
            IntervalTrigger(seconds=LEASE_RENEW_EVERY.total_seconds()),
            id="lease",
            max_instances=1,
            coalesce=True,
        )
        for name, job in load_jobs().items():
            self.scheduler.add_job(
                self._runner,
                IntervalTrigger(seconds=job.every.total_seconds()),
                args=(name, job),
                id=name,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        logger.info("Scheduler %s started with %d jobs", self.holder, len(load_jobs()))
        # On SIGTERM (deploys) stop cleanly so the lease is released, not left to expire.
        signal.signal(signal.SIGTERM, lambda *_: self.scheduler.shutdown(wait=False))
        try:
            self.scheduler.start()
        finally:
            release_lease(self.session_factory, holder=self.holder)
