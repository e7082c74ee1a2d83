// `buildctl status set`: this builder's state, through the transaction cycle.
import { requireBuilder } from '../domain/fleet.js';
import { checkStateInput, setBuilderState } from '../domain/status.js';
import { docs } from '../schemas/layout.js';
import type { StatusDoc } from '../schemas/status.js';
import { openStore } from '../store/store.js';
import type { Context } from './context.js';
import { resolveActor } from './identity.js';
import { mutate, txOutcome, type Outcome } from './mutate.js';
import { trustAtBase } from './signed-writes.js';
import { describeTaint } from '../domain/trust.js';

export interface SetStatusResult extends Outcome {
  status: StatusDoc;
}

export const setStatus = async (ctx: Context, input: { state: string; job?: string | undefined }): Promise<SetStatusResult> => {
  const store = await openStore(ctx.storeDir);
  const { id } = await resolveActor(ctx);
  const outcome = await mutate(ctx, store, {
    op: 'status.set',
    actor: id,
    input,
    check: () => void checkStateInput(input),
    apply: async (read, base) => {
      requireBuilder(await read(docs.builders), id);
      // A builder may always set its own status again: that supersedes a change it did not sign.
      const taint = (await trustAtBase(base)).taintOf('status', id);
      if (taint) ctx.warn(`replacing ${describeTaint(taint)}`);
      const spec = docs.status(id);
      const next = setBuilderState(await read(spec), { id, state: input.state, job: input.job, now: ctx.now() });
      return {
        result: next,
        writes: [{ spec, value: next }],
        summary: `status.set ${id} ${next.state}${next.current_job ? ` ${next.current_job}` : ''}`,
      };
    },
  });
  return { status: outcome.result, ...txOutcome(outcome) };
};
