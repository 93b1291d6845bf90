import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fuseMountsUnder, unmountAllUnderSync } from './mounts.js';
import { findClusterProcesses, killPids, pidAlive, processCommandLine } from './processes.js';

/** Something that owns processes and mounts and must release them on every exit path. */
export interface Cleanable {
  readonly rootDir: string;
  /** Graceful, asynchronous shutdown. */
  close(): Promise<void>;
  /** Last resort for `process.on('exit')`: SIGKILL, `fusermount -uz`, remove the root. */
  cleanupSync(): void;
}

const active = new Set<Cleanable>();
let handlersInstalled = false;

function onExit(): void {
  for (const item of [...active]) {
    try {
      item.cleanupSync();
    } catch {
      // Keep cleaning the others.
    }
  }
}

let signalled = false;
function onSignal(signal: NodeJS.Signals): void {
  const code = 128 + (signal === 'SIGINT' ? 2 : 15);
  if (signalled) {
    // Second signal: stop being polite.
    onExit();
    process.exit(code);
  }
  signalled = true;
  process.stderr.write(`\n[harness] ${signal}: stopping ${active.size} cluster(s)...\n`);
  const hardDeadline = setTimeout(() => {
    onExit();
    process.exit(code);
  }, 15_000);
  void Promise.allSettled([...active].map((item) => item.close())).finally(() => {
    clearTimeout(hardDeadline);
    onExit();
    process.exit(code);
  });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** Tracks `item` until `unregister`; while any item is tracked, exit and SIGINT/SIGTERM clean up. */
export function register(item: Cleanable): void {
  active.add(item);
  installHandlers();
}

export function unregister(item: Cleanable): void {
  active.delete(item);
  if (active.size === 0) removeHandlers();
}

export function activeRoots(): string[] {
  return [...active].map((item) => resolve(item.rootDir));
}

function isUnder(path: string, dir: string): boolean {
  const root = resolve(dir);
  const target = resolve(path);
  return target === root || target.startsWith(root + sep);
}

/** Removes `dir` unless a FUSE mount is still inside it (rm would walk into the mount). */
export function removeDirSync(dir: string): boolean {
  if (!existsSync(dir)) return true;
  if (fuseMountsUnder(dir).length > 0) return false;
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  return true;
}

/**
 * Kills the processes, removes the FUSE mounts and deletes the directories of
 * clusters under `dirs`. Processes are found through the
 * LITEFS_FORWARD_CLUSTER_ROOT variable or their command line.
 */
export async function destroyClusterDirs(dirs: string[], log: (line: string) => void): Promise<void> {
  if (dirs.length === 0) return;
  const pids = findClusterProcesses((path) => dirs.some((dir) => isUnder(path, dir)));
  if (pids.length > 0) {
    log(`killing ${pids.length} leftover process(es): ${pids.join(', ')}`);
    await killPids(pids);
  }
  for (const dir of dirs) {
    const mounts = fuseMountsUnder(dir);
    if (mounts.length > 0) log(`unmounting leftover FUSE mount(s): ${mounts.join(', ')}`);
    const remaining = unmountAllUnderSync(dir);
    if (remaining.length > 0) {
      log(`cannot unmount ${remaining.join(', ')}; leaving ${dir} in place`);
      continue;
    }
    removeDirSync(dir);
  }
}

/**
 * Cleans what earlier, crashed runs left in `baseDir`: every `run-<pid>-<n>`
 * directory whose owner process is gone (or is this process but no live
 * cluster uses it), and any FUSE mount under `baseDir` outside a live run.
 */
export async function cleanupStaleRuns(baseDir: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(baseDir)) return;
  const live = new Set(activeRoots());
  const stale: string[] = [];
  const liveRuns: string[] = [];
  for (const entry of readdirSync(baseDir)) {
    const dir = resolve(join(baseDir, entry));
    const match = /^run-(\d+)-\d+$/.exec(entry);
    if (!match) continue;
    const owner = Number(match[1]);
    const ownerAlive =
      owner === process.pid ? live.has(dir) : pidAlive(owner) && (processCommandLine(owner)?.[0] ?? '').includes('node');
    if (ownerAlive) liveRuns.push(dir);
    else stale.push(dir);
  }
  if (stale.length > 0) log(`cleaning ${stale.length} stale cluster dir(s) under ${baseDir}`);
  await destroyClusterDirs(stale, log);
  // Mounts under the base dir that belong to no live run (e.g. a renamed dir).
  for (const mount of fuseMountsUnder(baseDir)) {
    if (liveRuns.some((dir) => isUnder(mount, dir))) continue;
    log(`unmounting stray FUSE mount ${mount}`);
    unmountAllUnderSync(mount);
  }
}
