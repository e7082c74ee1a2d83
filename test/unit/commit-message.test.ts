import { describe, expect, it } from 'vitest';
import { commitMessage } from '../../src/store/transaction.js';

describe('commitMessage', () => {
  it('puts the op, actor and op-id trailers first, then the plan\'s own, each on one line', () => {
    const text = commitMessage('job.add j1 (build)', 'job.add', 'build1', 'op-1', { 'Buildctl-Converted': '3 legacy\nentries' });
    expect(text).toBe('job.add j1 (build)\n\nBuildctl-Op: job.add\nBuildctl-Actor: build1\nBuildctl-Op-Id: op-1\nBuildctl-Converted: 3 legacy entries\n');
  });

  it('keeps the summary to one line', () => {
    expect(commitMessage('a\nb', 'x', 'y', 'z').split('\n')[0]).toBe('a b');
  });
});
