// SSH signatures as git writes and checks them (gpg.format=ssh), made and checked in-process
// with node:crypto's ed25519: `ssh-keygen -Y sign` is a process per commit, and verifying a
// long history through it would be one per commit read. The formats are OpenSSH's:
// PROTOCOL.sshsig (the armored SSHSIG blob: namespace "git", hash sha512), PROTOCOL.key
// (the unencrypted "openssh-key-v1" private key file) and RFC 4253's wire encoding of an
// ed25519 public key. Tests check both directions against ssh-keygen and git verify-commit.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

const ED25519 = 'ssh-ed25519';
const SIG_MAGIC = 'SSHSIG';
const SIG_VERSION = 1;
const SIG_HASH = 'sha512';
/** The namespace git signs commits in. */
export const GIT_NAMESPACE = 'git';
const KEY_MAGIC = 'openssh-key-v1\0';

// DER prefixes of an ed25519 key as SPKI (public) and PKCS#8 (private): the raw 32 bytes follow.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
/** An SSH wire `string`: a uint32 length and the bytes. */
const wireString = (data: Buffer | string): Buffer => {
  const bytes = Buffer.from(data);
  return Buffer.concat([u32(bytes.length), bytes]);
};

/** Reads SSH wire fields; throws on anything short or malformed. */
class WireReader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  u32(): number {
    if (this.offset + 4 > this.buffer.length) throw new Error('truncated');
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  bytes(n: number): Buffer {
    if (this.offset + n > this.buffer.length) throw new Error('truncated');
    const value = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return value;
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
  text(): string {
    return this.string().toString('utf8');
  }
  get rest(): number {
    return this.buffer.length - this.offset;
  }
}

/** The wire blob of an ed25519 public key: string "ssh-ed25519", string key (32 bytes). */
const publicBlobOf = (raw: Buffer): Buffer => Buffer.concat([wireString(ED25519), wireString(raw)]);

/** The raw 32 bytes of an ed25519 public key blob; throws for any other key type. */
const rawOfPublicBlob = (blob: Buffer): Buffer => {
  const reader = new WireReader(blob);
  const type = reader.text();
  if (type !== ED25519) throw new Error(`a ${type} key (buildctl signs and verifies ${ED25519} keys only)`);
  const raw = reader.string();
  if (raw.length !== 32 || reader.rest !== 0) throw new Error('a malformed ed25519 public key');
  return raw;
};

const publicKeyObject = (blob: Buffer): KeyObject => createPublicKey({ key: Buffer.concat([SPKI_PREFIX, rawOfPublicBlob(blob)]), format: 'der', type: 'spki' });

/** `SHA256:...` as `ssh-keygen -l` prints it. */
const fingerprintOf = (blob: Buffer): string => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

export interface PublicKey {
  /** The base64 of the wire blob: the key's identity, compared as text. */
  blob: string;
  /** `ssh-ed25519 AAAA...` (without the comment). */
  text: string;
  fingerprint: string;
  comment: string;
}

const publicKeyFromBlob = (blob: Buffer, comment: string): PublicKey => ({
  blob: blob.toString('base64'),
  text: `${ED25519} ${blob.toString('base64')}`,
  fingerprint: fingerprintOf(blob),
  comment,
});

/** Parses one `ssh-ed25519 AAAA... [comment]` line (an authorized_keys / .pub line). Throws with the reason. */
export const parsePublicKey = (line: string): PublicKey => {
  const [type = '', data = '', ...comment] = line.trim().split(/\s+/);
  if (type !== ED25519) throw new Error(type === '' ? 'an empty public key' : `a ${type} key (only ${ED25519} keys are supported)`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new Error('the key data is not base64');
  const blob = Buffer.from(data, 'base64');
  try {
    rawOfPublicBlob(blob);
  } catch (error) {
    throw new Error(`the key data is ${(error as Error).message}`);
  }
  return publicKeyFromBlob(blob, comment.join(' '));
};

export interface SigningKey {
  publicKey: PublicKey;
  privateKey: KeyObject;
}

const armor = (label: string, data: Buffer): string =>
  `-----BEGIN ${label}-----\n${data.toString('base64').replace(/(.{70})(?=.)/g, '$1\n')}\n-----END ${label}-----\n`;

const unarmor = (label: string, text: string): Buffer | undefined => {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  if (!match) return undefined;
  const data = (match[1] ?? '').replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]*={0,2}$/.test(data) ? Buffer.from(data, 'base64') : undefined;
};

/**
 * Parses an OpenSSH private key file holding one unencrypted ed25519 key (what
 * `ssh-keygen -t ed25519 -N ''` writes). Throws with the reason otherwise.
 */
export const parsePrivateKey = (text: string): SigningKey => {
  const data = unarmor('OPENSSH PRIVATE KEY', text);
  if (!data) throw new Error('not an OpenSSH private key file (-----BEGIN OPENSSH PRIVATE KEY-----)');
  if (data.subarray(0, KEY_MAGIC.length).toString('latin1') !== KEY_MAGIC) throw new Error('not an openssh-key-v1 private key');
  try {
    const reader = new WireReader(data.subarray(KEY_MAGIC.length));
    const cipher = reader.text();
    reader.text(); // kdf name
    reader.string(); // kdf options
    if (cipher !== 'none') throw new Error('protected by a passphrase (buildctl runs from cron and cannot ask for one)');
    if (reader.u32() !== 1) throw new Error('a file of several keys');
    const publicBlob = reader.string();
    const secret = new WireReader(reader.string());
    if (secret.u32() !== secret.u32()) throw new Error('corrupt (check bytes differ)');
    const type = secret.text();
    if (type !== ED25519) throw new Error(`a ${type} key (only ${ED25519} keys are supported)`);
    const raw = secret.string();
    const pair = secret.string(); // seed (32) + public (32)
    const comment = secret.text();
    if (raw.length !== 32 || pair.length !== 64 || !pair.subarray(32).equals(raw)) throw new Error('a malformed ed25519 key');
    if (!publicBlob.equals(publicBlobOf(raw))) throw new Error('corrupt (the public and private parts differ)');
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, pair.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    return { publicKey: publicKeyFromBlob(publicBlob, comment), privateKey };
  } catch (error) {
    const reason = (error as Error).message;
    throw new Error(reason === 'truncated' ? 'a truncated or corrupt private key' : reason);
  }
};

/**
 * A new ed25519 key as the files `ssh-keygen -t ed25519 -N '' -C comment` writes: the
 * private key (OpenSSH format, unencrypted) and the `.pub` line.
 */
export const generateKeyFiles = (comment: string): { privateText: string; publicText: string } => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  const blob = publicBlobOf(raw);
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, wireString(ED25519), wireString(raw), wireString(Buffer.concat([seed, raw])), wireString(comment)]);
  // Padded to the cipher's block size (8 for "none") with 1, 2, 3, ...
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1));
  secret = Buffer.concat([secret, padding]);
  const body = Buffer.concat([Buffer.from(KEY_MAGIC, 'latin1'), wireString('none'), wireString('none'), wireString(''), u32(1), wireString(blob), wireString(secret)]);
  return { privateText: armor('OPENSSH PRIVATE KEY', body), publicText: `${ED25519} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}\n` };
};

