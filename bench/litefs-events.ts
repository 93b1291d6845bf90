// The benchmark's own subscription to a LiteFS node's /events stream: it timestamps every lease event
// (init, primaryChange) independently of the library, in another process than the library's.
import { type ClientRequest, request } from 'node:http';
import { epochNow } from './util.js';

export interface LeaseEvent {
  t: number;
  node: string;
  type: 'init' | 'primaryChange';
  isPrimary: boolean;
  hostname: string;
}

export class LiteFSEventLog {
  readonly node: string;
  readonly url: string;
  readonly events: LeaseEvent[] = [];
  txEvents = 0;
  #running = false;
  #req: ClientRequest | undefined;
  #loop: Promise<void> | undefined;

  constructor(node: string, litefsUrl: string) {
    this.node = node;
    this.url = `${litefsUrl}/events`;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#req?.destroy();
    await this.#loop;
  }

  /** Lease events at or after `after` (epoch ms). */
  since(after: number): LeaseEvent[] {
    return this.events.filter((event) => event.t >= after);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await new Promise<void>((resolve) => {
        const req = request(this.url, { agent: false, headers: { accept: 'application/x-ndjson' } });
        this.#req = req;
        req.once('error', () => resolve());
        req.once('response', (res) => {
          let buffered = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const t = epochNow();
            buffered += chunk;
            let newline = buffered.indexOf('\n');
            while (newline !== -1) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              this.#line(line, t);
              newline = buffered.indexOf('\n');
            }
          });
          res.once('close', () => resolve());
          res.once('error', () => resolve());
        });
        req.end();
      });
      if (this.#running) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  #line(line: string, t: number): void {
    // Most lines are tx events: count them without parsing.
    if (!line.includes('"init"') && !line.includes('"primaryChange"')) {
      if (line.includes('"tx"')) this.txEvents++;
      return;
    }
    try {
      const event = JSON.parse(line) as { type?: string; data?: { isPrimary?: boolean; hostname?: string } };
      if (event.type !== 'init' && event.type !== 'primaryChange') return;
      this.events.push({ t, node: this.node, type: event.type, isPrimary: event.data?.isPrimary === true, hostname: event.data?.hostname ?? '' });
    } catch {
      // Not ours to judge.
    }
  }
}
