// The server side of the transport comparison: the library's own forwarding endpoint (createRpcHandler, with a
// service that answers at once) served over HTTP/1.1 exactly as the library listens, and over h2c (node:http2's
// compatibility API) with the same handler.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { PrimaryService } from '../src/primary/primary-service.js';
import { createRpcHandler } from '../src/primary/rpc-handler.js';
import { silentLogger } from '../src/logger.js';
import type { Response } from '../src/wire/protocol.js';
import { serveIpc } from './ipc.js';
import { BENCH_DATABASE } from './workload.js';

const secret = Buffer.from(process.env['BENCH_SECRET'] ?? '', 'utf8');
const answer: Response = { ok: true, result: { ch: 1, id: { $i: '123456' } }, txid: '00000000000a1b2c' };
const service = { handle: async () => answer } as unknown as PrimaryService;
const handler = createRpcHandler({ service, databaseName: BENCH_DATABASE, secret, maxRequestBytes: 4 * 1024 * 1024, maxClockSkewMs: 30_000, logger: silentLogger });

const h1 = createServer({ keepAliveTimeout: 65_000 }, (req, res) => handler(req, res));
const h2 = createH2Server({}, (req, res) => handler(req as unknown as IncomingMessage, res as unknown as ServerResponse));

function listen(server: { listen(port: number, host: string, callback: () => void): unknown; address(): AddressInfo | string | null }): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

// Registered before anything is awaited, so that no message from the driver arrives unheard.
const ports = Promise.all([listen(h1), listen(h2)]).then(([portH1, portH2]) => ({ h1: portH1, h2: portH2 }));

serveIpc({
  ports: () => ports,
  cpu: () => process.cpuUsage(),
  close: () => {
    h1.closeAllConnections();
    h1.close();
    h2.close();
    setImmediate(() => process.exit(0));
    return { closed: true };
  },
});
