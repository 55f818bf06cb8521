"""``claude-foundry batch``: run a Message Batches JSONL file against Foundry, resumably.

    claude-foundry batch run requests.jsonl --output results.jsonl   # again to resume
    claude-foundry batch status results.jsonl
    claude-foundry batch worker --store postgresql://host/db          # join from another host

Settings come from the same flags and environment as ``chat`` (``ANTHROPIC_FOUNDRY_*``,
``--resource``, ``--base-url``); with none at all the embedded emulator answers. The state lives
in a store: by default ``RESULTS.jsonl.batch.sqlite`` beside the output; ``--store
postgresql://...`` lets workers on other hosts help. Exit status: 0 when every request has its
result line, 1 when the run stopped before that, 2 for bad input or settings, 130 on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .._errors import AnthropicError
from ..batches import (
    BatchInputError,
    BatchNotFoundError,
    BatchRecord,
    BatchRequest,
    BatchRunner,
    BatchStore,
    ResultsFile,
    ResultsFileError,
    open_store,
    read_requests,
)
from ..batches._format import file_sha256
from ..batches._service import new_batch_id
from ._batch_progress import ProgressMode, make_progress

__all__ = ["command"]

_ENV_PREFIX = "ANTHROPIC_FOUNDRY_"


class _SettingsError(click.ClickException):
    exit_code = 2


def _has_foundry_settings(base_url: str | None, resource: str | None) -> bool:
    if base_url or resource:
        return True
    return any(name.startswith(_ENV_PREFIX) and value for name, value in os.environ.items())


@dataclass(frozen=True)
class _Quota:
    rpm: int | None
    input_tpm: int | None
    output_tpm: int | None
    redis: str | None
    redis_prefix: str
    background_share: float | None

    def governor(self) -> Any:
        """A quota governor for these limits (every deployment its own pool), or None."""
        if self.rpm is None and self.input_tpm is None and self.output_tpm is None:
            if self.redis is not None:
                raise _SettingsError(
                    "--quota-redis shares a quota: give its limits too (--rpm, --input-tpm, "
                    "--output-tpm)"
                )
            return None
        from ..quota import PoolLimits, QuotaGovernor

        backend = None
        if self.redis is not None:
            from ..quota import RedisBackend

            backend = RedisBackend.from_url(self.redis, prefix=self.redis_prefix)
        # Alone in its governor the batch may use the whole quota; sharing one through Redis
        # it leaves interactive callers their part.
        share = self.background_share
        if share is None:
            share = 0.8 if self.redis is not None else 1.0
        limits = PoolLimits(rpm=self.rpm, input_tpm=self.input_tpm, output_tpm=self.output_tpm)
        return QuotaGovernor(default_limits=limits, backend=backend, background_share=share)


@contextlib.contextmanager
def _client(
    base_url: str | None, resource: str | None, quota: _Quota, *, entra: bool = False
) -> Iterator[Any]:
    from .. import AnthropicFoundry

    governor = quota.governor()
    if entra and not _has_foundry_settings(base_url, resource):
        raise _SettingsError(
            "--entra needs a Foundry endpoint: pass --resource NAME or --base-url URL, or set "
            "ANTHROPIC_FOUNDRY_RESOURCE (the embedded emulator takes a key)."
        )
    if _has_foundry_settings(base_url, resource):
        options: dict[str, Any] = {}
        if entra:
            from .chat import _entra_credential  # the same sign-in as `chat --entra`

            options["credential"] = _entra_credential()
        with AnthropicFoundry(
            base_url=base_url, resource=resource, governor=governor, **options
        ) as client:
            yield client
        return
    from ..emulator import Emulator

    with Emulator() as emulator:
        click.echo(
            "No Foundry settings (ANTHROPIC_FOUNDRY_* environment, --resource or --base-url): "
            f"using the embedded emulator at {emulator.base_url}",
            err=True,
        )
        with AnthropicFoundry(
            api_key=emulator.api_key, base_url=emulator.base_url, governor=governor
        ) as client:
            yield client


def _default_store(output: Path) -> str:
    return str(output.with_name(output.name + ".batch.sqlite"))


@contextlib.contextmanager
def _opened_store(location: str) -> Iterator[BatchStore]:
    try:
        store = open_store(location)
    except AnthropicError as exc:
        raise _SettingsError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """A batch id the store does not have is a mistake in the command (exit status 2); any
    other store or state error ends the command with status 1."""
    try:
        yield
    except BatchNotFoundError as exc:
        raise _SettingsError(str(exc)) from None
    except AnthropicError as exc:
        raise click.ClickException(str(exc)) from None


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 30m, 24h") from None


_connection_options = [
    click.option(
        "--base-url", help="Endpoint, https://{resource}.services.ai.azure.com/anthropic/."
    ),
    click.option("--resource", help="The Foundry resource name (instead of --base-url)."),
    click.option(
        "--max-concurrency",
        default=256,
        show_default=True,
        type=click.IntRange(min=1),
        help="Most requests in flight from this process (the quota may allow fewer).",
    ),
    click.option(
        "--lease",
        default="60s",
        show_default=True,
        help="How long a claimed request stays this worker's without a renewal.",
    ),
    click.option(
        "--max-attempts",
        default=10,
        show_default=True,
        type=click.IntRange(min=1),
        help="Attempts per request for retryable failures (429, 529, 5xx, connection).",
    ),
    click.option(
        "--entra",
        is_flag=True,
        help="Sign in with Microsoft Entra ID (DefaultAzureCredential) instead of a key.",
    ),
    click.option(
        "--timeout",
        default=600.0,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds to wait for each reply.",
    ),
    click.option("--rpm", type=click.IntRange(min=1), help="Quota: requests per minute."),
    click.option(
        "--input-tpm", type=click.IntRange(min=1), help="Quota: uncached input tokens per minute."
    ),
    click.option(
        "--output-tpm", type=click.IntRange(min=1), help="Quota: output tokens per minute."
    ),
    click.option(
        "--quota-redis",
        metavar="URL",
        help="Share the quota with other processes and hosts through Redis (redis://...).",
    ),
    click.option(
        "--quota-prefix",
        default="claude-foundry:quota:",
        show_default=True,
        help="Key prefix of the shared quota in Redis (the same for all who share it).",
    ),
    click.option(
        "--background-share",
        type=click.FloatRange(min=0, min_open=True, max=1),
        help="Most of the quota the batch may use [default: 0.8 with --quota-redis, else 1].",
    ),
]


def _connection(
    base_url: str | None, resource: str | None, options: dict[str, Any]
) -> contextlib.AbstractContextManager[Any]:
    """The client for these options (the ones it consumes are taken out of ``options``)."""
    entra = options.pop("entra")
    return _client(base_url, resource, _quota(options), entra=entra)


def _quota(options: dict[str, Any]) -> _Quota:
    return _Quota(
        rpm=options.pop("rpm"),
        input_tpm=options.pop("input_tpm"),
        output_tpm=options.pop("output_tpm"),
        redis=options.pop("quota_redis"),
        redis_prefix=options.pop("quota_prefix"),
        background_share=options.pop("background_share"),
    )


def _with_connection_options(function: Any) -> Any:
    for option in reversed(_connection_options):
        function = option(function)
    return function


def _run_runner(runner: BatchRunner, progress_mode: ProgressMode) -> BatchRecord:
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        with make_progress(progress_mode) as sink:
            runner.on_progress = sink.update
            return runner.run()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _resume_or_create(
    store: BatchStore,
    requests: list[BatchRequest],
    requests_path: Path,
    output: Path,
    deadline: float,
) -> tuple[BatchRecord, set[str]]:
    sha = file_sha256(requests_path)
    label = str(output.resolve())
    record = store.find_batch(label)
    if record is not None:
        if record.input_sha256 != sha:
            raise _SettingsError(
                f"{requests_path} has changed since batch {record.id} started writing {output}: "
                "a resumed batch must read the same requests. Restore the file, or write to "
                f"another --output (or delete {output} and its state to start over)."
            )
        click.echo(
            f"resuming batch {record.id}: {record.finished} of {record.request_count} finished",
            err=True,
        )
    else:
        if output.exists() and output.stat().st_size > 0:
            raise _SettingsError(
                f"{output} already holds results that this store knows nothing of; "
                "choose another --output or remove it"
            )
        import time

        now = time.time()
        record = store.create_batch(
            new_batch_id(),
            requests,
            input_sha256=sha,
            created_at=now,
            expires_at=now + deadline,
            label=label,
        )
        store.set_results_url(record.id, output.resolve().as_uri())
        click.echo(f"batch {record.id}: {record.request_count} requests", err=True)
    return record, {request.custom_id for request in requests}


@click.group("batch")
def command() -> None:
    """Run Message Batches JSONL files against Foundry, resumably, at the quota's pace."""


