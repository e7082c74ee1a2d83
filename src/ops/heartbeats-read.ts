import type { HeartbeatDoc } from '../schemas/heartbeat.js';
import { docs } from '../schemas/layout.js';
import type { DocRead, Snapshot } from '../store/snapshot.js';

/** A builder's heartbeat from its heartbeat ref; stores of the older layout keep it on main. */
export const readHeartbeat = async (snapshot: Snapshot, id: string): Promise<DocRead<HeartbeatDoc>> => {
  const spec = docs.heartbeat(id);
  const fromRef = await snapshot.heartbeatRef(id, spec);
  return fromRef.status === 'missing' ? snapshot.main(spec) : fromRef;
};
