import { describe, expect, it } from 'vitest';
import { addBuilder, removeBuilder } from '../../src/domain/fleet.js';
import type { BuildersDoc } from '../../src/schemas/builders.js';
import { buildctlErrorFrom } from '../helpers/errors.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const LATER = new Date('2026-02-01T00:00:00Z');

const fleetOf = (...ids: string[]): BuildersDoc => ({
  builders: ids.map((id) => ({ id, host: `${id}.lan`, labels: [], enabled: true, added_at: NOW.toISOString() })),
});

describe('addBuilder', () => {
  it('adds a new builder with defaults and the time it was added', () => {
    const { doc, outcome, builder } = addBuilder(undefined, { id: 'build1' }, NOW);
    expect(outcome).toBe('added');
    expect(builder).toEqual({ id: 'build1', host: null, labels: [], enabled: true, added_at: '2026-01-01T00:00:00.000Z' });
    expect(doc).toEqual({ builders: [builder] });
  });

  it('keeps the registry sorted by id', () => {
    const { doc } = addBuilder(fleetOf('build1', 'build3'), { id: 'build2' }, NOW);
    expect(doc.builders.map((b) => b.id)).toEqual(['build1', 'build2', 'build3']);
  });

  it.each([
    ['duplicates and unsorted', ['linux', 'arm64', 'linux', 'docker'], ['arm64', 'docker', 'linux']],
    ['already clean', ['a', 'b'], ['a', 'b']],
    ['none', [], []],
  ])('dedupes and sorts labels (%s)', (_, labels, expected) => {
    expect(addBuilder(undefined, { id: 'build1', labels }, NOW).builder.labels).toEqual(expected);
  });

  it('updates only the given fields of a registered builder, keeping its added_at', () => {
    const before = fleetOf('build1', 'build2');
    const { doc, outcome, builder } = addBuilder(before, { id: 'build1', ip: '10.0.0.5', labels: ['x'], enabled: false }, LATER);
    expect(outcome).toBe('updated');
    expect(builder).toEqual({ id: 'build1', host: 'build1.lan', ip: '10.0.0.5', labels: ['x'], enabled: false, added_at: NOW.toISOString() });
    expect(doc.builders[1]).toBe(before.builders[1]); // the other entry is untouched
    expect(before.builders[0]).not.toHaveProperty('ip'); // input not mutated
  });

  it.each([
    ['no fields', { id: 'build1' }],
    ['the same host', { id: 'build1', host: 'build1.lan' }],
    ['the same labels in another order, repeated', { id: 'build1', labels: ['b', 'a', 'b'] }],
    ['the same enabled flag', { id: 'build1', enabled: true }],
  ])('reports unchanged, returning the same document, for %s', (_, input) => {
    const before: BuildersDoc = { builders: [{ id: 'build1', host: 'build1.lan', labels: ['a', 'b'], enabled: true }] };
    const { doc, outcome, builder } = addBuilder(before, input, LATER);
    expect(outcome).toBe('unchanged');
    expect(doc).toBe(before);
    expect(builder).toBe(before.builders[0]);
  });

  it('keeps unknown fields on entries and on the document', () => {
    const before = { builders: [{ id: 'build1', host: 'h', labels: [], enabled: true, rack: 'r7' }], owner: 'infra' } as BuildersDoc;
    const updated = addBuilder(before, { id: 'build1', host: 'h2' }, NOW);
    expect(updated.builder).toMatchObject({ rack: 'r7', host: 'h2' });
    expect(updated.doc).toMatchObject({ owner: 'infra' });
    const added = addBuilder(before, { id: 'build2' }, NOW);
    expect(added.doc).toMatchObject({ owner: 'infra', builders: [{ id: 'build1', rack: 'r7' }, { id: 'build2' }] });
  });

  it('refuses the reserved id "all"', () => {
    const error = buildctlErrorFrom(() => addBuilder(undefined, { id: 'all' }, NOW));
    expect(error.code).toBe('reserved_builder_id');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('every builder');
  });

  it('refuses an invalid id with the id check', () => {
    expect(buildctlErrorFrom(() => addBuilder(undefined, { id: '../x' }, NOW)).code).toBe('invalid_builder_id');
  });
});

describe('removeBuilder', () => {
  it('removes the builder and returns it', () => {
    const before = fleetOf('build1', 'build2', 'build3');
    const { doc, removed } = removeBuilder(before, 'build2');
    expect(removed).toBe(before.builders[1]);
    expect(doc.builders.map((b) => b.id)).toEqual(['build1', 'build3']);
    expect(before.builders).toHaveLength(3);
  });

  it('keeps unknown document fields', () => {
    const before = { ...fleetOf('build1'), owner: 'infra' } as BuildersDoc;
    expect(removeBuilder(before, 'build1').doc).toEqual({ builders: [], owner: 'infra' });
  });

  it.each([
    ['a fleet', fleetOf('build1', 'build2'), 'registered builders: build1, build2'],
    ['an empty fleet', { builders: [] }, 'registered builders: none yet'],
    ['no registry', undefined, 'registered builders: none yet'],
  ])('refuses an unknown id in %s, listing the builders that are registered', (_, doc, listing) => {
    const error = buildctlErrorFrom(() => removeBuilder(doc, 'ghost'));
    expect(error.code).toBe('unknown_builder');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('unknown builder "ghost"');
    expect(error.hint).toContain(listing);
  });

  it('refuses an invalid id before looking it up', () => {
    expect(buildctlErrorFrom(() => removeBuilder(fleetOf('build1'), 'Build1')).code).toBe('invalid_builder_id');
  });
});
