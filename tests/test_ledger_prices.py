"""Prices as data: the shipped table, overrides, deployments, long context, Data Zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_foundry import CallRecord, ConfigurationError
from claude_foundry.ledger import load_price_table


def _record(**fields: object) -> CallRecord:
    values: dict[str, object] = {"started_at": 0.0, "duration": 1.0, "input_tokens": 0}
    values.update(fields)
    return CallRecord(**values)  # type: ignore[arg-type]


def test_every_price_by_hand() -> None:
    table = load_price_table()
    record = _record(
        model="claude-haiku-4-5",
        input_tokens=1_000_000,
        output_tokens=2_000_000,
        cache_creation_input_tokens=3_000_000,
        cache_write_5m_tokens=1_000_000,
        cache_write_1h_tokens=2_000_000,
        cache_read_input_tokens=4_000_000,
    )
    # $1 in, $5 out, $1.25 5m write, $2 1h write, $0.10 read (per million).
    assert table.cost(record) == ("claude-haiku-4-5", pytest.approx(1 + 10 + 1.25 + 4 + 0.4))


def test_writes_without_a_ttl_breakdown_are_five_minute_writes() -> None:
    record = _record(
        model="claude-haiku-4-5", input_tokens=0, cache_creation_input_tokens=1_000_000
    )
    assert load_price_table().cost(record)[1] == pytest.approx(1.25)


def test_long_context_prices_the_whole_request_higher() -> None:
    table = load_price_table()
    short = _record(model="claude-sonnet-4-5", input_tokens=200_000, output_tokens=1000)
    long = _record(
        model="claude-sonnet-4-5",
        input_tokens=150_000,
        cache_read_input_tokens=60_000,
        output_tokens=1000,
    )
    assert table.cost(short)[1] == pytest.approx((200_000 * 3 + 1000 * 15) / 1e6)
    assert table.cost(long)[1] == pytest.approx((150_000 * 6 + 60_000 * 0.6 + 1000 * 22.5) / 1e6)
    # Models without a long-context tier keep their price.
    opus = _record(model="claude-opus-4-5", input_tokens=500_000)
    assert table.cost(opus)[1] == pytest.approx(2.5)


def test_prices_key_on_model_ids_not_deployment_names() -> None:
    table = load_price_table()
    dated = _record(model="claude-opus-4-5-20251101", deployment="prod-chat", input_tokens=10**6)
    assert table.cost(dated) == ("claude-opus-4-5", pytest.approx(5.0))
    custom = _record(deployment="prod-chat", input_tokens=10**6)  # no response model
    assert table.cost(custom) == (None, None)
    named = _record(deployment="claude-haiku-4-5", input_tokens=10**6)
    assert table.cost(named) == ("claude-haiku-4-5", pytest.approx(1.0))
    assert table.cost(_record(model="claude-haiku-4-5", input_tokens=None)) == (None, None)
    counting = _record(operation="count_tokens", deployment="claude-haiku-4-5", input_tokens=9)
    assert table.cost(counting) == (None, 0.0)


def test_an_override_file_adds_prices_deployments_and_data_zone(tmp_path: Path) -> None:
    path = tmp_path / "contract.toml"
    path.write_text(
        'version = "contract-2026-10"\n'
        '[models."claude-sonnet-4-6"]\ninput = 2.0\noutput = 10.0\n'
        '[deployments."prod-chat"]\nmodel = "claude-sonnet-4-6"\ndata_zone = true\n'
    )
    table = load_price_table(path)
    assert table.version == "contract-2026-10"
    record = _record(deployment="prod-chat", input_tokens=10**5, output_tokens=10**5)
    assert table.cost(record) == ("claude-sonnet-4-6", pytest.approx((2.0 + 10.0) * 1.1 / 10))
    # A model the override leaves alone keeps the shipped price.
    assert table.cost(_record(model="claude-haiku-4-5", input_tokens=10**6))[1] == 1.0

    unnamed = tmp_path / "extra.toml"
    unnamed.write_text('[deployments.x]\nmodel = "claude-haiku-4-5"\n')
    assert load_price_table(unnamed).version == "anthropic-2026-09+extra.toml"


def test_bad_price_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Cannot read the price file"):
        load_price_table(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_price_table(broken)
    no_output = tmp_path / "no_output.toml"
    no_output.write_text('[models."m"]\ninput = 1\n')
    with pytest.raises(ConfigurationError, match="needs numeric `input` and `output`"):
        load_price_table(no_output)


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4-5",
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-sonnet-4-6",
        "claude-sonnet-4",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
    ],
)
def test_the_shipped_table_agrees_with_genai_prices(model: str) -> None:
    import genai_prices  # a dev dependency: the check runs wherever the tests do

    # genai-prices counts input_tokens as the total input, cache included.
    usage = genai_prices.Usage(
        input_tokens=150_000,
        output_tokens=20_000,
        cache_write_tokens=30_000,
        cache_read_tokens=40_000,
    )
    theirs = genai_prices.calc_price(usage, model, provider_id="anthropic")
    ours = load_price_table().cost(
        _record(
            model=model,
            input_tokens=80_000,
            output_tokens=20_000,
            cache_creation_input_tokens=30_000,
            cache_read_input_tokens=40_000,
        )
    )[1]
    assert ours == pytest.approx(float(theirs.total_price), rel=1e-6)
