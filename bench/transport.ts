// Transport comparison: the library's RpcClient (HTTP/1.1 keep-alive, as now) against an HTTP/2 client doing the
// same work (sign, send, verify, parse) over one h2c session, both talking to the library's own endpoint in
// another process (bench/transport-server.ts). Latency one call at a time, then throughput and CPU per call
// with 64 calls in flight.
import { connect, type ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { RpcClient } from '../src/replica/rpc-client.js';
import { HEADER_NONCE, signRequest, verifyResponse } from '../src/wire/auth.js';
import { encodeParams } from '../src/wire/codec.js';
import { type Request, type Response, rpcPath } from '../src/wire/protocol.js';
import type { ChildHandle } from './ipc.js';
import { median, round, summarize } from './util.js';
import { BENCH_DATABASE, INSERT_SQL } from './workload.js';

type OkResponse = Extract<Response, { ok: true }>;

interface Client {
  name: string;
  call(payload: Request): Promise<OkResponse>;
  close(): void;
}

/** What the library does over HTTP/2 instead of HTTP/1.1: the same signing, verification and parsing. */
class H2Client {
  readonly #secret: Buffer;
  readonly #hostname: string;
  readonly #url: string;
  #session: ClientHttp2Session | undefined;

  constructor(secret: Buffer, hostname: string, url: string) {
    this.#secret = secret;
    this.#hostname = hostname;
    this.#url = url;
  }

  #connect(): ClientHttp2Session {
    if (this.#session !== undefined && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const session = connect(this.#url);
    session.on('error', () => {});
    session.once('close', () => {
      if (this.#session === session) this.#session = undefined;
    });
    this.#session = session;
    return session;
  }

  call(payload: Request, signal: AbortSignal): Promise<OkResponse> {
    const body = Buffer.from(JSON.stringify(payload));
    const path = rpcPath(BENCH_DATABASE);
    const headers = signRequest(this.#secret, this.#hostname, path, body);
    const stream = this.#connect().request(
      { ':method': 'POST', ':path': path, ...headers, 'content-type': 'application/json', 'content-length': body.length },
      { signal },
    );
    return new Promise<OkResponse>((resolve, reject) => {
      let status = 0;
      let signature: string | undefined;
      const chunks: Buffer[] = [];
      stream.once('response', (responseHeaders) => {
        status = Number(responseHeaders[':status']);
        const value = responseHeaders['x-litefs-forward-signature'];
        signature = typeof value === 'string' ? value : undefined;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', reject);
      stream.once('end', () => {
        const text = Buffer.concat(chunks);
        if (!verifyResponse(this.#secret, headers[HEADER_NONCE], status, text, signature)) return reject(new Error(`unsigned answer (HTTP ${status})`));
        const response = JSON.parse(text.toString('utf8')) as Response;
        if (response.ok) resolve(response);
        else reject(new Error(response.error.message));
      });
      stream.end(body);
    });
  }

  close(): void {
    this.#session?.close();
  }
}

export interface TransportRow {
  transport: string;
  payload: string;
  sequential: { p50Us: number; p99Us: number; n: number };
  concurrent: { inFlight: number; requests: number; perSecond: number; clientCpuUsPerCall: number; serverCpuUsPerCall: number };
}

export interface TransportReport {
  rows: TransportRow[];
  notes: string[];
}

function requestFor(payloadName: 'single-row insert' | '64 KiB blob insert'): Request {
  const params = payloadName === 'single-row insert' ? ['node2', 42, 0.123_456, 'p'.repeat(100), 1_700_000_000_123] : [Buffer.alloc(64 * 1024, 7)];
  return { op: 'query', mode: 'run', sql: INSERT_SQL, params: encodeParams(params)!, key: randomUUID(), timeoutMs: 15_000 };
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

export async function runTransportBench(server: ChildHandle, options: { secret: string; sequential: number; concurrent: number; inFlight: number; rounds: number }): Promise<TransportReport> {
  const ports = await server.call<{ h1: number; h2: number }>('ports');
  const secret = Buffer.from(options.secret, 'utf8');
  const rpc = new RpcClient({ secret, hostname: 'node2', databaseName: BENCH_DATABASE });
  const h2 = new H2Client(secret, 'node2', `http://127.0.0.1:${ports.h2}`);
  const clients: Client[] = [
    { name: 'HTTP/1.1 keep-alive (current RpcClient)', call: (payload) => rpc.call(`http://127.0.0.1:${ports.h1}`, payload, AbortSignal.timeout(15_000), 'node1'), close: () => rpc.close() },
    { name: 'HTTP/2 h2c, one session (node:http2)', call: (payload) => h2.call(payload, AbortSignal.timeout(15_000)), close: () => h2.close() },
  ];
  const rows: TransportRow[] = [];
  try {
    for (const payloadName of ['single-row insert', '64 KiB blob insert'] as const) {
      const scale = payloadName === 'single-row insert' ? 1 : 0.25;
      const results = new Map<Client, { latencies: number[]; rates: number[]; clientCpu: number[]; serverCpu: number[] }>(
        clients.map((client) => [client, { latencies: [], rates: [], clientCpu: [], serverCpu: [] }]),
      );
      // Warm up connections and JIT on both sides.
      for (const client of clients) for (let i = 0; i < 200; i++) await client.call(requestFor(payloadName));
      for (let round = 0; round < options.rounds; round++) {
        const order = round % 2 === 0 ? clients : [...clients].reverse();
        for (const client of order) {
          const result = results.get(client)!;
          const sequential = Math.max(50, Math.round(options.sequential * scale));
          for (let i = 0; i < sequential; i++) {
            const request = requestFor(payloadName);
            const startedAt = performance.now();
            await client.call(request);
            result.latencies.push((performance.now() - startedAt) * 1_000);
          }
          const total = Math.max(200, Math.round(options.concurrent * scale));
          const serverBefore = await server.call<NodeJS.CpuUsage>('cpu');
          const clientBefore = process.cpuUsage();
          const startedAt = performance.now();
          let issued = 0;
          const worker = async (): Promise<void> => {
            while (issued < total) {
              issued++;
              await client.call(requestFor(payloadName));
            }
          };
          await Promise.all(Array.from({ length: options.inFlight }, worker));
          const elapsedMs = performance.now() - startedAt;
          const clientCpu = cpuMicros(process.cpuUsage(clientBefore));
          const serverCpu = cpuMicros(await server.call<NodeJS.CpuUsage>('cpu')) - cpuMicros(serverBefore);
          result.rates.push((total * 1_000) / elapsedMs);
          result.clientCpu.push(clientCpu / total);
          result.serverCpu.push(serverCpu / total);
        }
      }
      for (const client of clients) {
        const result = results.get(client)!;
        const latency = summarize(result.latencies);
        rows.push({
          transport: client.name,
          payload: payloadName,
          sequential: { p50Us: Math.round(latency.p50), p99Us: Math.round(latency.p99), n: latency.n },
          concurrent: {
            inFlight: options.inFlight,
            requests: Math.max(200, Math.round(options.concurrent * scale)),
            perSecond: Math.round(median(result.rates)),
            clientCpuUsPerCall: round(median(result.clientCpu), 1),
            serverCpuUsPerCall: round(median(result.serverCpu), 1),
          },
        });
      }
    }
  } finally {
    for (const client of clients) client.close();
  }
  return {
    rows,
    notes: [
      'Both transports carry the same signed JSON and hit the same endpoint code (createRpcHandler) in a separate process; the service answers at once, so only transport, signing and parsing are timed.',
      'Client CPU includes the driver process only; server CPU is the endpoint process. Throughput is bounded by 2 shared cores (client + server + anything else running).',
    ],
  };
}
