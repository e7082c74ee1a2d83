// Sending one notification: an HTTP POST with a deadline, signed per Standard Webhooks
// (https://www.standardwebhooks.com/): `webhook-id`, `webhook-timestamp` (Unix seconds) and
// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the
// base64 part of a `whsec_...` secret. Only what goes over the wire lives here; which event
// goes where, and when, is domain/notify.ts.
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { usageError } from '../errors.js';

const SECRET_PREFIX = 'whsec_';

/** The HMAC key of a `whsec_<base64>` secret; anything else is refused with how to make one. */
export const secretKey = (secret: string): Buffer => {
  const trimmed = secret.trim();
  const encoded = trimmed.startsWith(SECRET_PREFIX) ? trimmed.slice(SECRET_PREFIX.length) : undefined;
  const key = encoded !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
  if (!key || key.length < 16) {
    throw usageError('a webhook secret must be "whsec_" followed by at least 16 bytes in base64', {
      code: 'invalid_webhook_secret',
      hint: 'make one with: echo "whsec_$(openssl rand -base64 32)"',
    });
  }
  return key;
};

export const signatureOf = (key: Buffer, id: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;

export interface PostResult {
  ok: boolean;
  status: number | null;
  /** Why it failed, for the record: `HTTP 500`, `timed out after 5s`, `connect ECONNREFUSED ...`. */
  error?: string;
}

export interface PostOptions {
  url: string;
  body: string;
  /** Standard Webhooks signing: the id, the time and the key. */
  sign?: { id: string; timestampSeconds: number; key: Buffer } | undefined;
  timeoutMs: number;
}

/** One POST; never throws: a failure of any kind is a result (the queue decides what to do). */
export const postJson = (options: PostOptions): Promise<PostResult> =>
  new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      resolve({ ok: false, status: null, error: 'not a URL' });
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'buildctl', 'content-length': String(Buffer.byteLength(options.body)) };
    if (options.sign) {
      headers['webhook-id'] = options.sign.id;
      headers['webhook-timestamp'] = String(options.sign.timestampSeconds);
      headers['webhook-signature'] = signatureOf(options.sign.key, options.sign.id, options.sign.timestampSeconds, options.body);
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const done = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(url, { method: 'POST', headers }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      res.on('end', () => done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` }));
      res.on('error', (error) => done({ ok: false, status, error: error.message }));
    });
    // One deadline for the whole exchange (connect, send, answer), however the endpoint stalls.
    const timer = setTimeout(() => {
      done({ ok: false, status: null, error: `timed out after ${Math.round(options.timeoutMs / 100) / 10}s` });
      req.destroy();
    }, Math.max(1, options.timeoutMs));
    req.on('error', (error) => done({ ok: false, status: null, error: error.message }));
    req.end(options.body);
  });
