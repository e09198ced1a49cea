/** Shared by the data-file specs (idx, cifar). */
import { expect } from '@playwright/test';
import { DataFileError } from '../src/errors.js';

/** The DataFileError `action` throws; fails the test if it throws another error or none. */
export function dataError(action: () => unknown): DataFileError {
  try {
    action();
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    return e as DataFileError;
  }
  throw new Error('expected a DataFileError, none was thrown');
}
