import { spawn } from 'node:child_process';
import { MigrationError } from '../errors.js';

/** How long a command stopped by SIGTERM gets before SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface CommandSpec {
  argv: readonly string[];
  env: Record<string, string>;
  stdio: 'inherit' | 'ignore';
  migration: string;
}

/**
 * Runs the command to completion and resolves with its exit code. When `signal` aborts (deadline, the caller, or
 * the lock or lease lost), the command gets SIGTERM, then SIGKILL, and the promise rejects with the signal's reason
 * only once the process has exited: nothing of the command outlives the call.
 */
export function runCommand(spec: CommandSpec, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const [file, ...args] = spec.argv as [string, ...string[]];
    const child = spawn(file, args, { env: { ...process.env, ...spec.env }, stdio: spec.stdio });
    let killTimer: NodeJS.Timeout | undefined;
    let stopped = false;
    const onAbort = (): void => {
      stopped = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      reject(
        new MigrationError('MIGRATION_FAILED', 'spawn-failed', `The migration command ${JSON.stringify(file)} could not be started (${(error as NodeJS.ErrnoException).code ?? error.message}). Check the command after \`--\`.`, {
          migration: spec.migration,
          cause: error,
        }),
      );
    });
    child.once('exit', (code, signalName) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (stopped) return reject(signal.reason);
      resolve(code ?? 128 + signalNumber(signalName));
    });
  });
}

function signalNumber(name: NodeJS.Signals | null): number {
  return name === 'SIGKILL' ? 9 : name === 'SIGTERM' ? 15 : name === 'SIGINT' ? 2 : 1;
}
