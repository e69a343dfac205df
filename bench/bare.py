"""The ceiling of this design: a lean mitmproxy master in reverse mode, straight to the upstream,
with no addon of ours but one switch that streams event streams (without it mitmproxy buffers
SSE to the end, mitmproxy #4469, and there would be nothing to compare). The gateway's figures
are compared with this."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import tempfile

from mitmproxy import options

from addons.chain import Chain
from addons.lean import lean_master, run


class StreamEvents:
    def responseheaders(self, flow) -> None:
        if "text/event-stream" in flow.response.headers.get("content-type", ""):
            flow.response.stream = True


async def main(port: int, upstream: str) -> None:
    opts = options.Options(listen_host="127.0.0.1", listen_port=port,
                           mode=[f"reverse:{upstream}"], confdir=tempfile.mkdtemp())
    m = lean_master(opts, Chain(StreamEvents()))  # attached as the gateway attaches its chain
    m.options.update(connection_strategy="lazy", termlog_verbosity="warn")
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
    args = parser.parse_args()
    run(main(args.port, args.upstream))  # the gateway's event loop, too
