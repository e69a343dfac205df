"""OpenAI's stored chat completions told apart per customer, alone: the tag written in what is
stored or updated, the list's filter, the tag taken out of answers."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from addons.providers.openai import stored
from addons.providers.openai.chat import Refused


def test_a_stored_completion_carries_its_customer_and_only_a_stored_one():
    body = {"model": "m", "store": True, "metadata": {"topic": "a"}}
    assert stored.tag_created(body, "42")
    assert body["metadata"] == {"topic": "a", stored.KEY: "42"}
    plain = {"model": "m", "metadata": {"topic": "a"}}
    assert not stored.tag_created(plain, "42") and plain["metadata"] == {"topic": "a"}
    update = {"metadata": None}
    assert stored.tag_updated(update, "42") and update["metadata"] == {stored.KEY: "42"}


@pytest.mark.parametrize("metadata,param", [
    ({stored.KEY: "7"}, f"metadata.{stored.KEY}"),
    ({str(i): "v" for i in range(16)}, "metadata"),
    ("topic", "metadata"),
])
def test_metadata_the_tag_cannot_join_is_refused(metadata, param):
    with pytest.raises(Refused) as e:
        stored.tag_updated({"metadata": metadata}, "42")
    assert e.value.param == param


def test_a_list_is_filtered_by_the_callers_tag_whatever_the_caller_asked():
    query = stored.filter_listed(
        f"limit=5&metadata%5Btopic%5D=a&metadata%5B{stored.KEY}%5D=1&after=chatcmpl-9", "42")
    assert parse_qsl(query) == [("limit", "5"), ("metadata[topic]", "a"),
                                ("after", "chatcmpl-9"), (f"metadata[{stored.KEY}]", "42")]
    assert parse_qsl(stored.filter_listed("", "42")) == [(f"metadata[{stored.KEY}]", "42")]


def test_the_tag_is_taken_out_of_one_completion_and_of_a_list():
    one = {"id": "c1", "object": "chat.completion", "metadata": {"t": "é", stored.KEY: "42"}}
    assert json.loads(stored.untag(json.dumps(one).encode()))["metadata"] == {"t": "é"}
    page = {"object": "list", "data": [one, {**one, "id": "c2", "metadata": None}]}
    out = json.loads(stored.untag(json.dumps(page).encode()))
    assert [c["metadata"] for c in out["data"]] == [{"t": "é"}, None]
    assert stored.untag(b'{"id": "c1", "metadata": {}}') is None  # untouched: not parsed
    assert stored.untag(b'{"error": "llm_gateway_customer"') is None  # not JSON: as it is
