"""The batch worker: claims requests from the store, sends them, records each result once.

One thread (the one that calls :meth:`BatchRunner.run`) owns the store and the results file;
sender threads only talk HTTP. The loop::

    claim up to (capacity - in flight) requests   -- committed before they are sent
    hand them to sender threads                   -- each retries retryable failures itself
    record what came back, in one transaction     -- guarded by the lease: recorded once
    append the recorded results to the file       -- fsync, then mark them written
    every lease/3 seconds: renew leases, heartbeat, settle (cancel, deadline, end)

A process killed at any point loses only its leases: the requests it held are claimed again (by
the same command run again at once, on this host; by any worker once the lease runs out) and sent
again. The service may therefore see a request twice (at-least-once), but the store records one
result per request and the results file holds one line per ``custom_id``.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from .._errors import APIStatusError
from .._pipeline import backoff_delay
from ._admission import AdaptiveLimit, Admission, GovernedAdmission
from ._deadline import BatchCanceling, DeadlineGate, DeadlinePassed
from ._format import canceled_result, expired_result, result_line
from ._outcome import Verdict, judge_error, judge_message
from ._output import ResultsFile
from ._state import (
    CANCELED,
    ENDED,
    ERRORED,
    EXPIRED,
    IN_PROGRESS,
    SUCCEEDED,
)
from .store import BatchRecord, BatchStore, Claimed

__all__ = ["BatchProgress", "BatchRunner", "new_worker_id"]

logger = logging.getLogger(__name__)
_REFUSED_STATUSES = (401, 403)  # the credentials, not the request

#: the longest a retry waits, whatever the server asked
MAX_RETRY_WAIT = 60.0


def new_worker_id() -> str:
    """``host/pid/nonce``: the host and pid let a rerun on the same host take back at once the
    requests a killed process held; the nonce tells apart runners of one process."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there: trust the lease instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """What a progress display shows. Counts are the whole batch's (all workers); tokens and
    ``done_this_run`` are this runner's. ``resumed_from`` is how many were finished when it
    started, so a resumed run's display starts there."""

    batch_id: str
    processing_status: str
    total: int
    succeeded: int
    errored: int
    canceled: int
    expired: int
    in_flight: int
    resumed_from: int
    done_this_run: int
    input_tokens: int
    output_tokens: int
    elapsed: float
    admission: str

    @property
    def finished(self) -> int:
        return self.succeeded + self.errored + self.canceled + self.expired


