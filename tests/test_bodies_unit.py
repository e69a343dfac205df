"""Large request bodies read aside: the worker's parse matches json.loads, its spans are the
body's own bytes, and nothing large crosses back between the processes."""

from __future__ import annotations

import asyncio
import json
import pickle

import pytest

from addons.wire import bodies

MESSAGES = [{"role": "user", "content": f"turn {i}: é, ü, \"quoted\", 😀 " * 5}
            for i in range(3000)]


def spans_resolved(content: bytes) -> dict:
    shallow, _ = bodies.read_shallow(content)
    return {k: bodies.RawJSON(content, *v) if type(v) is bodies._Span else v
            for k, v in shallow.items()}


@pytest.mark.parametrize("separators", [(", ", ": "), (",", ":"), (" ,\n ", " :\t")])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_large_values_come_back_as_the_bodys_own_bytes(separators, ascii_only):
    body = {"model": "gpt-4o-mini", "system": "ß" * 20_000, "messages": MESSAGES,
            "temperature": 0.2, "tools": [], "metadata": {"a": "b" * 30_000}}
    content = json.dumps(body, ensure_ascii=ascii_only, separators=separators).encode()
    read = spans_resolved(content)
    assert {k for k, v in read.items() if isinstance(v, bodies.RawJSON)} == {"system",
                                                                             "messages"}
    for name in ("system", "messages"):
        raw = read[name]
        assert raw.content is content  # a span of the bytes the gateway holds, not a copy
        assert raw.load() == body[name]
        assert raw.view().tobytes() == json.dumps(
            body[name], ensure_ascii=ascii_only, separators=separators).encode()
    assert read["metadata"] == body["metadata"]  # objects always come back as values
    assert json.loads(bodies.dumps(read)) == body
    assert read["messages"].holds(b'"role"') and not read["system"].holds(b'"role"')


@pytest.mark.parametrize("content", [
    b'{"a": 1,}', b'{"a": 1} x', b'[1]', b'{"a" 1}', b'{"a": 1, "a": 2}', b'{}', b' { } ',
    b'\xef\xbb\xbf{"a": 1}', '{"a": "é"}'.encode("utf-16"), b'{"a": NaN}', b'{"a": "\x01"}',
    b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"\xff{}",
    b'{"a": 1, "messages": [' + b'"x", ' * 10_000 + b'"x"], "b": {"c": 1, "c": 2}}',
])
def test_the_worker_answers_as_the_loop_would(content):
    worker, estimate = bodies.read_shallow(content)
    loop, loop_estimate = bodies.read(content)
    if isinstance(loop, dict):
        resolved = spans_resolved(content)
        assert json.loads(bodies.dumps(resolved)) == loop and estimate == loop_estimate
    else:
        assert worker == loop and type(worker) is type(loop)


def test_the_reader_hands_over_the_body_by_a_memory_file_and_gets_spans_back():
    content = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES * 3},
                         ensure_ascii=False).encode()
    assert len(content) > bodies.LARGE
    shallow, _ = bodies.read_shallow(content)
    assert len(pickle.dumps(shallow)) < 200  # what crosses back: a few numbers

    async def read():
        reader = bodies.Reader()
        try:
            return await reader.read(content)
        finally:
            reader.close()

    body, estimate = asyncio.run(read())
    assert body["model"] == "gpt-4o-mini" and estimate > 100_000
    assert body["messages"].content is content and bodies.dumps(body) == content
