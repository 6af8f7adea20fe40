import { createHash, randomBytes } from 'node:crypto';

// SHA-256 crypt ($5$), Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" spec: what
// PVE::Tools::encrypt_pw gets from crypt(3). Node has no crypt(3), so it is spelled out here.
const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function repeatTo(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) out[i] = source[i % source.length] as number;
  return out;
}

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i += 1) {
    out += B64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

const ORDER = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
] as const;

export function sha256Crypt(password: string, salt: string, rounds?: number): string {
  const key = Buffer.from(password, 'utf8');
  const saltBuf = Buffer.from(salt.slice(0, 16), 'utf8');
  const n = rounds === undefined ? 5000 : Math.min(Math.max(rounds, 1000), 999_999_999);

  const b = sha256(key, saltBuf, key);
  const aParts: Buffer[] = [key, saltBuf, repeatTo(b, key.length)];
  for (let len = key.length; len > 0; len >>= 1) aParts.push(len & 1 ? b : key);
  const a = sha256(...aParts);

  const dp = repeatTo(sha256(...Array.from({ length: key.length }, () => key)), key.length);
  const ds = repeatTo(sha256(...Array.from({ length: 16 + (a[0] as number) }, () => saltBuf)), saltBuf.length);

  let c = a;
  for (let i = 0; i < n; i += 1) {
    const parts: Buffer[] = [i & 1 ? dp : c];
    if (i % 3) parts.push(ds);
    if (i % 7) parts.push(dp);
    parts.push(i & 1 ? c : dp);
    c = sha256(...parts);
  }

  let out = ORDER.map(([x, y, z]) => b64From24(c[x] as number, c[y] as number, c[z] as number, 4)).join('');
  out += b64From24(0, c[31] as number, c[30] as number, 3);
  const prefix = rounds === undefined ? '$5$' : `$5$rounds=${n}$`;
  return `${prefix}${saltBuf.toString('utf8')}$${out}`;
}

// encrypt_pw: a random 8-character salt from the crypt alphabet.
export function encryptPassword(password: string): string {
  const salt = Array.from(randomBytes(8), (byte) => B64[byte % 64]).join('');
  return sha256Crypt(password, salt);
}

// PVE keeps a value that already looks like a crypt hash ($1$, $5$, $6$, $y$ ...).
export function isCryptHash(value: string): boolean {
  return /^\$(?:[156]|2[abxy]?|y|gy|7)\$/.test(value);
}
