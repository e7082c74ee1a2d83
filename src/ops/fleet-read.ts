// What most builder operations read first inside a transaction: the fleet and the settings.
import { effectiveSettings, type Settings } from '../domain/config.js';
import { EMPTY_BUILDERS, requireBuilder } from '../domain/fleet.js';
import type { BuilderEntry, BuildersDoc } from '../schemas/builders.js';
import { docs } from '../schemas/layout.js';
import type { ReadDoc } from '../store/transaction.js';

export interface FleetContext {
  builders: BuildersDoc;
  settings: Settings;
  knownBuilders: string[];
}

export const readFleet = async (read: ReadDoc): Promise<FleetContext> => {
  const [builders, config] = await Promise.all([read(docs.builders), read(docs.config)]);
  const doc = builders ?? EMPTY_BUILDERS;
  return { builders: doc, settings: effectiveSettings(config), knownBuilders: doc.builders.map((b) => b.id) };
};

/** The acting builder's registry entry: acting as an unregistered id is refused. */
export const readActingBuilder = async (read: ReadDoc, id: string): Promise<FleetContext & { me: BuilderEntry }> => {
  const fleet = await readFleet(read);
  return { ...fleet, me: requireBuilder(fleet.builders, id) };
};
