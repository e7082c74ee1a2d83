import { describe, expect, it } from 'vitest';
import { buildersDoc } from '../../src/schemas/builders.js';
import { diagnoseJsonText, parseDocumentText } from '../../src/schemas/document-text.js';
import { jobsDoc } from '../../src/schemas/jobs.js';
import { parseDocument, serializeDocument } from '../../src/store/documents.js';
import { buildctlErrorFrom, thrownBy } from '../helpers/errors.js';

const job = { id: 'j1', type: 'build', priority: 5, status: 'queued', assigned_to: null, created_at: '2026-01-01T00:00:00Z' };

describe('diagnoseJsonText', () => {
  it.each(['{}', '{"a": [1, 2]}\n', '[]', '  {"nested": {"x": null}}  '])('finds nothing wrong with %j', (text) => {
    expect(diagnoseJsonText(text)).toBeUndefined();
  });

  it.each(['', '   ', '\n\n'])('calls %j an empty file', (text) => {
    expect(diagnoseJsonText(text)).toEqual({ path: '', reason: 'the file is empty' });
  });

  it.each([
    ['<<<<<<<', '{\n  "jobs": [\n<<<<<<< HEAD\n    {"id": "a"}\n=======\n    {"id": "b"}\n>>>>>>> theirs\n  ]\n}\n', 3],
    ['=======', '{\n  "a": 1,\n=======\n}\n', 3],
    ['>>>>>>>', '>>>>>>> origin/main\n{}\n', 1],
  ])('names the merge-conflict marker %s and its line', (marker, text, line) => {
    expect(diagnoseJsonText(text)).toEqual({ path: '', reason: `git merge-conflict marker "${marker}" at line ${line}` });
  });

  it.each([
    // [text, line:column of the offending character, what went wrong]
    ['{\n  "a": 1,\n}\n', '3:1', /property name/], // trailing comma: the "}" on line 3
    ['{\n  "a": }\n', '2:8', /Unexpected token '}'/], // missing value
    ['{\n  "jobs": [\n    {"id": b}\n  ]\n}\n', '3:12', /Unexpected token 'b'/],
    ['[1, 2,, 3]', '1:7', /Unexpected token ','/],
    ['{"a": 1} x', '1:10', /non-whitespace/],
    ['{"a": True}', '1:7', /Unexpected token 'T'/],
  ])('places the syntax error in %j at line:column %s', (text, place, what) => {
    const problem = diagnoseJsonText(text);
    expect(problem?.path).toBe('');
    expect(problem?.reason).toMatch(new RegExp(`^JSON syntax error at line ${place} \\(`));
    expect(problem?.reason).toMatch(what);
    expect(problem?.reason).not.toContain('\n'); // one line, and no quote of the file's text
    expect(problem?.reason).not.toContain('is not valid JSON');
  });

  it.each([
    ['{\n  "a": 1', '2:9'],
    ['{"a": tr', '1:9'],
  ])('reports a truncated file %j at its end (%s)', (text, place) => {
    expect(diagnoseJsonText(text)?.reason).toMatch(new RegExp(`^JSON syntax error at line ${place} `));
  });

  // Node words a cut-off file "unexpected end" only for some cuts; the others end at the end too.
  it.each(['{"jobs": [1,', '{\n  "a": 1,\n  ', '{"a": "unfinished', '{"a": 1\n'])('calls %j truncated', (text) => {
    expect(diagnoseJsonText(text)?.reason).toContain('unexpected end of input: is the file truncated?');
  });
});

