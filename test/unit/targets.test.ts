import { describe, expect, it } from 'vitest';
import { parseTargets } from '../../src/domain/targets.js';

describe('parseTargets', () => {
  it.each([
    ['2', ['build2']],
    ['12', ['build1', 'build2']],
    ['121', ['build1', 'build2']],
    ['all', ['all']],
    ['build3', ['build3']],
    ['build1,code2', ['build1', 'code2']],
    [' build1 , build1 ', ['build1']],
  ])('%j -> %j', (word, expected) => {
    expect(parseTargets(word)).toEqual(expected);
  });

  it.each([
    ['', /no recipient/],
    ['0', /digit 0/],
    ['Build1', /upper-case/],
    ['all,build1', /cannot be combined/],
    ['build/1', /invalid recipient/],
  ])('%j is refused', (word, message) => {
    expect(() => parseTargets(word)).toThrow(message);
  });
});