/** What PROTOCOL.sshsig signs: the preamble, namespace, reserved, hash name and the message's hash. */
const signedData = (namespace: string, message: Buffer): Buffer =>
  Buffer.concat([Buffer.from(SIG_MAGIC), wireString(namespace), wireString(''), wireString(SIG_HASH), wireString(createHash(SIG_HASH).update(message).digest())]);

/** The armored SSH signature of `message` (ends with a newline), as `ssh-keygen -Y sign -n git` makes it. */
export const signMessage = (key: SigningKey, message: Buffer, namespace = GIT_NAMESPACE): string => {
  const signature = sign(null, signedData(namespace, message), key.privateKey);
  const blob = Buffer.concat([
    Buffer.from(SIG_MAGIC),
    u32(SIG_VERSION),
    wireString(Buffer.from(key.publicKey.blob, 'base64')),
    wireString(namespace),
    wireString(''),
    wireString(SIG_HASH),
    wireString(Buffer.concat([wireString(ED25519), wireString(signature)])),
  ]);
  return armor('SSH SIGNATURE', blob);
};

export type SignatureCheck =
  /** The signature is valid for the message, made by this key. */
  | { kind: 'good'; key: PublicKey }
  /** A signature is there but does not hold (malformed, another namespace, altered message). */
  | { kind: 'bad'; reason: string };

/** Checks an armored SSH signature over `message` (namespace "git"), in-process. */
export const verifyMessage = (armored: string, message: Buffer, namespace = GIT_NAMESPACE): SignatureCheck => {
  const blob = unarmor('SSH SIGNATURE', armored);
  if (!blob) return { kind: 'bad', reason: 'not an SSH signature' };
  try {
    if (blob.subarray(0, SIG_MAGIC.length).toString('latin1') !== SIG_MAGIC) return { kind: 'bad', reason: 'not an SSHSIG blob' };
    const reader = new WireReader(blob.subarray(SIG_MAGIC.length));
    if (reader.u32() !== SIG_VERSION) return { kind: 'bad', reason: 'an unknown SSHSIG version' };
    const publicBlob = reader.string();
    const signedNamespace = reader.text();
    reader.string(); // reserved
    const hash = reader.text();
    const inner = new WireReader(reader.string());
    const type = inner.text();
    const signature = inner.string();
    if (signedNamespace !== namespace) return { kind: 'bad', reason: `signed for namespace "${signedNamespace}", not "${namespace}"` };
    if (hash !== 'sha512' && hash !== 'sha256') return { kind: 'bad', reason: `an unknown hash ${hash}` };
    if (type !== ED25519) return { kind: 'bad', reason: `a ${type} signature (buildctl checks ${ED25519} only)` };
    const key = publicKeyObject(publicBlob);
    const data = Buffer.concat([Buffer.from(SIG_MAGIC), wireString(namespace), wireString(''), wireString(hash), wireString(createHash(hash).update(message).digest())]);
    if (!verify(null, data, key, signature)) return { kind: 'bad', reason: 'the signature does not match the commit' };
    return { kind: 'good', key: publicKeyFromBlob(publicBlob, '') };
  } catch (error) {
    return { kind: 'bad', reason: `a malformed signature (${(error as Error).message})` };
  }
};