@command.command("run")
@click.argument("requests_path", metavar="REQUESTS.jsonl", type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The results JSONL (one line per custom_id).",
)
@click.option("--store", help="Batch store: a SQLite path or postgresql:// URL.")
@click.option(
    "--deadline",
    default="24h",
    show_default=True,
    help="How long the batch may run (from its creation); then what is left expires.",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "on", "off", "raw"]),
    default="auto",
    show_default=True,
    help="A live display on a terminal (auto), plain lines (raw), or none.",
)
@_with_connection_options
def run_command(
    requests_path: Path,
    output: Path,
    store: str | None,
    deadline: str,
    progress_mode: ProgressMode,
    base_url: str | None,
    resource: str | None,
    max_concurrency: int,
    lease: str,
    max_attempts: int,
    **client_options: Any,
) -> None:
    """Send every request of REQUESTS.jsonl; write each result to --output.

    \b
    Running the same command again resumes where it stopped: finished requests are not sent
    again, and the output keeps one line per custom_id. Requests that were in flight when a run
    died are sent again (the service may see them twice; the output records them once).
    """
    seconds = _duration(deadline)
    try:  # validated before anything is created or sent
        requests = read_requests(requests_path)
    except BatchInputError as exc:
        raise _SettingsError(str(exc)) from None
    with _opened_store(store or _default_store(output)) as batch_store:
        record, custom_ids = _resume_or_create(
            batch_store, requests, requests_path, output, seconds
        )
        try:
            results = ResultsFile(output)
        except ResultsFileError as exc:
            raise _SettingsError(str(exc)) from None
        try:
            request_timeout = client_options.pop("timeout")
            # an ended batch only has results left to write: no client, no emulator
            connection = (
                contextlib.nullcontext(None)
                if record.processing_status == "ended"
                else _connection(base_url, resource, client_options)
            )
            with connection as client:
                runner = BatchRunner(
                    batch_store,
                    record.id,
                    client,
                    results=results,
                    max_concurrency=max_concurrency,
                    lease=_duration(lease),
                    max_attempts=max_attempts,
                    request_timeout=request_timeout,
                    stop_when_refused=True,
                )
                final = _run_runner(runner, progress_mode)
                if runner.refused is not None:
                    raise _SettingsError(
                        f"the service refused the credentials ({runner.refused}); no result "
                        "was written for it. Fix the key or sign-in (ANTHROPIC_FOUNDRY_API_KEY, "
                        "--entra) and run the same command again to resume."
                    )
        except KeyboardInterrupt:
            click.echo("\ninterrupted; run the same command again to resume", err=True)
            sys.exit(130)
        except AnthropicError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            missing = len(custom_ids - results.present)
            results.close()
    if missing:
        click.echo(
            f"batch {final.id} is {final.processing_status.replace('_', ' ')}: {missing} "
            "requests have no result line yet; run the same command again to resume",
            err=True,
        )
        sys.exit(1)
    counts = final.to_message_batch().request_counts
    click.echo(
        f"batch {final.id} ended: {counts.succeeded} succeeded, {counts.errored} errored, "
        f"{counts.canceled} canceled, {counts.expired} expired -> {output}",
        err=True,
    )


