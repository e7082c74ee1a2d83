import { usageError } from '../errors.js';
import { BUILDER_ID_PATTERN } from '../schemas/common.js';

/** Names that mean something else where builder ids are accepted. */
export const RESERVED_IDS = new Set(['all']);

const printable = (text: string): string => JSON.stringify(text);

/** Checks a builder id from user input; the error says what is wrong and what is allowed. */
export const checkBuilderId = (id: string, what = 'builder id'): string => {
  if (!BUILDER_ID_PATTERN.test(id)) {
    const reason =
      id === '' ? 'it is empty'
      : id.length > 32 ? `it has ${id.length} characters (at most 32)`
      : /[A-Z]/.test(id) ? 'it has upper-case letters'
      : /^[^a-z]/.test(id) ? 'it does not start with a lowercase letter'
      : 'it has characters other than a-z, 0-9 and "-"';
    throw usageError(`invalid ${what} ${printable(id)}: ${reason}`, {
      code: 'invalid_builder_id',
      hint: 'a builder id is a lowercase letter, then lowercase letters, digits or "-", at most 32 characters (e.g. build1)',
    });
  }
  return id;
};
