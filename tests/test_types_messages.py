"""``claude_foundry.types.messages`` is ``anthropic.types.messages``: the Message Batches objects
the client-side batch runner hands back, under the official names and with the official fields."""

from __future__ import annotations

import typing

import anthropic.types.messages as official
import msgspec
import pytest

import claude_foundry.types.messages as ours
from claude_foundry.batches import MessageBatch as BatchFromRunner

OFFICIAL_NAMES = sorted(name for name in dir(official) if name[0].isupper())


@pytest.mark.parametrize("name", OFFICIAL_NAMES)
def test_every_official_name_is_here_with_the_same_fields(name: str) -> None:
    theirs = getattr(official, name)
    mine = getattr(ours, name)
    if isinstance(mine, type) and issubclass(mine, msgspec.Struct):
        tag = mine.__struct_config__.tag_field  # a tagged result's "type" is its tag
        fields = set(mine.__struct_fields__) | ({tag} if tag else set())
        assert fields == set(theirs.model_fields), name
    elif typing.is_typeddict(mine):
        assert set(mine.__annotations__) == set(theirs.__annotations__), name
    else:  # a union of result types (theirs annotated with its discriminator)
        if typing.get_origin(theirs) is typing.Annotated:
            theirs = typing.get_args(theirs)[0]
        assert {arg.__name__ for arg in typing.get_args(mine)} == {
            arg.__name__ for arg in typing.get_args(theirs)
        }


def test_the_runner_hands_back_these_very_classes() -> None:
    assert BatchFromRunner is ours.MessageBatch
    deleted = msgspec.json.decode(
        b'{"id": "msgbatch_1", "type": "message_batch_deleted"}', type=ours.DeletedMessageBatch
    )
    assert deleted.id == "msgbatch_1"