class BatchRunner:
    """Drains one batch. ``run()`` returns when the batch has ended and, with ``results``,
    every result is in the file; ``stop()`` (from another thread) makes it give its requests
    back and return early."""

    def __init__(
        self,
        store: BatchStore,
        batch_id: str,
        client: Any,
        *,
        results: ResultsFile | None = None,
        admission: Admission | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 10,
        max_concurrency: int = 256,
        request_timeout: float = 600.0,
        tags: Mapping[str, str] | None = None,
        stop_when_refused: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.batch_id = batch_id
        self.results = results
        governor = getattr(client, "governor", None)
        if admission is None:
            admission = (
                GovernedAdmission(governor, maximum=max_concurrency)
                if governor is not None
                else AdaptiveLimit(initial=min(8, max_concurrency), maximum=max_concurrency)
            )
        self.admission: Admission = admission
        self.on_progress = on_progress
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.max_attempts = max_attempts
        self.max_concurrency = max_concurrency
        self.request_timeout = request_timeout
        self.clock = clock
        self._expires_at = float("inf")
        # Retries are the batch's (with its own patience and admission feedback), not the client's.
        # A governed client sends the batch at background priority, so interactive calls on the
        # same quota pool are admitted first and the batch takes what they leave; in front of its
        # governor, a gate that lets nothing out after the batch's deadline.
        if governor is not None:
            gate = DeadlineGate(
                governor, lambda: self._expires_at, clock, canceling=lambda: self._canceling
            )
            self._client = client.copy(max_retries=0, priority="background", governor=gate)
        elif hasattr(client, "copy"):
            self._client = client.copy(max_retries=0)
        else:
            self._client = client
        # A refused key or sign-in (401, 403) is the run's problem, not each request's: with
        # stop_when_refused the runner gives the request back and stops, so no errored line is
        # written and the same run resumes once the credentials are fixed.
        self.stop_when_refused = stop_when_refused
        self.refused: str | None = None
        self._tags = dict(tags or {})
        self._tag_calls = True
        self._stopping = threading.Event()
        self._canceling = False
        self._jobs: queue.SimpleQueue[Claimed | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[str, Verdict | None]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._in_flight: set[str] = set()
        self._input_tokens = 0
        self._output_tokens = 0
        self._done_this_run = 0

    def stop(self) -> None:
        self._stopping.set()

    @property
    def recorded(self) -> int:
        """How many results this runner recorded (the rest came from other workers)."""
        return self._done_this_run

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called (``run()`` then returns before the batch ends)."""
        return self._stopping.is_set()

    # --- sender threads -----------------------------------------------------------------------

    def _ensure_senders(self, wanted: int) -> None:
        while len(self._threads) < min(wanted, self.max_concurrency):
            thread = threading.Thread(
                target=self._sender, name=f"batch-sender-{len(self._threads)}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _sender(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                verdict = self._attempts(job)
            except BaseException as exc:  # never lose a request to a bug: give it back
                logger.exception(
                    "batch request %s failed in the runner",
                    job.custom_id,
                    extra={"action": "request_crashed", "batch_id": self.batch_id},
                )
                verdict = None
                if not isinstance(exc, Exception):
                    raise
            self._done.put((job.custom_id, verdict))

    def _create(self, params: dict[str, Any], custom_id: str) -> tuple[Any, dict[str, Any]]:
        rest = dict(params)
        call: dict[str, Any] = {
            "model": rest.pop("model"),
            "max_tokens": rest.pop("max_tokens"),
            "messages": rest.pop("messages"),
            "timeout": self.request_timeout,
        }
        if rest:
            call["extra_body"] = rest  # sent exactly as given, fields this client lacks included
        if self._tag_calls:
            # for the usage ledger: every call of the batch carries its batch id (never sent)
            call["tags"] = {**self._tags, "batch": self.batch_id, "custom_id": custom_id}
        try:
            raw = self._client.messages.with_raw_response.create(**call)
        except TypeError as exc:
            if "tags" not in call or "'tags'" not in str(exc):
                raise
            self._tag_calls = False  # a client without call tags: send without them
            del call["tags"]
            raw = self._client.messages.with_raw_response.create(**call)
        # The body as the service sent it, so fields this version does not model reach the file.
        return raw.parse(), msgspec.json.decode(raw.content)

    def _attempts(self, job: Claimed) -> Verdict | None:
        """Send until there is a final verdict; None means "give the request back"."""
        attempt = 0
        while True:
            attempt += 1
            if self.clock() >= self._expires_at:  # however long it waited to get here
                return Verdict(expired_result())
            try:
                verdict = judge_message(*self._create(job.params, job.custom_id))
            except DeadlinePassed:  # it would have waited at the governor past the deadline
                return Verdict(expired_result())
            except BatchCanceling:  # canceled while it waited at the governor: never sent
                return Verdict(canceled_result())
            except Exception as exc:
                verdict = judge_error(exc)
                if (
                    self.stop_when_refused
                    and isinstance(exc, APIStatusError)
                    and exc.status_code in _REFUSED_STATUSES
                ):
                    self.refused = str(verdict.result["error"]["error"]["message"])
                    self.stop()
                    return None
            self.admission.observe(throttled=verdict.throttled)
            if not verdict.retryable or attempt >= self.max_attempts:
                return verdict
            delay = verdict.retry_after
            if delay is None or delay <= 0:
                delay = backoff_delay(attempt - 1)
            delay = min(delay, MAX_RETRY_WAIT)
            logger.debug(
                "batch request %s: retry %d in %.2f s",
                job.custom_id,
                attempt,
                delay,
                extra={"action": "request_retry", "batch_id": self.batch_id},
            )
            if self.clock() + delay >= self._expires_at:
                return Verdict(expired_result())
            if self._stopping.wait(delay):
                return None
            if self.clock() >= self._expires_at:
                return Verdict(expired_result())
            if self._canceling:
                return Verdict(canceled_result())

    # --- the loop -----------------------------------------------------------------------------

    def _take_back_dead_leases(self) -> None:
        host = socket.gethostname()
        for owner in self.store.lease_owners(self.batch_id):
            parts = owner.split("/")
            if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
                continue
            pid = int(parts[1])
            if pid != os.getpid() and not _pid_alive(pid):
                logger.info(
                    "taking back the requests of %s, which is no longer running",
                    owner,
                    extra={"action": "release_dead_worker", "batch_id": self.batch_id},
                )
                self.store.release(self.batch_id, owner)

    def _write_results(self) -> list[str]:
        """Append the recorded results not yet in the file (fsync); return the ids written."""
        if self.results is None:
            return []
        rows = self.store.unexported(self.batch_id, limit=5000)
        lines = [(custom_id, result_line(custom_id, result)) for custom_id, result in rows]
        return self.results.append(lines)

    def _export(self) -> None:
        """Write and mark every recorded result (at start and at the end)."""
        if self.results is None:
            return
        while written := self._write_results():
            self.store.mark_exported(self.batch_id, written)

    def _outcomes(
        self, finished: list[tuple[str, Verdict | None]]
    ) -> tuple[list[tuple[str, str, dict[str, Any]]], list[str]]:
        """Split what the senders returned into results to record and requests to give back."""
        outcomes: list[tuple[str, str, dict[str, Any]]] = []
        give_back: list[str] = []
        for custom_id, verdict in finished:
            self._in_flight.discard(custom_id)
            if verdict is None:
                give_back.append(custom_id)
                continue
            outcomes.append((custom_id, verdict.result["type"], verdict.result))
            self._input_tokens += verdict.input_tokens
            self._output_tokens += verdict.output_tokens
        return outcomes, give_back

    def _record(self, finished: list[tuple[str, Verdict | None]]) -> None:
        outcomes, give_back = self._outcomes(finished)
        self._done_this_run += self.store.finish(
            self.batch_id, self.worker_id, outcomes, now=self.clock()
        )
        if give_back:
            self.store.release(self.batch_id, self.worker_id, give_back)

    def _progress(self, record: BatchRecord, started: float, resumed_from: int) -> None:
        if self.on_progress is None:
            return
        counts = record.counts
        self.on_progress(
            BatchProgress(
                batch_id=self.batch_id,
                processing_status=record.processing_status,
                total=record.request_count,
                succeeded=counts.get(SUCCEEDED, 0),
                errored=counts.get(ERRORED, 0),
                canceled=counts.get(CANCELED, 0),
                expired=counts.get(EXPIRED, 0),
                in_flight=record.in_flight,
                resumed_from=resumed_from,
                done_this_run=self._done_this_run,
                input_tokens=self._input_tokens,
                output_tokens=self._output_tokens,
                elapsed=self.clock() - started,
                admission=self.admission.describe(),
            )
        )

    def run(self) -> BatchRecord:
        """Work until the batch has ended (or :meth:`stop`); return its final record."""
        started = self.clock()
        record = self.store.settle(self.batch_id, started)
        self._expires_at = record.expires_at
        resumed_from = record.finished
        logger.info(
            "worker %s joins batch %s (%d of %d finished)",
            self.worker_id,
            self.batch_id,
            resumed_from,
            record.request_count,
            extra={"action": "worker_start", "batch_id": self.batch_id},
        )
        self._upkeep(started)
        # workers silent for ten leases are gone: their rows only clutter `batch status`
        self.store.prune_workers(self.batch_id, before=started - 10 * self.lease)
        self._export()
        last_upkeep = last_settle = started
        sample: dict[str, Any] | None = None
        claimed: list[Claimed] = []
        written: list[str] = []  # in the file; marked in the store with the next commit
        try:
            while not self._stopping.is_set():
                finished = self._collect(block=not claimed and bool(self._in_flight))
                outcomes, give_back = self._outcomes(finished)
                now = self.clock()
                room = 0
                if record.processing_status == IN_PROGRESS and now < record.expires_at:
                    room = self.admission.capacity(len(self._in_flight), sample)
                    room = min(room, self.max_concurrency) - len(self._in_flight)
                # one durable commit: results recorded, lines marked written, new claims
                recorded, claimed = self.store.exchange(
                    self.batch_id,
                    self.worker_id,
                    outcomes,
                    exported=written,
                    limit=room,
                    lease=self.lease,
                    now=now,
                )
                self._done_this_run += recorded
                written = []
                if give_back:
                    self.store.release(self.batch_id, self.worker_id, give_back)
                self._ensure_senders(len(self._in_flight) + len(claimed))
                for job in claimed:
                    sample = job.params
                    self._in_flight.add(job.custom_id)
                    self._jobs.put(job)
                if recorded:
                    written = self._write_results()
                if now - last_upkeep >= self.lease / 3:
                    self._upkeep(now)
                    last_upkeep = now
                idle = not claimed and not self._in_flight
                if idle or now - last_settle >= 0.5:
                    record = self.store.settle(self.batch_id, now)
                    last_settle = now
                    self._canceling = record.cancel_initiated_at is not None
                    self._progress(record, started, resumed_from)
                if record.processing_status == ENDED and not self._in_flight:
                    self._export()
                    break
                if idle and record.processing_status != ENDED:
                    # others hold the rest (or it waits for a lease to run out): poll gently
                    self._stopping.wait(0.2)
        finally:
            self._shut_down()
        self._progress(record, started, resumed_from)
        return record

    def _upkeep(self, now: float) -> None:
        self._take_back_dead_leases()
        self.store.renew(self.batch_id, self.worker_id, self._in_flight, until=now + self.lease)
        self.store.heartbeat(
            self.worker_id, self.batch_id, host=socket.gethostname(), pid=os.getpid(), now=now
        )

    def _collect(self, *, block: bool) -> list[tuple[str, Verdict | None]]:
        finished: list[tuple[str, Verdict | None]] = []
        try:
            if block:
                finished.append(self._done.get(timeout=0.2))
            while True:
                finished.append(self._done.get_nowait())
        except queue.Empty:
            pass
        return finished

    def _shut_down(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        if self._in_flight:  # stopped early: whatever is unfinished goes back to the queue
            try:
                self._record(self._collect(block=False))
                self.store.release(self.batch_id, self.worker_id, list(self._in_flight))
            finally:
                self._in_flight.clear()
        try:
            self.store.forget_worker(self.worker_id)
        except Exception:  # the store may be what failed; the leases run out anyway
            logger.warning(
                "could not sign off worker %s",
                self.worker_id,
                extra={"action": "worker_stop_failed", "batch_id": self.batch_id},
            )
        logger.info(
            "worker %s leaves batch %s",
            self.worker_id,
            self.batch_id,
            extra={"action": "worker_stop", "batch_id": self.batch_id},
        )
