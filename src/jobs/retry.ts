import { ERROR_CODES, type ErrorCode } from '../protocol/codes.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 1000, maxDelayMs: 15_000 };

// Only what another try can fix: a busy lock, lost ID races, a refused or reset connection.
// Invalid input, capacity and checksum failures never are.
export function isTransient(code: ErrorCode): boolean {
  return ERROR_CODES[code].transient;
}

// Exponential backoff with full jitter (AWS architecture blog), so concurrent drivers spread out.
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
