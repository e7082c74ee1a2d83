// Builders found by their folders (domain/legacy/discovery.ts) on origin/main as last
// fetched: the fleet of a store the older scripts ran, which has no registry yet.
import { parseJsonLoosely } from '../domain/legacy/changes.js';
import { registrationOf, builderFolders } from '../domain/legacy/discovery.js';
import type { BuilderEntry } from '../schemas/builders.js';
import { parseDocumentText } from '../schemas/document-text.js';
import { heartbeatDoc } from '../schemas/heartbeat.js';
import { statusDoc } from '../schemas/status.js';
import { listMainFiles, type Snapshot } from '../store/snapshot.js';
import { ORIGIN_MAIN } from '../store/store.js';

export interface FoundBuilder {
  /** What the registry would hold for it (from its status document). */
  entry: BuilderEntry;
  /** Its status or heartbeat document on main is not a current one: the older scripts wrote it. */
  legacy: boolean;
}

/** Builder folders on origin/main whose id `registered` does not hold, in id order. */
export const findBuilderFolders = async (snapshot: Snapshot, registered: ReadonlySet<string>, now?: Date): Promise<FoundBuilder[]> => {
  const found: FoundBuilder[] = [];
  for (const [id, files] of builderFolders(await listMainFiles(snapshot.store))) {
    if (registered.has(id)) continue;
    const status = files.status ? await snapshot.text(`${ORIGIN_MAIN}:${id}/status.json`) : undefined;
    const beat = files.heartbeat ? await snapshot.text(`${ORIGIN_MAIN}:${id}/heartbeat.json`) : undefined;
    const legacy = (status !== undefined && !parseDocumentText(status, statusDoc).ok) || (beat !== undefined && !parseDocumentText(beat, heartbeatDoc).ok);
    found.push({ entry: registrationOf(id, parseJsonLoosely(status), now), legacy });
  }
  return found;
};
