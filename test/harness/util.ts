import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';

export function sleep(ms: number): Promise<void> {
  return delay(ms, undefined, { ref: true });
}

/** Thrown from a `waitFor` probe to stop waiting at once. */
export class FatalWaitError extends Error {
  override name = 'FatalWaitError';
}

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Used in the timeout message: "timed out after Nms waiting for <description>". */
  description: string;
  signal?: AbortSignal;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, and
 * returns that value. A probe that throws is retried (the last error is in the
 * timeout message) unless it throws FatalWaitError.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    if (options.signal?.aborted) {
      throw new Error(`aborted while waiting for ${options.description}`, { cause: options.signal.reason });
    }
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof FatalWaitError) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs}ms waiting for ${options.description}${detail}`);
    }
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * A small HTTP client with a hard timeout and no connection pooling, so that
 * nothing it leaves behind keeps the process alive.
 */
export function httpRequest(
  url: string,
  options: { method?: string; body?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<HttpResponse> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', agent: false, headers: options.headers, timeout: options.timeoutMs ?? 2_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`HTTP ${options.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function httpGet(url: string, timeoutMs = 2_000): Promise<HttpResponse> {
  return httpRequest(url, { timeoutMs });
}
