import { request } from 'node:http';
import { signRequest } from '../../src/wire/auth.js';
import { rpcPath } from '../../src/wire/protocol.js';
import { TEST_SECRET } from './fake-cluster.js';

/** The endpoint path of the test clusters' database (every fake node serves `app.db`). */
export const TEST_RPC_PATH = rpcPath('app.db');

export interface RawAnswer {
  status: number;
  body: string;
}

/** POSTs raw bytes to a node's forwarding endpoint with exactly the headers given: for tests that forge requests. */
export function postRpc(url: string, body: Buffer, headers: Record<string, string | number>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(TEST_RPC_PATH, url), { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a body signed with the test cluster's secret, as a (possibly hostile) member of the cluster would. */
export function postSigned(url: string, body: Buffer, secret: Buffer = Buffer.from(TEST_SECRET)): Promise<RawAnswer> {
  return postRpc(url, body, { ...signRequest(secret, 'test', TEST_RPC_PATH, body) });
}
