import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in for one node's LiteFS in integration tests: a real HTTP server speaking LiteFS's `/events` NDJSON and
 * `/info` JSON, and a real `.primary` file, in a temporary directory. It replicates nothing.
 */
export class FakeLiteFS {
  readonly dir: string;
  readonly #server: Server;
  readonly #subscribers = new Set<ServerResponse>();
  #isPrimary: boolean;
  #primaryHostname: string | undefined;
  connections = 0;
  #down = false;

  private constructor(dir: string, server: Server, isPrimary: boolean, primaryHostname: string | undefined) {
    this.dir = dir;
    this.#server = server;
    this.#isPrimary = isPrimary;
    this.#primaryHostname = primaryHostname;
  }

  static async start(state: { isPrimary: boolean; primaryHostname?: string }): Promise<FakeLiteFS> {
    const dir = mkdtempSync(join(tmpdir(), 'litefs-forward-fake-'));
    let fake: FakeLiteFS | undefined;
    const server = createServer((req, res) => fake!.handle(req.url ?? '', res));
    fake = new FakeLiteFS(dir, server, state.isPrimary, state.primaryHostname);
    fake.#writePrimaryFile();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get eventStreamUrl(): string {
    return `${this.baseUrl}/events`;
  }

  get primaryFile(): string {
    return join(this.dir, '.primary');
  }

  get databasePath(): string {
    return join(this.dir, 'app.db');
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Changes the lease: rewrites `.primary` and sends `primaryChange` to every subscriber, as LiteFS does. */
  setLease(isPrimary: boolean, primaryHostname?: string, { notify = true, file = true } = {}): void {
    this.#isPrimary = isPrimary;
    this.#primaryHostname = isPrimary ? undefined : primaryHostname;
    if (file) this.#writePrimaryFile();
    if (notify) this.broadcast(JSON.stringify({ type: 'primaryChange', data: this.#leaseData() }));
  }

  broadcast(line: string): void {
    for (const res of this.#subscribers) res.write(`${line}\n`);
  }

  /** Ends every open event stream, as LiteFS does when a subscriber's buffer overflows. */
  dropStreams(): void {
    for (const res of this.#subscribers) res.destroy();
    this.#subscribers.clear();
  }

  async close(): Promise<void> {
    this.dropStreams();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Plays LiteFS going away under the app (a restart): streams drop, its HTTP API answers 503, and `.primary`
   * cannot be read (a directory stands in for the dead FUSE mount's ENOTCONN). `setDown(false)` brings it back.
   */
  setDown(down: boolean): void {
    this.#down = down;
    rmSync(this.primaryFile, { recursive: true, force: true });
    if (down) {
      mkdirSync(this.primaryFile);
      this.dropStreams();
    } else this.#writePrimaryFile();
  }

  private handle(url: string, res: ServerResponse): void {
    if (this.#down) {
      res.writeHead(503).end();
      return;
    }
    if (url.startsWith('/events')) {
      this.connections++;
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ type: 'init', data: this.#leaseData() })}\n`);
      this.#subscribers.add(res);
      res.once('close', () => this.#subscribers.delete(res));
      return;
    }
    if (url.startsWith('/info')) {
      const body = { isPrimary: this.#isPrimary, candidate: true, path: this.dir, ...(this.#primaryHostname ? { primary: { hostname: this.#primaryHostname } } : {}) };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body, null, '\t'));
      return;
    }
    res.writeHead(404).end();
  }

  #leaseData(): { isPrimary: boolean; hostname?: string } {
    return this.#primaryHostname === undefined ? { isPrimary: this.#isPrimary } : { isPrimary: this.#isPrimary, hostname: this.#primaryHostname };
  }

  #writePrimaryFile(): void {
    // Like LiteFS: the file holds the primary's hostname, and is missing on the primary and during elections.
    if (this.#primaryHostname !== undefined) writeFileSync(this.primaryFile, `${this.#primaryHostname}\n`);
    else {
      try {
        unlinkSync(this.primaryFile);
      } catch {}
    }
  }
}
