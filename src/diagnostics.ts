import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { RoleChange } from './types.js';

/** What a forwarded call publishes on `litefs-forward:forward` (start, asyncEnd, error). */
export interface ForwardContext {
  /** `query`, `batch`, `exec` or `transaction`. */
  kind: string;
  node: string;
  database: string;
  sql?: string | undefined;
  /** The primary's hostname, once known. */
  primary?: string;
  durationMs?: number;
  txid?: string;
  error?: unknown;
}

export interface LifecycleEvent {
  node: string;
  database: string;
  mode: 'litefs' | 'local';
  error?: unknown;
}

/** What `litefs-forward:lineage-change` publishes when this node's LiteFS moves to another history. */
export interface LineageChangeEvent {
  node: string;
  database: string;
  from: { txid: string; checksum?: string | undefined };
  to: { txid: string; checksum?: string | undefined };
  reason: 'position-moved-back' | 'checksum-differs';
}

export const CHANNELS = Object.freeze({
  forward: 'litefs-forward:forward',
  roleChange: 'litefs-forward:role-change',
  lineageChange: 'litefs-forward:lineage-change',
  open: 'litefs-forward:open',
  close: 'litefs-forward:close',
});

export const forwardChannel = tracingChannel<ForwardContext, ForwardContext>(CHANNELS.forward);
export const roleChangeChannel = channel(CHANNELS.roleChange);
export const lineageChangeChannel = channel(CHANNELS.lineageChange);
export const openChannel = channel(CHANNELS.open);
export const closeChannel = channel(CHANNELS.close);

export interface RoleChangeEvent extends RoleChange {
  node: string;
  database: string;
}
