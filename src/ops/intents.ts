// The operations the outbox can hold, by name, each a plan builder for its queued input.
// Loaded only when there is something to deliver.
import type { Apply } from '../store/transaction.js';
import { addPlan, finishPlan, type AddIntent, type FinishIntent } from './job-plans.js';
import { ackPlan, readPlan, sendPlan, type AckIntent, type ReadIntent, type SendIntent } from './message-plans.js';

export const PLANS: Record<string, (input: unknown) => Apply<unknown>> = {
  'msg.send': (input) => sendPlan(input as SendIntent),
  'msg.read': (input) => readPlan(input as ReadIntent),
  'msg.ack': (input) => ackPlan(input as AckIntent),
  'job.add': (input) => addPlan(input as AddIntent),
  'job.complete': (input) => finishPlan(input as FinishIntent),
  'job.fail': (input) => finishPlan(input as FinishIntent),
  'job.release': (input) => finishPlan(input as FinishIntent),
};
