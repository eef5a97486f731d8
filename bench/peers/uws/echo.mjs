// uWebSockets.js echo on /echo: every message sent back as it came (text stays text). An
// OPTIONAL peer for scripts/bench.sh (`--only ...,uws`), never run by default.
//
// Where it comes from: uWebSockets.js is published on GitHub only, not on npm, and GitHub is
// out of reach here. `uws-pack` is a third party's repack (github.com/uws-ecosystem/uws-pack)
// that says it ships the official v20 binaries unchanged; checked on 2026-12-02: it carries
// uws_linux_x64_115.node (Node 20's ABI; sha256 6f8d96d761a64beddb060f1f7f0e617dd293ed127ec1d
// 57507aa561a0083171e) and a one-file ESM wrapper, but the binary could not be compared with
// the official release. Treat its figures as those of an unverified build.
//
//   npm ci && node echo.mjs 127.0.0.1:9009

import { App, DISABLED } from 'uws-pack';

const [host, port] = (process.argv[2] ?? '127.0.0.1:9009').split(':');
App()
  .ws('/echo', {
    compression: DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 120,
    message: (socket, message, isBinary) => {
      socket.send(message, isBinary);
    },
  })
  .listen(host, Number(port), (listening) => {
    if (!listening) {
      console.error(`uws: cannot listen on ${host}:${port}`);
      process.exit(1);
    }
    console.error(`uWebSockets.js (uws-pack, unofficial) echo on ws://${host}:${port}/echo`);
  });
