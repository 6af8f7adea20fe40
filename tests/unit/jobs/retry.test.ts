import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY, backoffDelay, isTransient } from '../../../src/jobs/retry.js';
import type { ErrorCode } from '../../../src/protocol/codes.js';

describe('retry classification', () => {
  it.each<ErrorCode>(['CONNECTION_FAILED', 'LOCK_TIMEOUT', 'ID_CLAIM_EXHAUSTED', 'IMAGE_DOWNLOAD_FAILED', 'UPLOAD_FAILED'])('retries %s', (code) => {
    expect(isTransient(code)).toBe(true);
  });

  it.each<ErrorCode>(['INVALID_SPEC', 'NAME_CONFLICT', 'IMAGE_CHECKSUM_MISMATCH', 'INSUFFICIENT_STORAGE', 'HOST_KEY_MISMATCH', 'AUTH_FAILED', 'START_FAILED', 'CANCELLED', 'PROTOCOL_ERROR'])(
    'never retries %s',
    (code) => {
      expect(isTransient(code)).toBe(false);
    },
  );
});

describe('backoff', () => {
  it('grows exponentially within jitter bounds and stops at the ceiling', () => {
    expect(backoffDelay(0, DEFAULT_RETRY, () => 0)).toBe(500);
    expect(backoffDelay(0, DEFAULT_RETRY, () => 1)).toBe(1000);
    expect(backoffDelay(2, DEFAULT_RETRY, () => 0)).toBe(2000);
    expect(backoffDelay(10, DEFAULT_RETRY, () => 1)).toBe(15_000);
  });
});
