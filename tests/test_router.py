"""The router: catalogue, feature steering, the breaker's state table, failover end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_foundry import APIConnectionError, BadRequestError, ConfigurationError
from claude_foundry.emulator import Emulator, EmulatorConfig
from claude_foundry.router import (
    TRANSITIONS,
    AsyncRoutedFoundry,
    BreakerEvent,
    BreakerState,
    BreakerStateError,
    Catalogue,
    CircuitBreaker,
    Deployment,
    NoDeploymentAvailable,
    Route,
    RoutedFoundry,
    Router,
    features_used,
    load_catalogue,
)
from fake_clock import FakeClock

KEY = "test-key"
MESSAGES = [{"role": "user", "content": "Hello"}]

# --- the breaker's table, every cell -----------------------------------------------------------


@pytest.mark.parametrize("state", list(BreakerState))
@pytest.mark.parametrize("event", list(BreakerEvent))
def test_breaker_table_every_cell(state: BreakerState, event: BreakerEvent) -> None:
    breaker = CircuitBreaker(clock=FakeClock())
    breaker.state = state
    allowed = TRANSITIONS[state]
    if event in allowed:
        assert breaker.handle(event) is allowed[event]
    else:
        with pytest.raises(BreakerStateError, match=event.value):
            breaker.handle(event)
        assert breaker.state is state  # an illegal event changes nothing


def test_breaker_opens_probes_and_grows_its_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=5.0, clock=clock)
    breaker.failure("boom")
    assert breaker.allows()
    breaker.failure("boom")
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allows()
    clock.advance(5.0)
    assert breaker.allows()  # the half-open probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allows()  # one probe at a time
    breaker.failure("still down")
    assert breaker.state is BreakerState.OPEN
    assert breaker.open_until == pytest.approx(clock.now + 10.0)  # the cooldown doubled
    clock.advance(1.0)
    breaker.failure("late reply of an earlier call")  # extends, never shortens, never doubles
    assert breaker.open_until == pytest.approx(clock.now + 10.0)
    assert breaker.trips == 2
    clock.advance(10.0)
    assert breaker.allows()
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.trips == 0


def test_calls_in_flight_at_a_trip_do_not_grow_the_cooldown() -> None:
    """Six calls in flight when a region fails: the three after the trip come back while open."""
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=5.0, clock=clock)
    for _ in range(6):
        breaker.failure("503 region outage")
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 1
    clock.advance(5.0)
    assert breaker.allows()  # the probe, after one cooldown, not 2**4 of them


def test_breaker_config_error_holds_until_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock=clock)
    breaker.config_error("401 wrong key")
    clock.advance(10_000)
    assert not breaker.allows()
    breaker.success()  # ignored: nothing was sent to it
    assert breaker.state is BreakerState.DISABLED
    breaker.reset()
    assert breaker.allows()


# --- catalogue and features ---------------------------------------------------------------------

CATALOGUE_TOML = """
[pools.sonnet]
rpm = 60

[[deployments]]
name = "sweden"
base_url = "http://127.0.0.1:1/anthropic/"
deployment = "claude-sonnet-4-6"
api_key_env = "SWEDEN_KEY"
hosting = "azure"
pool = "sonnet"
region = "swedencentral"

[[deployments]]
name = "eastus"
resource = "contoso-eastus"
deployment = "claude-sonnet-4-6"
model = "claude-sonnet-4-6"
hosting = "anthropic"
priority = 1

