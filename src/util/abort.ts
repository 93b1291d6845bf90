import { LiteFSForwardError } from '../errors.js';

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof LiteFSForwardError) return reason;
  return new LiteFSForwardError('ABORTED', 'The call was aborted by its AbortSignal before it finished.', { cause: reason });
}

/**
 * A sleep that ends early (rejecting) when the signal aborts. It does not keep the process alive unless
 * `keepAlive` is set: for a bounded wait that a script awaits, which must not exit with the promise pending.
 */
export function sleep(ms: number, signal?: AbortSignal, { keepAlive = false }: { keepAlive?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (!keepAlive) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Capped exponential backoff with full jitter. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(random() * ceiling);
}
