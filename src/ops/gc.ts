// `buildctl gc`: whole-repository garbage collection, on an operator's request (store/maintenance.ts).
import { collectGarbage, type GcReport } from '../store/maintenance.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';

export const gcOp = async (ctx: Context): Promise<GcReport> => collectGarbage(await openStore(ctx.storeDir), { now: ctx.now() });