describe('parseDocumentText', () => {
  it('returns the parsed value with defaults filled in and unknown fields kept', () => {
    const outcome = parseDocumentText(JSON.stringify({ builders: [{ id: 'build1', rack: 'r7' }], owner: 'infra' }), buildersDoc);
    expect(outcome).toEqual({ ok: true, value: { builders: [{ id: 'build1', labels: [], enabled: true, rack: 'r7' }], owner: 'infra' } });
  });

  it('reports broken JSON as one whole-document problem', () => {
    expect(parseDocumentText('', jobsDoc)).toEqual({ ok: false, problems: [{ path: '', reason: 'the file is empty' }] });
  });

  it.each([
    ['a number out of range', { jobs: [{ ...job, priority: 0 }] }, 'jobs[0].priority', 'must be >= 1'],
    ['a wrong type', { jobs: [job, { ...job, id: 'j2', priority: 'high' }] }, 'jobs[1].priority', 'expected number, got string'],
    ['a missing field', { jobs: [{ ...job, created_at: undefined }] }, 'jobs[0].created_at', 'required string is missing'],
    ['a bad enum value', { jobs: [{ ...job, status: 'paused' }] }, 'jobs[0].status', 'expected one of "queued", "running", "completed", "failed", "cancelled", "dead"'],
    ['a bad nested array item', { jobs: [{ ...job, labels: ['ok', 'Not OK'] }] }, 'jobs[0].labels[1]', 'must be lowercase letters, digits, ".", "_" or "-", at most 64 characters'],
    ['a missing top-level array', {}, 'jobs', 'required array is missing'],
    ['a document of the wrong shape', [], '', 'expected object, got array'],
  ])('names the field path and reason for %s', (_, value, path, reason) => {
    const outcome = parseDocumentText(JSON.stringify(value), jobsDoc);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? [] : outcome.problems).toContainEqual({ path, reason });
  });

  it('lists every problem, not only the first', () => {
    const outcome = parseDocumentText(JSON.stringify({ jobs: [{ ...job, priority: 0 }, { ...job, status: 'x' }] }), jobsDoc);
    expect(outcome.ok ? [] : outcome.problems.map((p) => p.path)).toEqual(['jobs[0].priority', 'jobs[1].status']);
  });
});

describe('parseDocument', () => {
  it('throws an invalid-data error (exit 5) naming the file, the field path and the reason', () => {
    const error = buildctlErrorFrom(() => parseDocument('coordination/jobs.json', JSON.stringify({ jobs: [{ ...job, priority: 0 }, { ...job, status: 'x' }] }), jobsDoc));
    expect(error.exitCode).toBe(5);
    expect(error.code).toBe('invalid_document');
    expect(error.message).toBe('invalid document coordination/jobs.json: jobs[0].priority: must be >= 1 (and 1 more problem)');
    expect(error.hint).toContain('buildctl validate');
  });
});

describe('serializeDocument', () => {
  it('writes 2-space JSON with a trailing newline', () => {
    const text = serializeDocument('coordination/builders.json', { builders: [{ id: 'build1', labels: [], enabled: true }] }, buildersDoc);
    expect(text).toBe('{\n  "builders": [\n    {\n      "id": "build1",\n      "labels": [],\n      "enabled": true\n    }\n  ]\n}\n');
  });

  it('writes keys in the schema order, whatever order they came in, with unknown fields kept after them', () => {
    const value = { owner: 'infra', builders: [{ rack: 'r7', enabled: false, labels: ['x'], host: 'h', id: 'build1' }] };
    const parsed = JSON.parse(serializeDocument('coordination/builders.json', value, buildersDoc));
    expect(Object.keys(parsed)).toEqual(['builders', 'owner']);
    expect(Object.keys(parsed.builders[0])).toEqual(['id', 'host', 'labels', 'enabled', 'rack']);
    expect(parsed.builders[0].rack).toBe('r7');
  });

  it('gives the same text for the same content (minimal diffs)', () => {
    const a = serializeDocument('f', { builders: [{ id: 'b', enabled: true, labels: [] }] }, buildersDoc);
    const b = serializeDocument('f', { builders: [{ labels: [], id: 'b', enabled: true }] }, buildersDoc);
    expect(a).toBe(b);
  });

  it('refuses to write an invalid document, naming the file and the field', () => {
    const error = thrownBy(() => serializeDocument('coordination/builders.json', { builders: [{ id: 'Bad Id' }] }, buildersDoc));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^refusing to write invalid coordination\/builders\.json: builders\[0\]\.id: /);
  });
});
