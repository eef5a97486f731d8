// Node's `ws` echo on /echo: every message sent back as it came (text stays text).
// A peer for scripts/bench.sh.
//
//   npm ci && node echo.mjs 127.0.0.1:9007
//   node echo.mjs 127.0.0.1:9007 --compress   # permessage-deflate: ws's defaults, and no
//                                             # context takeover (as the backend by default)
//   node echo.mjs 127.0.0.1:9007 --tls CERT KEY  # wss over Node's https (OpenSSL)

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { WebSocketServer } from 'ws';

const [host, port] = (process.argv[2] ?? '127.0.0.1:9007').split(':');
const perMessageDeflate = process.argv.includes('--compress')
  ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 128 }
  : false;
const tls = process.argv.indexOf('--tls');
let server;
if (tls >= 0) {
  const https = createServer({ cert: readFileSync(process.argv[tls + 1]), key: readFileSync(process.argv[tls + 2]) });
  server = new WebSocketServer({ server: https, path: '/echo', perMessageDeflate });
  https.listen(Number(port), host, () => console.error(`ws echo on wss://${host}:${port}/echo`));
} else {
  server = new WebSocketServer({ host, port: Number(port), path: '/echo', perMessageDeflate });
}
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});
server.on('listening', () => console.error(`ws echo on ws://${host}:${port}/echo`));
