import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The directory scripts/install-cluster-tools.sh installs litefs and consul into. */
export function toolsDir(): string {
  return process.env['LITEFS_FORWARD_TOOLS_DIR'] || join(homedir(), '.cache', 'litefs-forward', 'bin');
}

/** Absolute path of a tool binary in the tools dir; throws with a hint when it is missing. */
export function toolPath(name: 'litefs' | 'consul'): string {
  const path = join(toolsDir(), name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} not found: run \`bash scripts/install-cluster-tools.sh\` first`);
  }
  return path;
}