[[routes]]
name = "sonnet"
deployments = ["sweden", "eastus"]
"""


def test_catalogue_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "deployments.toml"
    path.write_text(CATALOGUE_TOML)
    catalogue = load_catalogue(path)
    assert [d.name for d in catalogue.deployments_of("sonnet")] == ["sweden", "eastus"]
    assert catalogue.deployments["eastus"].pool == "claude-sonnet-4-6/global-standard"
    assert catalogue.pools["sonnet"].rpm == 60
    assert catalogue.route("eastus").deployments == ("eastus",)
    row = catalogue.deployments["sweden"].to_dict()
    assert row["credential"] == "SWEDEN_KEY"
    assert "structured_outputs" in row["unavailable_features"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"deployments": [{"name": "a", "deployment": "d"}]}, "exactly one of resource"),
        (
            {"deployments": [{"name": "a", "deployment": "d", "resource": "r", "hosting": "x"}]},
            "hosting",
        ),
        (
            {"deployments": [{"name": "a", "deployment": "d", "resource": "r", "colour": 1}]},
            "colour",
        ),
        ({"routes": [{"name": "r", "deployments": ["nope"]}]}, "nope"),
        ({"pools": {"p": {"rpm": -1}}}, "rpm"),
        ({"extra": 1}, "extra"),
    ],
)
def test_catalogue_errors_name_the_entry(data: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_catalogue(data)


def test_features_used() -> None:
    assert features_used({"model": "m", "messages": MESSAGES}) == frozenset()
    assert features_used(
        {"messages": MESSAGES, "output_config": {"format": {"type": "json_schema"}}}
    ) == {"structured_outputs"}
    assert features_used(
        {"messages": MESSAGES, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}
    ) == {"web_search"}
    assert (
        features_used({"messages": MESSAGES, "tools": [{"name": "f", "input_schema": {}}]}) == set()
    )


def test_a_feature_only_one_hosting_has_steers_the_request() -> None:
    catalogue = load_catalogue(_data(CATALOGUE_TOML))
    router = Router(catalogue)
    plain = router.start("sonnet", frozenset())
    assert router.pick(plain).name == "sweden"
    structured = router.start("sonnet", frozenset({"structured_outputs"}))
    assert router.pick(structured).name == "eastus"
    only_azure = router.start("sweden", frozenset({"structured_outputs"}))
    with pytest.raises(BadRequestError, match="not supported on deployments hosted on Azure"):
        router.pick(only_azure)


def _data(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


# --- end to end: two resources, one goes down ---------------------------------------------------


@pytest.fixture(scope="module")
def resources() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        Emulator(EmulatorConfig.default(), api_key=KEY) as first,
        Emulator(EmulatorConfig.default(), api_key=KEY) as second,
    ):
        yield first, second


@pytest.fixture
def two(resources: tuple[Emulator, Emulator]) -> tuple[Emulator, Emulator]:
    for emulator in resources:
        emulator.reset()
    return resources


def _catalogue(a: Emulator, b: Emulator, strategy: str = "ordered") -> Catalogue:
    return Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url=a.base_url, hosting="anthropic"),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url, hosting="anthropic"),
        ],
        [Route("haiku", ("a", "b"), strategy)],  # type: ignore[arg-type]
    )


def _routed(two: tuple[Emulator, Emulator], clock: FakeClock, **options: object) -> RoutedFoundry:
    catalogue = _catalogue(*two)
    router = Router(catalogue, breaker=lambda: CircuitBreaker(threshold=2, clock=clock))
    return RoutedFoundry(
        catalogue,
        environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY},
        router=router,
        **options,  # type: ignore[arg-type]
    )


def test_a_resource_going_down_fails_no_call_and_comes_back(two: tuple[Emulator, Emulator]) -> None:
    a, _ = two
    clock = FakeClock()
    client = _routed(two, clock, max_retries=0)
    assert client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment == "a"
    a.add_fault(kind="status", status=503, count=None)  # region down
    answered = [
        client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment
        for _ in range(5)
    ]
    assert answered == ["b"] * 5
    moved = client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert (moved.route, moved.deployment) == ("haiku", "b")
    assert client.router.breakers["a"].state is BreakerState.OPEN
    # While open, nothing is sent to it.
    sent_to_a = len(a.journal())
    client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert len(a.journal()) == sent_to_a
    a.clear_faults()  # region back
    clock.advance(60)
    assert client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment == "a"
    assert client.router.breakers["a"].state is BreakerState.CLOSED


def test_a_stream_fails_over_before_its_first_token(two: tuple[Emulator, Emulator]) -> None:
    a, _ = two
    a.add_fault(kind="disconnect", after_events=1, count=None, stream=True)
    client = _routed(two, FakeClock(), max_retries=0)
    with client.messages.stream(model="haiku", max_tokens=16, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
    assert text
    assert client.router.breakers["a"].failures == 1


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "Check the API key"), (403, "RBAC role"), (404, "No deployment has this name")],
)
def test_config_errors_do_not_fail_over_and_take_the_deployment_out(
    two: tuple[Emulator, Emulator], status: int, hint: str
) -> None:
    a, b = two
    environ = {"ANTHROPIC_FOUNDRY_API_KEY": KEY, "A_KEY": "wrong-key" if status == 401 else KEY}
    if status == 403:
        a.add_fault(kind="status", status=403, count=None)
    catalogue = Catalogue.of(
        [
            Deployment(
                "a",
                "no-such-deployment" if status == 404 else "claude-haiku-4-5",
                base_url=a.base_url,
                api_key_env="A_KEY",
            ),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url),
        ],
        [Route("haiku", ("a", "b"))],
    )
    client = RoutedFoundry(catalogue, environ=environ)
    with pytest.raises(Exception) as caught:
        client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert getattr(caught.value, "status_code", None) == status
    assert hint in str(caught.value)  # the doctor's hint
    assert "router.reset('a')" in "\n".join(getattr(caught.value, "__notes__", []))
    assert len(b.journal()) == 0
    assert client.router.breakers["a"].state is BreakerState.DISABLED
    # The next call goes where it can.
    assert client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment == "b"


def test_every_deployment_down_says_why(two: tuple[Emulator, Emulator]) -> None:
    for emulator in two:
        emulator.add_fault(kind="status", status=529, count=None)
    client = _routed(two, FakeClock(), max_retries=0)
    with pytest.raises(NoDeploymentAvailable) as caught:
        client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert set(caught.value.reasons) == {"a", "b"}


def test_sticky_conversations_stay_on_their_deployment(two: tuple[Emulator, Emulator]) -> None:
    client = _routed(two, FakeClock())
    client.router.catalogue.routes["haiku"] = Route("haiku", ("a", "b"), "weighted")
    first = client.messages.create(
        model="haiku", max_tokens=16, messages=MESSAGES, conversation="c-1"
    ).deployment
    for _ in range(10):
        again = client.messages.create(
            model="haiku", max_tokens=16, messages=MESSAGES, conversation="c-1"
        )
        assert again.deployment == first
    assert all("conversation" not in (e.body or {}) for e in two[0].journal() + two[1].journal())


def test_a_missing_key_variable_is_a_configuration_error(two: tuple[Emulator, Emulator]) -> None:
    client = RoutedFoundry(_catalogue(*two), environ={})
    with pytest.raises(ConfigurationError, match="ANTHROPIC_FOUNDRY_API_KEY"):
        client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)


async def test_async_routed_client_fails_over(two: tuple[Emulator, Emulator]) -> None:
    a, _ = two
    a.add_fault(kind="status", status=500, count=None)
    client = AsyncRoutedFoundry(
        _catalogue(*two), environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}, max_retries=0
    )
    message = await client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert message.deployment == "b"
    async with client.messages.stream(model="haiku", max_tokens=16, messages=MESSAGES) as stream:
        assert (await stream.get_final_message()).content
    count = await client.messages.count_tokens(model="haiku", messages=MESSAGES)
    assert count.input_tokens > 0
    await client.close()


def test_one_pool_across_two_resources_and_a_region_outage(
    two: tuple[Emulator, Emulator],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from claude_foundry.emulator.quota import QuotaBook
    from claude_foundry.emulator.subscription import bring_up, share_quota, take_down
    from claude_foundry.quota import PoolLimits, QuotaGovernor

    a, b = two
    window = 2.0
    share_quota(a, b, window_s=window)
    try:
        for emulator in two:
            emulator.configure(quotas={"claude-haiku-4-5": {"rpm": 10}})
        catalogue = Catalogue.of(
            [
                Deployment("a", "claude-haiku-4-5", base_url=a.base_url, pool="haiku"),
                Deployment("b", "claude-haiku-4-5", base_url=b.base_url, pool="haiku"),
            ],
            [Route("haiku", ("a", "b"), "weighted")],
            {"haiku": PoolLimits(rpm=10)},
        )
        governor = QuotaGovernor(catalogue.pools, window_s=window, window_margin_s=1.0)
        client = RoutedFoundry(
            catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}
        )

        def call(index: int) -> str:
            if index == 10:
                take_down(a)
            message = client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
            return str(message.deployment)

        with ThreadPoolExecutor(4) as pool:
            answered = list(pool.map(call, range(25)))
        assert len(answered) == 25  # no call failed, though region a went down
        journal = a.journal() + b.journal()
        assert not [e for e in journal if e.status == 429]  # one pool, counted once
        bring_up(a)
        assert not a.faults()
    finally:
        for emulator in two:
            emulator.state.quota = QuotaBook()


def test_structured_outputs_go_to_the_anthropic_hosted_deployment_end_to_end(
    two: tuple[Emulator, Emulator],
) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    azure, anthropic = two
    anthropic.configure(deployments={"claude-haiku-4-5": {"hosting": "anthropic"}})
    catalogue = Catalogue.of(
        [
            Deployment("az", "claude-haiku-4-5", base_url=azure.base_url, hosting="azure"),
            Deployment(
                "an",
                "claude-haiku-4-5",
                base_url=anthropic.base_url,
                hosting="anthropic",
                priority=1,
            ),
        ],
        [Route("haiku", ("az", "an")), Route("azure-only", ("az",))],
    )
    client = RoutedFoundry(catalogue, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY})
    parsed = client.messages.parse(
        model="haiku", max_tokens=64, messages=MESSAGES, output_format=Answer
    )
    assert parsed.deployment == "an"
    assert isinstance(parsed.parsed_output, Answer)
    assert client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES).deployment == "az"
    sent = len(azure.journal())
    with pytest.raises(BadRequestError, match="not supported on deployments hosted on Azure"):
        client.messages.parse(
            model="azure-only", max_tokens=64, messages=MESSAGES, output_format=Answer
        )
    assert len(azure.journal()) == sent  # failed before the call


def test_raw_responses_and_beta_are_routed_and_fail_over(two: tuple[Emulator, Emulator]) -> None:
    a, b = two
    a.add_fault(kind="status", status=503, count=None)
    client = _routed(two, FakeClock(), max_retries=0)
    raw = client.with_raw_response.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert raw.status_code == 200
    assert raw.headers.get("apim-request-id")
    message = raw.parse()
    assert (message.deployment, message.failovers) == ("b", 1)
    assert (
        client.messages.with_raw_response.count_tokens(model="haiku", messages=MESSAGES)
        .parse()
        .input_tokens
        > 0
    )
    beta = client.beta.messages.create(
        model="haiku", max_tokens=8, messages=MESSAGES, betas=["context-1m-2025-08-07"]
    )
    assert beta.deployment == "b"
    assert b.journal()[-1].headers.get("anthropic-beta") == "context-1m-2025-08-07"
    with client.beta.messages.stream(model="haiku", max_tokens=8, messages=MESSAGES) as stream:
        assert stream.get_final_message().content
    raw_beta = client.with_raw_response.beta.messages.create(
        model="haiku", max_tokens=8, messages=MESSAGES
    )
    assert raw_beta.parse().deployment == "b"
    assert not [e for e in a.journal() if e.status == 200]


async def test_async_raw_responses_and_beta(two: tuple[Emulator, Emulator]) -> None:
    two[0].add_fault(kind="status", status=500, count=None)
    client = AsyncRoutedFoundry(
        _catalogue(*two), environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}, max_retries=0
    )
    raw = await client.with_raw_response.messages.create(
        model="haiku", max_tokens=8, messages=MESSAGES
    )
    assert (await raw.parse()).deployment == "b"
    beta = await client.beta.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert beta.deployment == "b"
    async with client.beta.messages.stream(model="haiku", max_tokens=8, messages=MESSAGES) as s:
        assert (await s.get_final_message()).content
    await client.close()


@pytest.mark.parametrize("policy", ["fail-open", "fail-closed"])
def test_a_redis_outage_follows_its_policy_in_the_routed_client(
    two: tuple[Emulator, Emulator], policy: str
) -> None:
    from claude_foundry.quota import PoolLimits, QuotaBackendError, QuotaGovernor, RedisBackend

    a, b = two
    catalogue = Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url=a.base_url, pool="haiku"),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url, pool="haiku"),
        ],
        [Route("haiku", ("a", "b"))],
        {"haiku": PoolLimits(rpm=100)},
    )
    closed_port = RedisBackend("redis://127.0.0.1:1/0", socket_timeout=0.2)
    governor = QuotaGovernor(catalogue.pools, backend=closed_port, on_outage=policy)
    client = RoutedFoundry(catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY})
    if policy == "fail-open":
        message = client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
        assert message.deployment == "a"
    else:
        with pytest.raises(QuotaBackendError):
            client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
        assert not a.journal()  # nothing sent
        assert not b.journal()


def test_the_usage_record_names_the_deployment_that_answered(
    two: tuple[Emulator, Emulator],
) -> None:
    from claude_foundry.ledger.testing import CallCapture

    a, _ = two
    a.add_fault(kind="status", status=503, count=None)
    capture = CallCapture()
    client = _routed(two, FakeClock(), max_retries=0, client_options={"observers": [capture]})
    message = client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert message.deployment == "b"
    failed, answered = capture.records
    assert (failed.route, failed.deployment, failed.failovers) == ("haiku", "a", 0)
    assert (failed.outcome, failed.status_code) == ("error", 503)
    assert (answered.route, answered.deployment, answered.failovers) == ("haiku", "b", 1)
    assert answered.outcome == "ok"
    assert answered.output_tokens == message.usage.output_tokens
    # A stream's record is finished when it ends, outside the routed call: it keeps its routing.
    with client.messages.stream(model="haiku", max_tokens=8, messages=MESSAGES) as stream:
        stream.get_final_message()
    streamed = capture.last
    assert (streamed.stream, streamed.deployment, streamed.failovers) == (True, "b", 1)


async def test_async_usage_records_name_the_deployment(two: tuple[Emulator, Emulator]) -> None:
    from claude_foundry.ledger.testing import CallCapture

    two[0].add_fault(kind="status", status=500, count=None)
    capture = CallCapture()
    client = AsyncRoutedFoundry(
        _catalogue(*two),
        environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY},
        max_retries=0,
        client_options={"observers": [capture]},
    )
    await client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert (capture.last.deployment, capture.last.failovers, capture.last.route) == (
        "b",
        1,
        "haiku",
    )
    await client.close()


async def test_the_async_router_asks_for_room_without_blocking(
    two: tuple[Emulator, Emulator],
) -> None:
    from claude_foundry.quota import PoolLimits, QuotaGovernor

    class AsyncOnlyGovernor(QuotaGovernor):
        def headroom(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
            raise AssertionError("the async client asked the store synchronously")

    a, b = two
    catalogue = Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url=a.base_url, pool="pa"),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url, pool="pb", priority=1),
        ],
        [Route("haiku", ("a", "b"))],
        {"pa": PoolLimits(rpm=1), "pb": PoolLimits(rpm=100)},
    )
    governor = AsyncOnlyGovernor(catalogue.pools, max_wait=30)
    client = AsyncRoutedFoundry(
        catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY}
    )
    first = await client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    second = await client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    # Pool pa is full after one call: the second goes where there is room, without waiting.
    assert (first.deployment, second.deployment) == ("a", "b")
    await client.close()


def test_a_full_pool_another_process_filled_sends_the_call_on_at_once(
    two: tuple[Emulator, Emulator],
) -> None:
    from claude_foundry._admission import AdmissionAsk
    from claude_foundry.quota import MemoryBackend, PoolLimits, QuotaGovernor

    a, b = two
    catalogue = Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url=a.base_url, pool="pa"),
            Deployment("b", "claude-haiku-4-5", base_url=b.base_url, pool="pb", priority=1),
        ],
        [Route("haiku", ("a", "b"))],
        {"pa": PoolLimits(rpm=1), "pb": PoolLimits(rpm=1)},
    )
    store = MemoryBackend()
    other = QuotaGovernor(catalogue.pools, backend=store)  # another process on the same store
    assert other.reserve(AdmissionAsk("claude-haiku-4-5", 8, 10, pool="pa")).grant is not None
    governor = QuotaGovernor(catalogue.pools, backend=store, max_wait=0)
    client = RoutedFoundry(catalogue, governor=governor, environ={"ANTHROPIC_FOUNDRY_API_KEY": KEY})
    assert governor.seems_roomy("pa")
    message = client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    # Nothing was sent to a: no failover, a's breaker untouched; pa is now known full.
    assert (message.deployment, message.failovers) == ("b", 0)
    assert client.router.breakers["a"].failures == 0
    assert not governor.seems_roomy("pa")
    # Every pool full: the call waits in one (here max_wait=0 runs out) instead of looping.
    with pytest.raises(NoDeploymentAvailable) as caught:
        client.messages.create(model="haiku", max_tokens=8, messages=MESSAGES)
    assert all("QuotaWaitTimeout" in why for why in caught.value.reasons.values())
    client.close()


def test_copies_share_routing_and_take_options_for_every_deployment(
    two: tuple[Emulator, Emulator],
) -> None:
    a, _ = two
    clock = FakeClock()
    client = _routed(two, clock, max_retries=2)
    quiet = client.with_options(max_retries=0, priority="background")
    assert quiet.router is client.router
    a.add_fault(kind="status", status=503, count=1)
    reply = quiet.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert reply.deployment == "b"  # no retry of its own: moved on at once
    deployment_client = quiet.client_for(client.catalogue.deployments["a"])
    assert (deployment_client.max_retries, deployment_client.priority) == (0, "background")
    assert client.client_for(client.catalogue.deployments["a"]).max_retries == 2
    quiet.close()
    client.close()


def test_a_batch_runs_through_a_routed_client_and_fails_over(
    two: tuple[Emulator, Emulator], tmp_path: Path
) -> None:
    import time

    from claude_foundry.batches import BatchRunner, SQLiteBatchStore
    from claude_foundry.batches._format import BatchRequest

    a, b = two
    a.add_fault(kind="status", status=503, count=None)  # one region down for the whole batch
    client = _routed(two, FakeClock())
    store = SQLiteBatchStore(tmp_path / "store.sqlite")
    params = {"model": "haiku", "max_tokens": 8, "messages": MESSAGES}
    requests = [BatchRequest(f"r{i}", i + 1, params) for i in range(12)]
    now = time.time()
    store.create_batch(
        "msgbatch_r", requests, input_sha256="x", created_at=now, expires_at=now + 60
    )
    record = BatchRunner(store, "msgbatch_r", client, max_concurrency=4).run()
    assert record.counts == {"succeeded": 12}
    assert len([entry for entry in b.journal() if entry.status == 200]) == 12
    store.close()
    client.close()


# --- every deployment cooling down: wait for the first to come back --------------------------


def _cooling_router(clock: FakeClock, recovery_wait: float) -> Router:
    catalogue = Catalogue.of(
        [
            Deployment("a", "claude-haiku-4-5", base_url="http://127.0.0.1:9/anthropic/"),
            Deployment("b", "claude-haiku-4-5", base_url="http://127.0.0.1:9/anthropic/"),
        ],
        [Route("haiku", ("a", "b"))],
    )
    router = Router(
        catalogue,
        breaker=lambda: CircuitBreaker(threshold=1, cooldown=5.0, clock=clock),
        recovery_wait=recovery_wait,
    )
    router.breakers["a"].failure("earlier call: 503")
    clock.advance(2.0)
    router.breakers["b"].failure("earlier call: 503")  # b comes back 2 s after a
    return router


def test_a_call_waits_for_the_first_cooling_deployment_within_its_patience() -> None:
    from claude_foundry.router.router import RecoveryPending

    clock = FakeClock()
    router = _cooling_router(clock, recovery_wait=6.0)
    attempts = router.start("haiku", frozenset())
    with pytest.raises(RecoveryPending) as pending:
        router.pick(attempts)
    assert pending.value.wait == pytest.approx(3.0)  # a reopens 5 s after its trip
    clock.advance(3.0)
    assert router.pick(attempts).name == "a"  # the probe
    # It fails again: a is out for this call, b comes back 2 s later, within the patience left.
    assert router.failed(attempts, APIConnectionError("down"))
    with pytest.raises(RecoveryPending) as pending:
        router.pick(attempts)
    assert pending.value.wait == pytest.approx(2.0)
    clock.advance(2.0)
    assert router.pick(attempts).name == "b"
    assert attempts.waited == pytest.approx(5.0)


def test_past_its_patience_or_with_none_a_call_fails_at_once() -> None:
    from claude_foundry.router.router import RecoveryPending

    clock = FakeClock()
    router = _cooling_router(clock, recovery_wait=2.0)
    with pytest.raises(NoDeploymentAvailable, match="circuit open"):
        router.pick(router.start("haiku", frozenset()))  # a is 3 s away
    impatient = _cooling_router(FakeClock(), recovery_wait=0.0)
    with pytest.raises(NoDeploymentAvailable):
        impatient.pick(impatient.start("haiku", frozenset()))
    patient = _cooling_router(FakeClock(), recovery_wait=10.0)
    attempts = patient.start("haiku", frozenset())
    waits = []
    for _ in range(5):  # the fake clock never moves: the waits add up to the patience
        try:
            patient.pick(attempts)
        except RecoveryPending as pending:
            waits.append(pending.wait)
        except NoDeploymentAvailable:
            break
    assert waits == [pytest.approx(3.0)] * 3
    with pytest.raises(ValueError, match="recovery_wait"):
        Router(patient.catalogue, recovery_wait=-1)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_routed_call_rides_out_an_outage_of_every_deployment(
    two: tuple[Emulator, Emulator], asynchronous: bool
) -> None:
    import asyncio

    catalogue = _catalogue(*two)
    for emulator in two:
        emulator.add_fault(kind="status", status=503, count=1)  # both down for one call

    def router(wait: float) -> Router:
        return Router(
            catalogue,
            breaker=lambda: CircuitBreaker(threshold=1, cooldown=0.2),
            recovery_wait=wait,
        )

    options: dict[str, Any] = {"environ": {"ANTHROPIC_FOUNDRY_API_KEY": KEY}, "max_retries": 0}
    request = {"model": "haiku", "max_tokens": 16, "messages": MESSAGES}
    if asynchronous:

        async def run() -> None:
            async with AsyncRoutedFoundry(catalogue, router=router(5.0), **options) as client:
                with pytest.raises(NoDeploymentAvailable):
                    await client.messages.create(**request)  # failed on both: nothing to wait for
                reply = await client.messages.create(**request)  # both cooling: waits
                assert reply.deployment == "a"

        asyncio.run(run())
        return
    with RoutedFoundry(catalogue, router=router(5.0), **options) as client:
        with pytest.raises(NoDeploymentAvailable):
            client.messages.create(**request)
        assert client.messages.create(**request).deployment == "a"
    for emulator in two:
        emulator.add_fault(kind="status", status=503, count=1)
    with RoutedFoundry(catalogue, router=router(0.0), **options) as client:
        with pytest.raises(NoDeploymentAvailable):
            client.messages.create(**request)
        with pytest.raises(NoDeploymentAvailable, match="circuit open"):
            client.messages.create(**request)  # no patience: fails while they cool down


def test_a_hold_keeps_a_breaker_open_as_long_as_asked_and_never_shortens() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=5.0, max_cooldown=300.0, clock=clock)
    breaker.hold(20.0, "429: retry-after 20")
    assert breaker.state is BreakerState.OPEN
    assert breaker.reopens_in() == pytest.approx(20.0)
    breaker.hold(2.0)  # a shorter request later does not bring it back sooner
    assert breaker.reopens_in() == pytest.approx(20.0)
    breaker.hold(10_000.0)  # a bad header does not park it for hours
    assert breaker.reopens_in() == pytest.approx(300.0)
    breaker.config_error("401")
    breaker.hold(5.0)
    assert breaker.state is BreakerState.DISABLED


def test_a_429_that_says_when_to_come_back_keeps_the_deployment_out_until_then(
    two: tuple[Emulator, Emulator],
) -> None:
    a, _ = two
    clock = FakeClock()
    client = _routed(two, clock, max_retries=0)  # breakers trip after 2 failures
    a.add_fault(kind="status", status=429, count=1, retry_after=20)
    first = client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES)
    assert first.deployment == "b"  # moved on at once
    sent_to_a = len(a.journal())
    answered = [
        client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment
        for _ in range(3)
    ]
    assert answered == ["b"] * 3
    assert len(a.journal()) == sent_to_a  # one 429 was enough: a was asked to wait 20 s
    clock.advance(20)
    assert client.messages.create(model="haiku", max_tokens=16, messages=MESSAGES).deployment == "a"
    client.close()
