import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { sleep } from './util.js';

/**
 * Every process spawned by the harness carries this variable, set to the
 * root directory of its cluster, so that a later run can find and kill
 * processes left behind by a run that died without cleaning up.
 */
export const CLUSTER_ROOT_ENV = 'LITEFS_FORWARD_CLUSTER_ROOT';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnSpec {
  /** Short label used in messages, e.g. "node1/litefs". */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended to this file. */
  logFile: string;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/**
 * A child process started in its own process group (`detached: true`), with
 * stdout/stderr going to a log file. Signals go to the whole group (`-pid`),
 * so anything the child forked goes down with it. The child is unref'd: it
 * never keeps the test process alive.
 */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly startedAt = Date.now();
  /** Resolves when the process has exited. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  private constructor(name: string, pid: number, logFile: string, exited: Promise<ExitStatus>) {
    this.name = name;
    this.pid = pid;
    this.logFile = logFile;
    this.exited = exited.then((status) => {
      this.status = status;
      return status;
    });
  }

  static spawn(spec: SpawnSpec): ManagedProcess {
    const fd = openSync(spec.logFile, 'a');
    try {
      writeSync(fd, `\n===== ${new Date().toISOString()} harness: starting ${spec.command} ${spec.args.join(' ')}\n`);
      const child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      // Listen before anything can throw: an unhandled 'error' event would crash the process.
      const exited = new Promise<ExitStatus>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: null, signal: null }));
      });
      if (child.pid === undefined) {
        throw new Error(`cannot spawn ${spec.name} (${spec.command}): ${spec.command} not found or not executable`);
      }
      child.unref();
      const proc = new ManagedProcess(spec.name, child.pid, spec.logFile, exited);
      live.add(proc);
      void proc.exited.then(() => live.delete(proc));
      return proc;
    } finally {
      closeSync(fd);
    }
  }

  /** The exit status, or undefined while the process runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** Sends `signal` to the process group. */
  signal(signal: NodeJS.Signals): void {
    signalGroup(this.pid, signal);
  }

  /** Waits up to `timeoutMs` for the exit; true if it exited. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.exited.then(() => true as const), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /**
   * Graceful stop: `signal` (SIGTERM) to the group, wait up to `timeoutMs`,
   * then SIGKILL. Also SIGKILLs anything left in the group afterwards.
   */
  async stop(timeoutMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    if (this.running) {
      this.signal(signal);
      if (!(await this.waitForExit(timeoutMs))) this.signal('SIGKILL');
    }
    const status = await this.waitForKilled();
    this.signal('SIGKILL');
    return status;
  }

  /** SIGKILL to the group, then wait for the exit. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL');
    return this.waitForKilled();
  }

  // The child is unref'd, so awaiting `exited` alone would let the event loop
  // drain; waitForExit holds a timer while waiting.
  private async waitForKilled(): Promise<ExitStatus> {
    while (!(await this.waitForExit(5_000))) this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGKILL to the group without waiting (for synchronous exit handlers). */
  killSync(): void {
    this.signal('SIGKILL');
  }
}

const live = new Set<ManagedProcess>();

/** Processes spawned by the harness in this process that have not exited yet. */
export function liveProcesses(): ManagedProcess[] {
  return [...live];
}

/** True if a process with this pid exists (and is not a zombie). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command line of a process, or undefined if it is gone. */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
  } catch {
    return undefined;
  }
}

function processEnvValue(pid: number, name: string): string | undefined {
  try {
    const prefix = `${name}=`;
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      if (entry.startsWith(prefix)) return entry.slice(prefix.length);
    }
  } catch {
    // Gone, or not readable.
  }
  return undefined;
}

/**
 * Pids of processes (other than this one) that belong to a cluster root for
 * which `matches(root)` is true: either their environment has
 * CLUSTER_ROOT_ENV, or their command line mentions a path under that root
 * (covers `litefs mount -config <root>/...` and `consul -config-file <root>/...`).
 */
export function findClusterProcesses(matches: (pathOrRoot: string) => boolean): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !pidAlive(pid)) continue;
    const root = processEnvValue(pid, CLUSTER_ROOT_ENV);
    if (root !== undefined && matches(root)) {
      pids.push(pid);
      continue;
    }
    const argv = processCommandLine(pid);
    const exe = argv?.[0] ?? '';
    if (!/(^|\/)(litefs|consul)$/.test(exe)) continue;
    if (argv?.some((arg) => arg.startsWith('/') && matches(arg))) pids.push(pid);
  }
  return pids;
}

/** SIGKILLs each pid (and its process group, if it leads one) and waits up to `timeoutMs` for them to go. */
export async function killPids(pids: number[], timeoutMs = 5_000): Promise<void> {
  for (const pid of pids) {
    signalGroup(pid, 'SIGKILL');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive) && Date.now() < deadline) await sleep(50);
}
