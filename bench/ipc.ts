// A tiny request/response protocol over Node's IPC channel between the driver and its child processes.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface IpcRequest {
  id: number;
  cmd: string;
  args: unknown;
}

export type IpcResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Child side: answers the driver's commands with `handlers`, and exits when the driver goes away. */
export function serveIpc(handlers: Record<string, (args: never) => unknown>): void {
  process.on('message', (message: IpcRequest) => {
    const handler = handlers[message.cmd];
    const reply = (response: IpcResponse): void => {
      if (process.connected) process.send?.(response);
    };
    if (handler === undefined) {
      reply({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => reply({ id: message.id, ok: true, result }),
        (error: unknown) => reply({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The driver died or closed the channel: nothing is left to do here.
  process.on('disconnect', () => process.exit(0));
}

/** Driver side: one child process and its pending calls. */
export class ChildHandle {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #next = 1;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; cmd: string }>();
  #alive = true;

  private constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.#alive = false;
        for (const [, pending] of this.#pending) pending.reject(new Error(`${name} exited (code ${code}, signal ${signal}) during ${pending.cmd}`));
        this.#pending.clear();
        resolve({ code, signal });
      });
    });
    proc.on('message', (message: IpcResponse) => {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`${name}: ${pending.cmd} failed: ${message.error}`));
    });
  }

  /**
   * `wrap` runs the child through another command that execs node (e.g. nsenter into a network namespace): it gets
   * node's path and flags, and returns the command line; the IPC channel is inherited across the exec.
   */
  static fork(
    script: URL,
    options: { name: string; env: NodeJS.ProcessEnv; execArgv?: string[]; logFile: string; wrap?: (command: string, args: string[]) => { command: string; args: string[] } },
  ): ChildHandle {
    const fd = openSync(options.logFile, 'a');
    try {
      const execArgv = options.execArgv ?? [];
      const wrapped = options.wrap?.(process.execPath, execArgv);
      const proc = fork(script, [], {
        env: options.env,
        ...(wrapped ? { execPath: wrapped.command, execArgv: wrapped.args } : { execArgv }),
        serialization: 'advanced',
        stdio: ['ignore', fd, fd, 'ipc'],
      });
      return new ChildHandle(options.name, proc);
    } finally {
      closeSync(fd);
    }
  }

  get alive(): boolean {
    return this.#alive;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  call<T>(cmd: string, args: unknown = {}, timeoutMs = 180_000): Promise<T> {
    if (!this.#alive) return Promise.reject(new Error(`${this.name} is not running (${cmd})`));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        cmd,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.proc.send({ id, cmd, args } satisfies IpcRequest);
    });
  }

  /** SIGKILL, now. */
  killNow(): void {
    if (this.#alive) this.proc.kill('SIGKILL');
  }

  /** Asks the child to close and exit; SIGKILL after `timeoutMs`. */
  async close(timeoutMs = 15_000): Promise<void> {
    if (!this.#alive) return;
    const exited = this.exited.then(() => true);
    await Promise.race([this.call('close', {}, timeoutMs).catch(() => undefined), exited]);
    const done = await Promise.race([exited, new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]);
    if (!done) this.killNow();
    await this.exited;
  }
}

/** The read comparison's answer, from node-app to the driver. */
export interface SideSummary {
  p50Us: number;
  meanUs: number;
  p90Us: number;
}

export interface InterleavedResult {
  queries: { name: string; raw: SideSummary; raw2: SideSummary; lib: SideSummary }[];
  /** Per round: total library time / total raw time. */
  roundRatios: number[];
  /** Per round: total time of the second raw connection / the first (the A/A comparison). */
  aaRatios: number[];
}
