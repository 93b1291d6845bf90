import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LeaseObservation } from './event-stream.js';

/** Asks LiteFS's `/info` who is primary; used to confirm a missing `.primary` file. */
export function fetchLiteFSInfo(url: string, timeoutMs: number, signal?: AbortSignal): Promise<LeaseObservation> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : request;
  const deadline = AbortSignal.timeout(timeoutMs);
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'GET', agent: false, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('error', reject);
      res.once('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`LiteFS /info answered HTTP ${res.statusCode}`);
          const info = JSON.parse(body) as { isPrimary?: unknown; primary?: { hostname?: unknown } };
          if (typeof info.isPrimary !== 'boolean') throw new Error('LiteFS /info has no isPrimary field');
          const hostname = typeof info.primary?.hostname === 'string' && info.primary.hostname !== '' ? info.primary.hostname : undefined;
          resolve({ isPrimary: info.isPrimary, hostname: info.isPrimary ? undefined : hostname });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.end();
  });
}
