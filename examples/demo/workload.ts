// The demo's client side: a steady stream of POST /items to the replicas (each write with its own idempotency key,
// retried with the same key until it is acknowledged), GET /items reads on every node, and the tallies the live
// view and the summary are made of.
import { randomBytes } from 'node:crypto';

export interface Target {
  name: string;
  url: string;
}

/** One logical write: the same name and idempotency key on every attempt. */
interface Write {
  name: string;
  key: string;
  attempts: number;
  notBefore: number;
  /** An attempt failed: the write stays "unresolved" until an attempt is acknowledged. */
  failed: boolean;
}

export interface Ack {
  id: number;
  via: string;
  at: number;
  /** When the acknowledged attempt was sent: `at - sentAt` is what the client waited for it. */
  sentAt: number;
}

export interface NodeTally {
  acked: number;
  errors: number;
  reads: number;
  readErrors: number;
  inFlight: number;
  rows: number | undefined;
  lastError: string | undefined;
}

export interface WorkloadOptions {
  /** Nodes that receive writes (the replicas at start). */
  writers: Target[];
  /** Writes per second, all writers together. */
  rate: number;
  /** Writes in flight at most; above it the stream waits (backpressure during an election). */
  maxInFlight: number;
  /** How long one HTTP request may take. */
  requestTimeoutMs: number;
  now: () => number;
}

const TICK_MS = 50;

export class Workload {
  readonly runId = randomBytes(3).toString('hex');
  readonly acked = new Map<string, Ack>();
  /** Every name ever sent, acknowledged or not. */
  readonly sent = new Set<string>();
  readonly errorsByCode = new Map<string, number>();
  readonly tallies = new Map<string, NodeTally>();
  retried = 0;
  /** Successful writes sent after `markFrom` (the kill), by time of answer. */
  readonly acksAfterMark: { via: string; sentAt: number; at: number }[] = [];
  #markFrom = Number.POSITIVE_INFINITY;
  #retries: Write[] = [];
  #sending = new Set<Write>();
  /** Writes in flight when `mark` was called, until they complete. */
  #inFlightAtMark = new Set<Write>();
  #failedUnacked = 0;
  #inFlight = 0;
  #seq = 0;
  #next = 0;
  #budget = 0;
  #timer: NodeJS.Timeout | undefined;
  #readers = new Map<string, NodeTimer>();
  readonly #options: WorkloadOptions;

  constructor(options: WorkloadOptions) {
    this.#options = options;
  }

