// messageTrailers reads a message from its end and stops at the first line that is no
// trailer (a heartbeat's message ends in 60 lines of metrics). It must find exactly what
// the whole-message reading it replaced found: that reading is kept here as the reference.
import { describe, expect, it } from 'vitest';
import { messageTrailers } from '../../src/store/commit-log.js';

const reference = (message: string): Record<string, string> => {
  const paragraphs = message.replace(/\s+$/, '').split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? (paragraphs[paragraphs.length - 1] ?? '') : '';
  const lines = last.split('\n').filter((line) => line.trim() !== '');
  const parsed = last
    .split('\n')
    .map((line) => /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] ?? '', match[2] ?? ''] as const);
  const trailers: Record<string, string> = {};
  if (lines.length === 0 || parsed.length !== lines.length) return trailers;
  for (const [name, value] of parsed) trailers[name] = name in trailers ? `${trailers[name]}, ${value}` : value;
  return trailers;
};

describe('messageTrailers', () => {
  it.each([
    ['job.add j1\n\nBuildctl-Op: job.add\nBuildctl-Actor: build1\n', { 'Buildctl-Op': 'job.add', 'Buildctl-Actor': 'build1' }],
    ['subject only\n', {}],
    ['Buildctl-Op: x\n', {}],
    ['\nBuildctl-Op: x', {}],
    ['\n\nBuildctl-Op: x', { 'Buildctl-Op': 'x' }],
    ['s\n\nbody\nBuildctl-Op: x\n', {}],
    ['s\n\nA: 1\nA: 2\n\n\n', { A: '1, 2' }],
    ['s\r\n\r\nA: 1\r\n', { A: '1' }],
    ['s\n \t\nA:1', { A: '1' }],
    ['heartbeat build7\n\nbuild7/heartbeat.json 2\n{}build7/metrics.jsonl 3\n{}\n', {}],
    ['', {}],
  ])('%j', (message, expected) => {
    expect(messageTrailers(message)).toEqual(expected);
    expect(reference(message)).toEqual(expected);
  });

  it('agrees with the whole-message reading on messages made of every kind of line', () => {
    const parts = ['\n', '\n\n', ' \n', '\t', '\r\n', 'A: 1', 'B:2', 'A: 3', 'x-y: z', 'not a trailer', '{"kind":"sample"}', ' C: 4 ', ':', 'D:', '\u2028'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % parts.length;
    for (let i = 0; i < 5000; i++) {
      const message = Array.from({ length: 1 + (i % 12) }, () => parts[next()]).join(i % 3 === 0 ? '\n' : '');
      expect(messageTrailers(message), JSON.stringify(message)).toEqual(reference(message));
    }
  });
});
