import { randomUUID } from 'node:crypto';
import type { ForwardContext } from '../diagnostics.js';
import type { Forwarder } from '../replica/forwarder.js';
import { shapeResult } from '../sqlite/statements.js';
import type { TransactionDriver } from '../transaction.js';
import type { CallOptions, TransactionOptions } from '../types.js';
import { newIdempotencyKey } from '../util/idempotency-key.js';
import { decodeResult, encodeParams, type WireResult } from '../wire/codec.js';
import type { Request } from '../wire/protocol.js';

export interface RemoteOptions {
  forwarder: Forwarder;
  hostname: string;
  databaseName: string;
  rpcTimeout: number;
  safeIntegers: boolean;
  exactlyOnce: boolean;
  /** Runs one forwarded call under the forward tracing channel. */
  traced<T>(context: ForwardContext, fn: () => Promise<T>): Promise<T>;
  /** The commit was acknowledged with this TXID: count it, and wait for read-your-writes if asked. */
  /** The commit's TXID and checksum: the caller waits for that exact commit (read-your-writes). */
  onCommitted(txid: string | undefined, checksum: string | undefined, options: CallOptions): Promise<void>;
}

/**
 * A write transaction from a replica: a session on the primary, pinned to the primary that began it. Each step
 * carries its sequence number, so a step retried after a lost connection runs once.
 */
export async function openRemoteDriver(deps: RemoteOptions, options: TransactionOptions): Promise<TransactionDriver> {
  const session = randomUUID();
  const traceContext = (sql?: string): ForwardContext => ({ kind: 'transaction', node: deps.hostname, database: deps.databaseName, sql });
  const beginContext = traceContext();
  const { endpoint } = await deps.traced(beginContext, async () => {
    const begun = await deps.forwarder.send((remaining) => ({ op: 'tx', session, seq: 0, action: 'begin', timeoutMs: remaining }), {
      signal: options.signal,
      timeoutMs: options.timeout ?? deps.rpcTimeout,
      idempotent: true,
    });
    beginContext.primary = begun.endpoint.hostname;
    return begun;
  });
  let seq = 0;
  const step = async (build: (seq: number, timeoutMs: number) => Request, callOptions: CallOptions, sql?: string): Promise<{ result: unknown; txid: string | undefined; checksum: string | undefined }> => {
    const mySeq = ++seq;
    const context = { ...traceContext(sql), primary: endpoint.hostname };
    const { response } = await deps.traced(context, async () => {
      const sent = await deps.forwarder.send((remaining) => build(mySeq, remaining), {
        signal: callOptions.signal,
        timeoutMs: callOptions.timeout ?? deps.rpcTimeout,
        idempotent: true,
        endpoint,
        sql,
      });
      if (sent.response.txid !== undefined) context.txid = sent.response.txid;
      return sent;
    });
    return { result: response.result, txid: response.txid, checksum: response.checksum };
  };
  return {
    location: 'remote',
    readOnly: false,
    query: async (sql, params, mode, callOptions) => {
      const wireParams = encodeParams(params);
      const { result } = await step((s, t) => ({ op: 'tx', session, seq: s, action: 'query', mode, sql, ...(wireParams ? { params: wireParams } : {}), timeoutMs: t }), callOptions, sql);
      return shapeResult(decodeResult(result as WireResult, true), mode, deps.safeIntegers);
    },
    exec: async (sql, callOptions) => {
      await step((s, t) => ({ op: 'tx', session, seq: s, action: 'exec', sql, timeoutMs: t }), callOptions, sql);
    },
    commit: async (callOptions) => {
      const key = callOptions.idempotencyKey ?? (deps.exactlyOnce ? newIdempotencyKey() : undefined);
      const { txid, checksum } = await step((s, t) => ({ op: 'tx', session, seq: s, action: 'commit', ...(key ? { key } : {}), timeoutMs: t }), callOptions);
      await deps.onCommitted(txid, checksum, callOptions);
    },
    rollback: async (callOptions) => {
      await step((s, t) => ({ op: 'tx', session, seq: s, action: 'rollback', timeoutMs: t }), callOptions);
    },
  };
}
