import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LiteFSForwardOptions } from '../../src/index.js';

export interface RemoteError {
  name: string;
  message: string;
  code?: string;
}

/** The parent's handle on a node process started from node-main.ts. */
export class NodeProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  #nextId = 1;
  listenUrl: string | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: { id?: number; ok?: boolean; result?: unknown; error?: RemoteError }) => {
      if (message.id === undefined) return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.ok) pending?.resolve(message.result);
      else pending?.reject(Object.assign(new Error(message.error?.message), message.error));
    });
    child.once('exit', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error('node process exited'));
      this.#pending.clear();
    });
  }

  static start(options: LiteFSForwardOptions & { secret?: string }): Promise<NodeProcess> {
    const main = fileURLToPath(new URL('./node-main.js', import.meta.url));
    const child = fork(main, [], {
      env: { ...process.env, LITEFS_FORWARD_TEST_OPTIONS: JSON.stringify(options) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`node process exited with ${code} before it was ready`)));
      child.once('message', (message: { ready?: boolean; listenUrl?: string }) => {
        if (!message.ready) return;
        const node = new NodeProcess(child);
        node.listenUrl = message.listenUrl;
        resolve(node);
      });
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.#send({ op: 'call', method, args }) as Promise<T>;
  }

  begin(...args: unknown[]): Promise<number> {
    return this.#send({ op: 'begin', args }) as Promise<number>;
  }

  txCall<T = unknown>(tx: number, method: string, ...args: unknown[]): Promise<T> {
    return this.#send({ op: 'txCall', tx, method, args }) as Promise<T>;
  }

  status(): Promise<Record<string, unknown>> {
    return this.#send({ op: 'status' }) as Promise<Record<string, unknown>>;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  #send(command: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...command });
    });
  }
}