  tally(node: string): NodeTally {
    let tally = this.tallies.get(node);
    if (!tally) {
      tally = { acked: 0, errors: 0, reads: 0, readErrors: 0, inFlight: 0, rows: undefined, lastError: undefined };
      this.tallies.set(node, tally);
    }
    return tally;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Writes that failed and wait for another attempt. */
  get pendingRetries(): number {
    return this.#retries.length;
  }

  get errors(): number {
    let total = 0;
    for (const count of this.errorsByCode.values()) total += count;
    return total;
  }

  /** From now on, remember which writes (sent from now) succeed and when. */
  mark(at: number): void {
    this.#markFrom = at;
    this.#inFlightAtMark = new Set(this.#sending);
  }

  /** Writes that failed and are not yet acknowledged, plus writes in flight at `mark` that have not completed. */
  get unresolved(): number {
    return this.#failedUnacked + this.#inFlightAtMark.size;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops sending new writes; retries of failed ones go on while `drain` runs. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads (GET /items) from `target` every `intervalMs` until `stopReading`. */
  startReading(target: Target, intervalMs: number): void {
    if (this.#readers.has(target.name)) return;
    const timer = new NodeTimer(intervalMs, () => this.#read(target));
    this.#readers.set(target.name, timer);
  }

  stopReading(name?: string): void {
    for (const [key, timer] of this.#readers) {
      if (name !== undefined && key !== name) continue;
      timer.stop();
      this.#readers.delete(key);
    }
  }

  /** Retries every failed write (same key) until all are acknowledged, or `deadline`. Resolves with what is left. */
  async drain(deadline: number): Promise<number> {
    while ((this.#inFlight > 0 || this.#retries.length > 0) && this.#options.now() < deadline) {
      const due = this.#retries.filter((write) => write.notBefore <= this.#options.now());
      this.#retries = this.#retries.filter((write) => write.notBefore > this.#options.now());
      for (const write of due) this.#send(write);
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
    return this.#inFlight + this.#retries.length;
  }

  #tick(): void {
    this.#budget = Math.min(this.#budget + (this.#options.rate * TICK_MS) / 1000, this.#options.rate);
    const now = this.#options.now();
    while (this.#budget >= 1 && this.#inFlight < this.#options.maxInFlight) {
      this.#budget -= 1;
      const retryIndex = this.#retries.findIndex((write) => write.notBefore <= now);
      const write =
        retryIndex >= 0
          ? this.#retries.splice(retryIndex, 1)[0]!
          : { name: `demo-${this.runId}-${++this.#seq}`, key: `demo-${this.runId}-${this.#seq}-${randomBytes(6).toString('hex')}`, attempts: 0, notBefore: 0, failed: false };
      this.#send(write);
    }
  }

  #send(write: Write): void {
    const { writers } = this.#options;
    const target = writers[this.#next++ % writers.length]!;
    if (write.attempts > 0) this.retried++;
    write.attempts++;
    this.sent.add(write.name);
    const tally = this.tally(target.name);
    this.#inFlight++;
    tally.inFlight++;
    this.#sending.add(write);
    const sentAt = this.#options.now();
    void post(`${target.url}/items`, { name: write.name }, write.key, this.#options.requestTimeoutMs)
      .then((outcome) => {
        const at = this.#options.now();
        if (outcome.ok) {
          tally.acked++;
          if (write.failed) {
            write.failed = false;
            this.#failedUnacked--;
          }
          if (!this.acked.has(write.name)) this.acked.set(write.name, { id: outcome.id, via: target.name, at, sentAt });
          if (sentAt >= this.#markFrom) this.acksAfterMark.push({ via: target.name, sentAt, at });
          return;
        }
        tally.errors++;
        tally.lastError = outcome.code;
        if (!write.failed) {
          write.failed = true;
          this.#failedUnacked++;
        }
        this.errorsByCode.set(outcome.code, (this.errorsByCode.get(outcome.code) ?? 0) + 1);
        if (outcome.retry) {
          write.notBefore = at + Math.min(250 * write.attempts, 2_000);
          this.#retries.push(write);
        }
      })
      .finally(() => {
        this.#inFlight--;
        tally.inFlight--;
        this.#sending.delete(write);
        this.#inFlightAtMark.delete(write);
      });
  }

  async #read(target: Target): Promise<void> {
    const tally = this.tally(target.name);
    try {
      const response = await fetch(`${target.url}/items`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as unknown;
      if (response.status !== 200 || !Array.isArray(body)) throw new Error(`HTTP ${response.status}`);
      tally.reads++;
      tally.rows = body.filter((row: { name?: unknown }) => typeof row.name === 'string' && row.name.startsWith(`demo-${this.runId}-`)).length;
    } catch {
      tally.readErrors++;
    }
  }
}

type Outcome = { ok: true; id: number } | { ok: false; code: string; retry: boolean };

/** POST a JSON body with an Idempotency-Key; every failure becomes a code (the app's, HTTP_<n>, or the socket's). */
async function post(url: string, body: unknown, key: string, timeoutMs: number): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = (await response.json().catch(() => ({}))) as { id?: unknown; code?: unknown };
    if (response.status === 201 && json.id !== undefined) return { ok: true, id: Number(json.id) };
    const code = typeof json.code === 'string' ? json.code : `HTTP_${response.status}`;
    // 4xx is the request's own fault: sending it again cannot help. Everything else is retried with the same key.
    return { ok: false, code, retry: response.status >= 500 };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return { ok: false, code: 'CLIENT_TIMEOUT', retry: true };
    const cause = (error as { cause?: { code?: unknown } }).cause;
    return { ok: false, code: typeof cause?.code === 'string' ? cause.code : 'NETWORK_ERROR', retry: true };
  }
}

/** Runs `fn` every `intervalMs`, never two at once. */
class NodeTimer {
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly fn: () => Promise<void>,
  ) {
    this.#schedule(0);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.fn().finally(() => this.#schedule(this.intervalMs));
    }, delay);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
