import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes a file so that readers see the old or the new content, never a torn one. With
 * `durable`, the content and the rename are flushed to disk before it returns, so a power
 * cut right after leaves the new file whole (what the outbox needs: it may be all that is
 * left of an operation).
 */
export const writeFileAtomic = async (file: string, content: string, options: { durable?: boolean } = {}): Promise<void> => {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (options.durable) {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } else {
      await writeFile(temp, content);
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (options.durable) await syncDirectory(dirname(file));
};

/** Flushes a directory's entries (a rename into it). Some file systems refuse: best effort. */
const syncDirectory = async (dir: string): Promise<void> => {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // not supported here (some network and virtual file systems): the rename stands
  } finally {
    await handle.close();
  }
};
