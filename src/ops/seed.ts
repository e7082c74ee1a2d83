// The documents a new store starts with.
import { EMPTY_BUILDERS } from '../domain/fleet.js';
import { EMPTY_SIGNERS } from '../domain/signers.js';
import { docs } from '../schemas/layout.js';
import { serializeDocument } from '../store/documents.js';

const STORE_README = `# buildctl store

This repository is a buildctl store: the shared state of a build fleet, written by
\`buildctl\` on each builder. Do not edit it by hand while builders run; use the
\`buildctl\` commands, which validate every change. \`buildctl validate\` checks it.

- coordination/: the fleet (builders.json), jobs, locks, messages, settings (config.json),
  the builders' and operators' public keys (signers.json)
- <builder>/status.json: each builder's state, written by that builder
- heartbeats live on the branches heartbeat/<builder>, one commit each, replaced every minute
`;

export const seedFiles = (): Record<string, string> => ({
  'README.md': STORE_README,
  [docs.builders.path]: serializeDocument(docs.builders.path, EMPTY_BUILDERS, docs.builders.schema),
  [docs.jobs.path]: serializeDocument(docs.jobs.path, { jobs: [] }, docs.jobs.schema),
  [docs.locks.path]: serializeDocument(docs.locks.path, { locks: [], last_token: 0 }, docs.locks.schema),
  [docs.messages.path]: serializeDocument(docs.messages.path, { messages: [] }, docs.messages.schema),
  [docs.config.path]: serializeDocument(docs.config.path, {}, docs.config.schema),
  [docs.signers.path]: serializeDocument(docs.signers.path, EMPTY_SIGNERS, docs.signers.schema),
});
