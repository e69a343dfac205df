"""mitmproxy's internals, fenced: each patch still fits the mitmproxy it was written for, the
gateway refuses an untested mitmproxy, and each patch does what it is there for."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from mitmproxy import connection, options, version
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.context import Context
from mitmproxy.test import tflow

from addons.runtime import patches
from addons.runtime.patches import BodySizeLimit, EventQueue

from .conftest import ROOT


def _original(owner, attribute):
    return patches.ORIGINALS.get((owner, attribute)) or getattr(owner, attribute)


@pytest.mark.parametrize("patch", patches.PATCHES, ids=lambda p: p.name)
def test_each_patch_wraps_the_source_it_was_written_against(patch):
    """A new mitmproxy that changes a patched function fails here: read the new source, adapt
    the patch (or drop it if upstream fixed the cause, see `retire`), then update the print."""
    assert patch.why and patch.retire
    assert patches.fingerprint(_original(patch.owner, patch.attribute)) == patch.fingerprint


@pytest.mark.parametrize("name", sorted(patches.RELIED_ON))
def test_the_internals_relied_on_are_unchanged(name):
    module, path, expected = patches.RELIED_ON[name]
    target = importlib.import_module(module)
    for part in path.split("."):
        target = getattr(target, part)
    assert patches.fingerprint(target) == expected


def test_the_installed_mitmproxy_is_a_tested_one():
    assert version.VERSION in patches.TESTED_VERSIONS
    patches.check_version(version.VERSION)
    with pytest.raises(patches.UntestedMitmproxy, match="12.4.0 is installed"):
        patches.check_version("12.4.0")


def test_the_gateway_refuses_to_start_on_an_untested_mitmproxy(tmp_path):
    code = ("import sys; import mitmproxy.version as v; v.VERSION = '99.0'; "
            "sys.argv = ['llm-gateway', '--port', '1']; "
            "from addons.__main__ import main; main()")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={"DATA_DIR": str(tmp_path), "PATH": ""})
    assert out.returncode == 1
    assert "mitmproxy 99.0 is installed" in out.stderr and "tested on 12.3.1" in out.stderr


def test_install_applies_every_patch_once():
    patches.install()
    patches.install()
    for patch in patches.PATCHES:
        assert (patch.owner, patch.attribute) in patches.ORIGINALS
    # check_body_size: the quick check over the error-page wrapper over mitmproxy's own.
    from mitmproxy.proxy.layers.http import HttpStream
    quick = HttpStream.check_body_size
    assert quick.__wrapped__.__wrapped__ is patches.ORIGINALS[(HttpStream, "check_body_size")]


def test_event_queue_is_a_lazy_fifo():
    q = EventQueue()
    assert not q and len(q) == 0 and list(q) == [] and q._items is None
    q.append(1)
    q.append(2)
    assert q and len(q) == 2 and list(q) == [1, 2]
    assert q.popleft() == 1 and q.popleft() == 2
    assert not q and q._items is None  # the deque is let go once drained
    with pytest.raises(IndexError):
        q.popleft()


class Waits(layer.Layer):
    """Opens a connection on start (a blocking command: the layer pauses) and records the rest."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.seen: list = []

    def _handle_event(self, event):
        if isinstance(event, events.Start):
            yield commands.OpenConnection(self.context.server)
        else:
            self.seen.append(event)


def test_slim_layers_queue_events_while_paused_and_replay_them_in_order():
    patches.install()
    patches.install()  # idempotent: one wrapper, not two
    assert layer.Layer.__init__.__wrapped__ is patches.ORIGINALS[(layer.Layer, "__init__")]
    client = connection.Client(peername=("127.0.0.1", 1), sockname=("127.0.0.1", 2),
                               timestamp_start=0)
    w = Waits(Context(client, options.Options()))
    assert isinstance(w._paused_event_queue, EventQueue)
    (open_cmd,) = list(w.handle_event(events.Start()))
    assert w._paused
    later = [events.DataReceived(client, b"a"), events.DataReceived(client, b"b")]
    for ev in later:
        assert list(w.handle_event(ev)) == []  # queued while the layer waits
    assert len(w._paused_event_queue) == 2 and w.seen == []
    list(w.handle_event(events.OpenConnectionCompleted(open_cmd, None)))
    assert w.seen == later and not w._paused_event_queue


class Stream:
    """What an HttpStream's body-size check reads."""

    def __init__(self, headers: dict, buffered: bytes = b"") -> None:
        self.flow = tflow.tflow(resp=True)
        self.flow.request.headers.clear()
        self.flow.request.headers.update(headers)
        self.request_body_buf = bytearray(buffered)
        self.response_body_buf = bytearray()


@pytest.mark.parametrize("headers, buffered, full", [
    ({"content-length": "100"}, b"", False),  # at the limit
    ({"content-length": "101"}, b"", True),  # over: mitmproxy's check refuses it
    ({"transfer-encoding": "chunked"}, b"", False),  # nothing to go by until it is read
    ({"transfer-encoding": "chunked"}, b"x" * 100, False),
    ({"transfer-encoding": "chunked"}, b"x" * 101, True),
    ({"content-length": "ten"}, b"", True),  # malformed: mitmproxy decides
])
def test_quick_body_size_check_hands_anything_over_the_limit_to_mitmproxy(
        monkeypatch, headers, buffered, full):
    monkeypatch.setattr(BodySizeLimit, "limit", 100)
    monkeypatch.setattr(BodySizeLimit, "full_check", False)
    calls = []

    def mitmproxys(stream, request):
        calls.append(request)
        yield "refusal"
        return True

    result = list(patches._quick_body_check(mitmproxys)(Stream(headers, buffered), True))
    assert (calls, result) == (([True], ["refusal"]) if full else ([], []))


