import type { WireParams, WireResult } from './codec.js';

export const RPC_PATH = '/litefs-forward/v1/rpc';

/** How a statement's result is shaped; the primary skips reading rows for `run`. */
export const STATEMENT_MODES = ['run', 'get', 'all', 'values', 'query'] as const;
export type StatementMode = (typeof STATEMENT_MODES)[number];

export interface WireStatement {
  sql: string;
  params?: WireParams;
}

export type Request =
  | { op: 'query'; mode: StatementMode; sql: string; params?: WireParams; key?: string; timeoutMs: number }
  | { op: 'batch'; statements: WireStatement[]; key?: string; timeoutMs: number }
  | { op: 'exec'; sql: string; key?: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: 0; action: 'begin'; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'query'; mode: StatementMode; sql: string; params?: WireParams; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'exec'; sql: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'commit'; key?: string; timeoutMs: number }
  | { op: 'tx'; session: string; seq: number; action: 'rollback'; timeoutMs: number }
  | { op: 'status'; timeoutMs: number };

export interface WireError {
  code: string;
  message: string;
  /** The primary's hostname, when NOT_PRIMARY knows a better place to go. */
  primary?: string;
}

export type Response =
  | { ok: true; result?: WireResult | WireResult[] | null; session?: string; status?: unknown; txid?: string }
  | { ok: false; error: WireError };
