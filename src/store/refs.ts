// Small questions about a repository's refs and history (a clone, or the bare remote a
// pre-receive hook runs in): asked of git here, so that ops/ names what it wants to know.
import { git } from './git.js';

/** Whether `ancestor` is `descendant` or one of its ancestors, in the repository at `dir` (a clone or a bare remote). */
export const isAncestor = async (dir: string, ancestor: string, descendant: string): Promise<boolean> =>
  (await git(dir, ['merge-base', '--is-ancestor', ancestor, descendant], { allowFail: true })).code === 0;

/** The commits of `to` that `from` lacks (all of `to`'s history without one), oldest first. */
export const commitsBetween = async (dir: string, from: string | undefined, to: string): Promise<string[]> =>
  (await git(dir, ['rev-list', '--reverse', from === undefined ? to : `${from}..${to}`])).stdout.split('\n').filter(Boolean);

/** What `ref` points at in the repository at `dir`, or undefined. */
export const refValue = async (dir: string, ref: string): Promise<string | undefined> =>
  (await git(dir, ['rev-parse', '--verify', '--quiet', ref], { allowFail: true })).stdout.trim() || undefined;

/** The repository's own git directory (a bare repository's, or a clone's .git), absolute. */
export const gitDirOf = async (dir: string): Promise<string> => (await git(dir, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
