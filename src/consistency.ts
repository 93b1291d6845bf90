import { AsyncLocalStorage } from 'node:async_hooks';
import { compareTxid } from './util/txid.js';

/** Collects the highest TXID written during one unit of work (an HTTP request, say). */
export class WriteScope {
  txid: string | undefined;

  observe(txid: string): void {
    if (this.txid === undefined || compareTxid(txid, this.txid) > 0) this.txid = txid;
  }
}

/** Per-instance storage, so two databases in one process never share scopes. */
export class ConsistencyScopes {
  readonly #storage = new AsyncLocalStorage<WriteScope>();

  run<T>(scope: WriteScope, fn: () => T): T {
    return this.#storage.run(scope, fn);
  }

  observe(txid: string | undefined): void {
    if (txid !== undefined) this.#storage.getStore()?.observe(txid);
  }
}
