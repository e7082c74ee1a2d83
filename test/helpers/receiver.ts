// A webhook receiver on loopback for the notification tests: it records every request,
// checks Standard Webhooks signatures with the reference implementation, and answers as
// the test says (a status, or never: a hung endpoint).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  /** Whether the signature verified (null: no secret given to the receiver). */
  verified: boolean | null;
}

/** What to answer: a status code, or 'hang' (accept the request, never answer). */
export type Answer = number | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** The distinct webhook-ids received (a receiver deduplicates retries by it). */
  uniqueIds(): string[];
  /** Sets how the next requests are answered (in order; the last one repeats). */
  answer(...answers: Answer[]): void;
  /** Resolves when `count` requests have arrived (or rejects at the deadline). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export const webhookSecret = `whsec_${Buffer.from('buildctl test secret: 32 bytes!!').toString('base64')}`;

export const startReceiver = async (options: { secret?: string } = {}): Promise<Receiver> => {
  const received: Received[] = [];
  let answers: Answer[] = [200];
  const hung: ServerResponse[] = [];
  const waiters: Array<() => void> = [];
  const verifier = options.secret ? new Webhook(options.secret) : undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified: boolean | null = null;
      if (verifier) {
        try {
          verifier.verify(body, headers);
          verified = true;
        } catch {
          verified = false;
        }
      }
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      received.push({ path: req.url ?? '', headers, body, json, verified });
      for (const wake of waiters.splice(0)) wake();
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (answer === 'hang') hung.push(res);
      else res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    uniqueIds: () => [...new Set(received.map((r) => r.headers['webhook-id']).filter((id): id is string => id !== undefined))],
    answer: (...next) => (answers = next),
    waitFor: async (count, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} of ${count} requests`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