@command.command("status")
@click.argument("output", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", help="Batch store (default: the one beside OUTPUT).")
@click.option("--batch-id", help="The batch (default: the one writing OUTPUT, or all).")
@click.option("--json", "as_json", is_flag=True, help="Print the batch objects as JSON lines.")
def status_command(
    output: Path | None, store: str | None, batch_id: str | None, as_json: bool
) -> None:
    """Show how far a batch has got (OUTPUT: the run's --output file, or a batch id with
    --store)."""
    if output is not None and store is not None and batch_id is None and _names_a_batch(output):
        output, batch_id = None, str(output)  # `batch status ID --store S`, as `batch cancel`
    if store is None and output is None:
        raise _SettingsError("give the run's OUTPUT file, or --store")
    location = store or _default_store(output)  # type: ignore[arg-type]
    if store is None and not Path(location).exists():
        raise _SettingsError(f"no batch state for {output} (looked for {location})")
    import time

    with _opened_store(location) as batch_store, _store_errors():
        if batch_id is not None:
            ids = [batch_id]
        elif output is not None:
            found = batch_store.find_batch(str(output.resolve()))
            ids = [found.id] if found is not None else []
            if not ids:
                raise _SettingsError(
                    f"no batch writes {output} in the batch store {batch_store.location}; "
                    "give the run's --output file, or --batch-id"
                )
        else:
            ids = batch_store.list_batch_ids()
            if not ids:
                raise _SettingsError(
                    f"no batch in the batch store {batch_store.location}; start one with "
                    "`claude-foundry batch run REQUESTS.jsonl -o RESULTS.jsonl --store ...`"
                )
        for one in ids:
            record = batch_store.settle(one, time.time())
            batch = record.to_message_batch()
            if as_json:
                click.echo(batch.to_json())
                continue
            counts = batch.request_counts
            click.echo(
                f"{batch.id}  {batch.processing_status}  {record.finished}/{record.request_count} "
                f"finished ({counts.succeeded} succeeded, {counts.errored} errored, "
                f"{counts.canceled} canceled, {counts.expired} expired), "
                f"{record.in_flight} in flight"
            )
            for worker, host, pid, heartbeat in batch_store.workers(one):
                click.echo(f"  worker {worker} (host {host}, pid {pid}), "
                           f"last seen {time.time() - heartbeat:.0f} s ago")  # fmt: skip


def _names_a_batch(argument: Path) -> bool:
    """Whether status's argument is a batch id rather than an output file."""
    text = str(argument)
    return text.startswith("msgbatch_") and os.sep not in text and not argument.exists()


@command.command("cancel")
@click.argument("batch_id")
@click.option("--store", required=True, help="Batch store: a SQLite path or postgresql:// URL.")
def cancel_command(batch_id: str, store: str) -> None:
    """Cancel a batch: requests not yet sent end as canceled."""
    import time

    with _opened_store(store) as batch_store, _store_errors():
        record = batch_store.cancel(batch_id, time.time())
        click.echo(f"{record.id}  {record.processing_status}")


@command.command("worker")
@click.option("--store", required=True, help="The batch store to work from (postgresql://...).")
@click.option("--batch-id", "batch_ids", multiple=True, help="Work on this batch (repeatable).")
@click.option(
    "--wait",
    is_flag=True,
    help="When no batch is left, wait for new ones instead of exiting (a standing worker).",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "on", "off", "raw"]),
    default="raw",
    show_default=True,
)
@_with_connection_options
def worker_command(
    store: str,
    batch_ids: tuple[str, ...],
    wait: bool,
    progress_mode: ProgressMode,
    base_url: str | None,
    resource: str | None,
    max_concurrency: int,
    lease: str,
    max_attempts: int,
    **client_options: Any,
) -> None:
    """Join batches in a shared store and help drain them (every unfinished one by default).

    Results are recorded in the store; the `batch run` that created a batch writes them to its
    output file. Stop with Ctrl-C or SIGTERM: the requests this worker holds go back at once.
    """
    import time

    request_timeout = client_options.pop("timeout")
    with _opened_store(store) as batch_store:
        with _store_errors():
            for one in batch_ids:  # a wrong id is refused before any connection is made
                batch_store.get_batch(one)
        with _connection(base_url, resource, client_options) as client:
            try:
                while True:
                    todo = [
                        one
                        for one in (batch_ids or batch_store.list_batch_ids())
                        if batch_store.settle(one, time.time()).processing_status != "ended"
                    ]
                    if not todo:
                        if not wait:
                            break
                        time.sleep(2.0)
                        continue
                    for one in todo:
                        runner = BatchRunner(
                            batch_store,
                            one,
                            client,
                            max_concurrency=max_concurrency,
                            lease=_duration(lease),
                            max_attempts=max_attempts,
                            request_timeout=request_timeout,
                            stop_when_refused=True,
                        )
                        record = _run_runner(runner, progress_mode)
                        if runner.refused is not None:
                            raise _SettingsError(
                                f"the service refused the credentials ({runner.refused}); this "
                                "worker wrote no result for it. Fix the key or sign-in and start "
                                "it again."
                            )
                        if runner.stopped:
                            click.echo(f"stopped; {describe_record(record)}", err=True)
                            return
                        click.echo(
                            f"{describe_record(record)}; this worker recorded {runner.recorded}",
                            err=True,
                        )
            except KeyboardInterrupt:
                click.echo("\ninterrupted; this worker's requests went back to the store", err=True)
                sys.exit(130)
            except BatchNotFoundError as exc:
                raise _SettingsError(str(exc)) from None
            except AnthropicError as exc:
                raise click.ClickException(str(exc)) from None


def describe_record(record: BatchRecord) -> str:
    counts = record.to_message_batch().request_counts
    return (
        f"batch {record.id} {record.processing_status}: {counts.succeeded} succeeded, "
        f"{counts.errored} errored, {counts.canceled} canceled, {counts.expired} expired"
    )
