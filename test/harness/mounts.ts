import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

// Mount points escape space, tab, newline and backslash as \ooo octal.
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Parses /proc/self/mountinfo (the mounts visible to this process). */
export function readMountInfo(): MountEntry[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const mountPoint = fields[4];
    const fsType = fields[separator + 1];
    const source = fields[separator + 2];
    if (separator < 0 || mountPoint === undefined || fsType === undefined) continue;
    entries.push({ mountPoint: unescapeMountPath(mountPoint), fsType, source: source ?? '' });
  }
  return entries;
}

function isFuse(entry: MountEntry): boolean {
  return entry.fsType === 'fuse' || entry.fsType.startsWith('fuse.') || entry.fsType === 'fuseblk';
}

function isUnder(path: string, dir: string): boolean {
  const root = resolve(dir);
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** FUSE mount points at or under `dir`, deepest first. */
export function fuseMountsUnder(dir: string): string[] {
  const points = readMountInfo()
    .filter((entry) => isFuse(entry) && isUnder(entry.mountPoint, dir))
    .map((entry) => entry.mountPoint);
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** True if `dir` itself is a FUSE mount point. Never touches the mount itself (a hung FUSE server would block). */
export function isFuseMount(dir: string): boolean {
  const target = resolve(dir);
  return readMountInfo().some((entry) => isFuse(entry) && entry.mountPoint === target);
}

/** Lazily unmounts `dir` (`fusermount -uz`), synchronously. Returns true when it is no longer a FUSE mount. */
export function unmountSync(dir: string): boolean {
  if (!isFuseMount(dir)) return true;
  spawnSync('fusermount', ['-uz', resolve(dir)], { stdio: 'ignore', timeout: 10_000 });
  return !isFuseMount(dir);
}

/** Lazily unmounts `dir` (`fusermount -uz`). Resolves true when it is no longer a FUSE mount. */
export async function unmount(dir: string): Promise<boolean> {
  if (!isFuseMount(dir)) return true;
  await new Promise<void>((done) => {
    const child = spawn('fusermount', ['-uz', resolve(dir)], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', () => {
      clearTimeout(timer);
      done();
    });
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
  return !isFuseMount(dir);
}

/** Lazily unmounts every FUSE mount under `dir`, synchronously. Returns the mounts that could not be removed. */
export function unmountAllUnderSync(dir: string): string[] {
  for (const point of fuseMountsUnder(dir)) unmountSync(point);
  return fuseMountsUnder(dir);
}
