// Artifacts are described, never stored: `job complete --artifact PATH` records the file's
// size and sha256 (and where it was published, when told), so the store stays small and a
// consumer can check what it downloaded.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkArtifactUrls } from '../domain/jobs.js';
import { usageError } from '../errors.js';
import type { ArtifactManifest } from '../schemas/jobs.js';

/** Size and sha256 of the bytes actually read, so both describe the same content. */
const digestOf = (path: string): Promise<{ size: number; sha256: string }> =>
  new Promise((done, fail) => {
    const hash = createHash('sha256');
    let size = 0;
    createReadStream(path)
      .on('data', (chunk: string | Buffer) => {
        size += Buffer.byteLength(chunk);
        hash.update(chunk);
      })
      .on('error', fail)
      .on('end', () => done({ size, sha256: hash.digest('hex') }));
  });

/**
 * Manifests for the given files, in order; the n-th URL belongs to the n-th path. Paths are
 * recorded absolute (a relative one means nothing on another host). A missing file, a
 * directory, a bad URL or more URLs than paths is bad input (exit 2): nothing is recorded.
 */
export const describeArtifacts = async (paths: readonly string[], urls: readonly string[] = []): Promise<ArtifactManifest[]> => {
  checkArtifactUrls(paths, urls);
  const manifests: ArtifactManifest[] = [];
  for (const [index, given] of paths.entries()) {
    const path = resolve(given);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw usageError(`cannot read artifact ${given}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
        code: 'artifact_not_found',
        hint: 'give the path of a file the job produced (it is described, size and sha256, never uploaded)',
      });
    });
    if (!info.isFile()) {
      throw usageError(`artifact ${given} is not a regular file`, { code: 'artifact_not_a_file', hint: 'describe files one by one, or pack a directory first (tar)' });
    }
    const url = urls[index];
    manifests.push({ path, ...(await digestOf(path)), ...(url === undefined ? {} : { url }) });
  }
  return manifests;
};
