"""OpenTelemetry for every call: a span and the GenAI client metrics, from its CallRecord.

Needs the ``otel`` extra (``pip install 'claude-foundry[otel]'``, which is ``opentelemetry-api``
only); configure an SDK and exporters as usual, or pass providers in::

    from claude_foundry.ledger.otel import OpenTelemetryObserver
    client = AnthropicFoundry(..., observers=[OpenTelemetryObserver()])

Names follow the GenAI semantic conventions (development status): a CLIENT span
``"{gen_ai.operation.name} {gen_ai.request.model}"`` with ``gen_ai.provider.name = "anthropic"``
(the Anthropic Messages API flavour; ``server.address`` says it is Foundry), the request model
(the deployment name), the response model and id, finish reasons, ``gen_ai.usage.input_tokens``
summed over uncached, cache-read and cache-written input as the Anthropic rule says, the output
tokens, ``gen_ai.usage.cache_read.input_tokens`` and ``gen_ai.usage.cache_write.input_tokens``
(also under its former name ``gen_ai.usage.cache_creation.input_tokens`` while instrumentations
move over), ``server.address`` and ``server.port``, ``error.type``; and the histograms
``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration`` and, for streams,
``gen_ai.client.operation.time_to_first_chunk``, with the conventions' bucket boundaries. Foundry's
ids (``request-id``, ``apim-request-id``, region, attempts) ride along under ``claude_foundry.*``.

The span is built when the call ends, with the call's own start and end times: it shows the whole
call, retries included, as one operation, and costs nothing while the call runs.
"""

from __future__ import annotations

from typing import Any

from .._observe import CallRecord
from .store import LedgerError

__all__ = [
    "DURATION_BUCKETS",
    "TOKEN_BUCKETS",
    "OpenTelemetryObserver",
]

TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
PROVIDER = "anthropic"
_NS = 1_000_000_000


def _import_opentelemetry() -> tuple[Any, Any]:
    try:
        from opentelemetry import metrics, trace
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise LedgerError(
            "OpenTelemetry spans and metrics need opentelemetry-api: "
            "pip install 'claude-foundry[otel]'"
        ) from None
    return trace, metrics


class OpenTelemetryObserver:
    """A call observer that emits a GenAI span and metrics per call.

    ``tracer_provider`` and ``meter_provider`` default to the global ones (what
    ``opentelemetry-instrument`` or your SDK setup installed).
    """

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from .. import __version__

        trace, metrics = _import_opentelemetry()
        self._trace = trace
        self._tracer = trace.get_tracer(
            "claude_foundry", __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter("claude_foundry", __version__, meter_provider=meter_provider)
        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    def record_call(self, record: CallRecord) -> None:
        common: dict[str, Any] = {
            "gen_ai.operation.name": record.operation,
            "gen_ai.provider.name": PROVIDER,
        }
        if record.deployment:
            common["gen_ai.request.model"] = record.deployment
        if record.model:
            common["gen_ai.response.model"] = record.model
        if record.host:
            common["server.address"] = record.host
            if record.port:
                common["server.port"] = record.port  # required along with server.address
        error_type = _error_type(record)
        if error_type is not None:
            common["error.type"] = error_type
        input_total = _input_total(record)
        self._duration.record(record.duration, common)
        if input_total is not None:
            self._token_usage.record(input_total, {**common, "gen_ai.token.type": "input"})
        if record.output_tokens is not None and record.operation != "count_tokens":
            self._token_usage.record(
                record.output_tokens, {**common, "gen_ai.token.type": "output"}
            )
        if record.time_to_first_token is not None:
            self._first_chunk.record(record.time_to_first_token, common)
        self._span(record, common, input_total, error_type)

    def _span(
        self,
        record: CallRecord,
        common: dict[str, Any],
        input_total: int | None,
        error_type: str | None,
    ) -> None:
        start = int(record.started_at * _NS)
        name = f"{record.operation} {record.deployment}" if record.deployment else record.operation
        span = self._tracer.start_span(
            name, kind=self._trace.SpanKind.CLIENT, start_time=start, attributes=common
        )
        if span.is_recording():
            span.set_attributes(_span_attributes(record, input_total))
            if error_type is not None:
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))
        span.end(end_time=start + int(record.duration * _NS))


def _error_type(record: CallRecord) -> str | None:
    if record.outcome == "error":
        return record.error_type or "_OTHER"
    if record.outcome == "cancelled":
        return record.error_type or "cancelled"
    return None


def _input_total(record: CallRecord) -> int | None:
    if record.input_tokens is None:
        return None
    return (
        record.input_tokens
        + (record.cache_read_input_tokens or 0)
        + (record.cache_creation_input_tokens or 0)
    )


def _span_attributes(record: CallRecord, input_total: int | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "gen_ai.request.stream": record.stream,
        "gen_ai.response.id": record.response_id,
        "gen_ai.usage.input_tokens": input_total,
        "gen_ai.usage.output_tokens": (
            record.output_tokens if record.operation != "count_tokens" else None
        ),
        "gen_ai.usage.cache_read.input_tokens": record.cache_read_input_tokens,
        "gen_ai.usage.cache_write.input_tokens": record.cache_creation_input_tokens,
        "gen_ai.usage.cache_creation.input_tokens": record.cache_creation_input_tokens,
        "gen_ai.response.time_to_first_chunk": record.time_to_first_token,
        "http.response.status_code": record.status_code,
        "claude_foundry.request_id": record.request_id,
        "claude_foundry.apim_request_id": record.apim_request_id,
        "claude_foundry.region": record.region,
        "claude_foundry.served_by_cluster": record.served_by_cluster,
        "claude_foundry.deployment": record.deployment,
        "claude_foundry.route": record.route,
        "claude_foundry.attempts": record.attempts,
        "claude_foundry.failovers": record.failovers,
    }
    if record.stop_reason:
        values["gen_ai.response.finish_reasons"] = (record.stop_reason,)
    return {name: value for name, value in values.items() if value is not None}
