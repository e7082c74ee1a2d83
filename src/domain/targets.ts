// Message targets as operators type them: `sm 2 ...` (build2), `sm 12 ...` (build1 and
// build2), `sm build3,code2 ...`, `sm all ...`.
import { usageError } from '../errors.js';
import { checkBuilderId } from './ids.js';

/**
 * Parses one targets word. Digits name builders `build<d>` one digit each (so `12` is
 * build1 and build2, as the fleet's old `sm` script had it); anything else is a
 * comma-separated list of builder ids, or `all`.
 */
export const parseTargets = (word: string): string[] => {
  const text = word.trim();
  if (text === '') throw usageError('no recipient given', { code: 'invalid_target', hint: 'name builders (build2 or 2), several (12 or build1,build2), or all' });
  if (/^\d+$/.test(text)) {
    if (text.includes('0')) {
      throw usageError(`"${text}": digit 0 names no builder`, { code: 'invalid_target', hint: 'digits stand for build1..build9; use full ids for others' });
    }
    return [...new Set([...text].map((digit) => `build${digit}`))];
  }
  const ids = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (ids.includes('all')) {
    if (ids.length > 1) throw usageError('"all" cannot be combined with other recipients', { code: 'invalid_target', hint: 'send to all, or list builders' });
    return ['all'];
  }
  return [...new Set(ids.map((id) => checkBuilderId(id, 'recipient')))];
};
