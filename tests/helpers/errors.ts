import { LinusError } from '../../src/protocol/errors.js';

// The LinusError fn throws; anything else it throws, or nothing, fails the test.
export function errorOf(fn: () => unknown): LinusError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LinusError) return error;
    throw error;
  }
  throw new Error('expected a LinusError');
}
