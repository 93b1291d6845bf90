import { resolveTxt } from 'node:dns/promises';
import { hostname } from 'node:os';

/**
 * litefs-js's `getAllInstances()`: Machine IDs mapped to their region, from Fly.io's `vms.<app>.internal` TXT
 * record. Off Fly.io (no FLY_APP_NAME) it answers `{ [hostname]: 'local' }`.
 */
export async function getAllInstances(): Promise<Record<string, string>> {
  const app = process.env.FLY_APP_NAME;
  if (!app) return { [hostname()]: 'local' };
  try {
    const records = await resolveTxt(`vms.${app}.internal`);
    const instances: Record<string, string> = {};
    for (const entry of records.flat().flatMap((record) => record.split(','))) {
      const [id, region] = entry.trim().split(' ');
      if (id && region) instances[id] = region;
    }
    return instances;
  } catch (error) {
    console.error('Error getting all instances', error);
    return { [hostname()]: process.env.FLY_REGION ?? 'local' };
  }
}
