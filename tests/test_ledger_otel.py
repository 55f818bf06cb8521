"""OpenTelemetry spans and GenAI metrics per call, read back from the SDK's in-memory exporters."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from claude_foundry import AnthropicFoundry, AsyncAnthropicFoundry, RateLimitError
from claude_foundry.emulator import Emulator
from claude_foundry.ledger.otel import DURATION_BUCKETS, TOKEN_BUCKETS, OpenTelemetryObserver

TEST_API_KEY = "test-key"
MODEL = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hello"}]


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.observer = OpenTelemetryObserver(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
        )

    def histograms(self) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = list(metric.data.data_points)
        return found


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


def _long_system() -> list[dict[str, Any]]:
    text = "A long and stable system prompt. " * 400
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def test_a_span_per_call_with_genai_attributes(emulator: Emulator, telemetry: Telemetry) -> None:
    client = AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[telemetry.observer]
    )
    client.messages.create(model=MODEL, max_tokens=32, messages=HELLO, system=_long_system())
    message = client.messages.create(
        model=MODEL, max_tokens=32, messages=HELLO, system=_long_system()
    )
    with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
        stream.get_final_message()
    emulator.add_fault(kind="status", status=429, count=5, retry_after=0)
    with pytest.raises(RateLimitError):
        client.with_options(max_retries=0).messages.create(
            model=MODEL, max_tokens=32, messages=HELLO
        )

    spans = telemetry.spans.get_finished_spans()
    assert [span.name for span in spans] == [f"chat {MODEL}"] * 4
    cached = spans[1]
    attributes = dict(cached.attributes or {})
    usage = message.usage
    assert cached.kind is SpanKind.CLIENT
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.response.model"] == MODEL
    assert attributes["gen_ai.response.id"] == message.id
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert usage.cache_read_input_tokens
    assert attributes["gen_ai.usage.input_tokens"] == (
        usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    )
    assert attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == usage.cache_read_input_tokens
    assert attributes["gen_ai.usage.cache_write.input_tokens"] == 0
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == int(emulator.base_url.split(":")[2].split("/")[0])
    assert attributes["claude_foundry.request_id"] == message.request_id
    assert attributes["claude_foundry.apim_request_id"] == message.apim_request_id
    assert "error.type" not in attributes
    assert cached.end_time is not None
    assert cached.start_time is not None
    assert cached.end_time > cached.start_time

    streamed = dict(spans[2].attributes or {})
    assert streamed["gen_ai.request.stream"] is True
    assert streamed["gen_ai.response.time_to_first_chunk"] > 0

    failed = spans[3]
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "RateLimitError"


def test_genai_histograms_with_the_conventions_buckets(
    emulator: Emulator, telemetry: Telemetry
) -> None:
    client = AnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[telemetry.observer]
    )
    message = client.messages.create(model=MODEL, max_tokens=32, messages=HELLO)
    with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
        stream.get_final_message()
    histograms = telemetry.histograms()

    durations = histograms["gen_ai.client.operation.duration"]
    assert sum(point.count for point in durations) == 2
    assert tuple(durations[0].explicit_bounds) == DURATION_BUCKETS
    tokens = histograms["gen_ai.client.token.usage"]
    by_type = {point.attributes["gen_ai.token.type"]: point for point in tokens}
    assert tuple(by_type["input"].explicit_bounds) == TOKEN_BUCKETS
    assert by_type["input"].sum == 2 * message.usage.input_tokens
    assert by_type["output"].sum == 2 * message.usage.output_tokens
    assert by_type["input"].attributes["gen_ai.provider.name"] == "anthropic"
    assert by_type["input"].attributes["server.port"] > 0  # required with server.address
    # The GenAI semantic conventions' advisory boundaries, written out.
    assert DURATION_BUCKETS == (
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    )  # fmt: skip
    assert TOKEN_BUCKETS == (
        1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
        67108864,
    )  # fmt: skip
    first_chunk = histograms["gen_ai.client.operation.time_to_first_chunk"]
    assert sum(point.count for point in first_chunk) == 1


async def test_the_async_client_reports_the_same(emulator: Emulator, telemetry: Telemetry) -> None:
    async with AsyncAnthropicFoundry(
        api_key=TEST_API_KEY, base_url=emulator.base_url, observers=[telemetry.observer]
    ) as client:
        await client.messages.create(model=MODEL, max_tokens=32, messages=HELLO)
        async with client.messages.stream(model=MODEL, max_tokens=32, messages=HELLO) as stream:
            await stream.get_final_message()
        await client.messages.count_tokens(model=MODEL, messages=HELLO)
    names = [span.name for span in telemetry.spans.get_finished_spans()]
    assert names == [f"chat {MODEL}", f"chat {MODEL}", f"count_tokens {MODEL}"]
