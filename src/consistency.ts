import { AsyncLocalStorage } from 'node:async_hooks';
import { compareTxid } from './util/txid.js';

/** Collects the highest TXID written during one unit of work (an HTTP request, say), with its checksum. */
export class WriteScope {
  txid: string | undefined;
  /** LiteFS's post-apply checksum at `txid`, when the commit reported one: it names the transaction. */
  checksum: string | undefined;

  observe(txid: string, checksum?: string): void {
    const order = this.txid === undefined ? 1 : compareTxid(txid, this.txid);
    if (order > 0) {
      this.txid = txid;
      this.checksum = checksum;
    } else if (order === 0 && checksum !== undefined) {
      this.checksum = checksum;
    }
  }
}

/** Per-instance storage, so two databases in one process never share scopes. */
export class ConsistencyScopes {
  readonly #storage = new AsyncLocalStorage<WriteScope>();

  run<T>(scope: WriteScope, fn: () => T): T {
    return this.#storage.run(scope, fn);
  }

  observe(txid: string | undefined, checksum?: string): void {
    if (txid !== undefined) this.#storage.getStore()?.observe(txid, checksum);
  }
}
