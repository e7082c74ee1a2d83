// Catching a thrown error as a value, so a table row can check its message, code and hint.
import { expect } from 'vitest';
import { BuildctlError } from '../../src/errors.js';

/** Runs `fn`, expects it to throw, and returns what it threw. */
export const thrownBy = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
};

/** Runs `fn`, expects a BuildctlError, and returns it. */
export const buildctlErrorFrom = (fn: () => unknown): BuildctlError => {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(BuildctlError);
  return error as BuildctlError;
};
