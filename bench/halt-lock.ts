// LiteFS's own write forwarding, the halt lock, driven from Node through bench/halt-lock/halt-lock.c: the driver
// compiles the helper once per run (compileHaltLockHelper), and each node process spawns one helper per writer
// (HaltLockHelper), since an OFD lock belongs to one open file description and LiteFS keeps one halt lock per handle.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The helper's C source, found from both bench/ (tsc input) and dist/bench/ (what runs). */
export function haltLockSource(): string {
  for (const relative of ['./halt-lock/halt-lock.c', '../../bench/halt-lock/halt-lock.c']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('bench/halt-lock/halt-lock.c not found next to the bench');
}

/** Compiles the helper into `outDir` with gcc and returns the binary's path. */
export function compileHaltLockHelper(outDir: string): string {
  const binary = join(outDir, 'halt-lock');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, haltLockSource()], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('the halt-lock phase needs gcc to build its OFD-lock helper (bench/halt-lock/halt-lock.c): install gcc (Debian: apt-get install gcc), or leave the phase out with --only=');
    }
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`gcc could not build bench/halt-lock/halt-lock.c${stderr ? `:\n${stderr}` : ''}`);
  }
  return binary;
}

/** One helper process holding one open `<db>-lock`: lock() and unlock() resolve with the µs spent in fcntl. */
export class HaltLockHelper {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: { resolve(line: string): void; reject(error: Error): void }[] = [];
  #exit: Error | undefined;

  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.#proc = proc;
    this.#lines = createInterface({ input: proc.stdout });
    this.#lines.on('line', (line) => this.#waiting.shift()?.resolve(line));
    proc.stderr.resume();
    proc.once('exit', (code, signal) => {
      this.#exit = new Error(`halt-lock helper exited (code ${code}, signal ${signal})`);
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#exit);
    });
    // A write after the helper died surfaces through 'exit'; without a listener it would crash this process.
    proc.stdin.on('error', () => undefined);
  }

  static async start(binary: string, lockFile: string): Promise<HaltLockHelper> {
    const helper = new HaltLockHelper(spawn(binary, [lockFile], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const first = await helper.#next();
    if (first !== 'ready') {
      helper.close();
      throw new Error(`halt-lock helper on ${lockFile}: ${first}`);
    }
    return helper;
  }

  lock(): Promise<number> {
    return this.#command('lock', 'locked');
  }

  unlock(): Promise<number> {
    return this.#command('unlock', 'unlocked');
  }

  /** Ends the helper; closing its file releases a lock it still holds. */
  close(): void {
    this.#lines.close();
    if (this.#exit === undefined) this.#proc.stdin.end();
    // A helper stuck in F_OFD_SETLKW does not read stdin: make sure it goes.
    setTimeout(() => {
      if (this.#exit === undefined) this.#proc.kill('SIGKILL');
    }, 2_000).unref();
  }

  get exited(): Promise<void> {
    if (this.#exit !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#proc.once('exit', () => resolve()));
  }

  #next(): Promise<string> {
    if (this.#exit !== undefined) return Promise.reject(this.#exit);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async #command(command: string, answer: string): Promise<number> {
    const reply = this.#next();
    this.#proc.stdin.write(`${command}\n`);
    const line = await reply;
    const [word, micros] = line.split(' ');
    if (word !== answer) throw new Error(`halt-lock ${command}: ${line}`);
    return Number(micros);
  }
}
