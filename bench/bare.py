"""The ceiling of this design: the gateway's lean runtime (addons/runtime/lean.py: its dispatch, its
slimmer layers, uvloop, a frozen heap) in reverse mode, straight to the upstream, with no addon
of ours but one switch that streams event streams (without it mitmproxy buffers SSE to the end,
mitmproxy #4469, and there would be nothing to compare). The gateway's figures are compared
with this.

`--stock` runs mitmproxy's own lean master instead, as the reference notes measured it: its
Master and addon manager with the six core addons and that switch, on asyncio's event loop;
what a gateway built on unmodified mitmproxy could at best reach."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import tempfile

from mitmproxy import master as mitm_master
from mitmproxy import options

from addons.runtime import patches
from addons.runtime.chain import Chain
from addons.runtime.lean import core_addons, lean_master, run


class StreamEvents:
    def responseheaders(self, flow) -> None:
        if "text/event-stream" in flow.response.headers.get("content-type", ""):
            flow.response.stream = True


def stock_master(opts: options.Options) -> mitm_master.Master:
    m = mitm_master.Master(opts, with_termlog=True)
    m.addons.add(*core_addons(), StreamEvents())
    return m


async def main(port: int, upstream: str, stock: bool) -> None:
    opts = options.Options(listen_host="127.0.0.1", listen_port=port,
                           mode=[f"reverse:{upstream}"], confdir=tempfile.mkdtemp())
    if stock:
        m = stock_master(opts)
    else:
        m = lean_master(opts, Chain(StreamEvents()))  # attached as the gateway attaches its chain
    m.options.update(connection_strategy="lazy", termlog_verbosity="warn")
    if not stock:
        gc.collect()
        gc.freeze()  # as the gateway does
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, m.shutdown)
    await m.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--stock", action="store_true", help="mitmproxy's own lean master")
    parser.add_argument("--without", help="leave out this patch (bench/patches.py)")
    args = parser.parse_args()
    if args.stock:
        asyncio.run(main(args.port, args.upstream, stock=True))
    else:
        patches.check_version()  # the gateway's runtime, as its entry point installs it
        for patch in patches.PATCHES:
            if patch.name != args.without:
                patches.apply(patch)
        run(main(args.port, args.upstream, stock=False))  # the gateway's event loop, too
