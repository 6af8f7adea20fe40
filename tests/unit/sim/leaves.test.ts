import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize, renderBytes } from '../../../src/sim/tools/format-size.js';
import { perlPrettyJson, canonicalJson } from '../../../src/sim/tools/json-pretty.js';
import { isCryptHash, sha256Crypt, encryptPassword } from '../../../src/sim/tools/sha-crypt.js';
import { uriEscape, uriUnescape } from '../../../src/sim/tools/uri-escape.js';
import { printDrive, parseNet, printNet } from '../../../src/sim/tools/property-string.js';

describe('format_size / render_bytes', () => {
  it('uses the largest exact unit', () => {
    expect(formatSize(2361393152)).toBe('2252M');
    expect(formatSize(2 * 1024 ** 3)).toBe('2G');
    expect(formatSize(2361393152 + 10 * 1024 ** 3)).toBe('12492M');
    expect(formatSize(1000)).toBe('1000');
    expect(formatSize(4 * 1024 ** 4)).toBe('4T');
  });
  it('parses sizes with K/M/G/T', () => {
    expect(parseSize('32G')).toBe(32 * 1024 ** 3);
    expect(parseSize('1.5K')).toBe(1536);
    expect(parseSize('x')).toBeUndefined();
  });
  it('renders progress sizes with one decimal', () => {
    expect(renderBytes(0)).toBe('0.0 B');
    expect(renderBytes(2361393152)).toBe('2.2 GiB');
  });
});

describe('sha256-crypt', () => {
  it('matches the spec test vectors', () => {
    expect(sha256Crypt('Hello world!', 'saltstring')).toBe('$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
    expect(sha256Crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe('$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
  });
  it('matches glibc crypt(3) through perl', () => {
    const hash = encryptPassword('s3cret pw');
    const salt = hash.split('$')[2] as string;
    expect(hash).toMatch(/^\$5\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{43}$/);
    const perl = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', 's3cret pw', `$5$${salt}$`], { encoding: 'utf8' });
    expect(perl).toBe(hash);
  });
  it('recognises crypt hashes', () => {
    expect(isCryptHash('$5$abc$def')).toBe(true);
    expect(isCryptHash('plain')).toBe(false);
  });
});

describe('URI escaping', () => {
  it('escapes all but RFC 3986 unreserved characters, uppercase hex', () => {
    const key = 'ssh-ed25519 AAAA+b/c= user@host\n';
    expect(uriEscape(key)).toBe('ssh-ed25519%20AAAA%2Bb%2Fc%3D%20user%40host%0A');
    expect(uriUnescape(uriEscape(key))).toBe(key);
    expect(uriEscape('a-b_c.d~e')).toBe('a-b_c.d~e');
  });
});

describe('JSON::XS output', () => {
  it('pretty-prints with 3 spaces, "key" : value and sorted keys', () => {
    expect(perlPrettyJson([{ b: 1, a: { c: 'x' } }])).toBe('[\n   {\n      "a" : {\n         "c" : "x"\n      },\n      "b" : 1\n   }\n]');
    expect(canonicalJson({ b: 1, a: [1, '2'] })).toBe('{"a":[1,"2"],"b":1}');
  });
});

describe('property strings', () => {
  it('prints drives with the volume first and sorted keys, size via format_size', () => {
    expect(printDrive('local-lvm:vm-100-disk-0', { ssd: '1', size: String(32 * 1024 ** 3), discard: 'on' })).toBe('local-lvm:vm-100-disk-0,discard=on,size=32G,ssd=1');
  });
  it('re-prints nets as model=MAC first', () => {
    const nic = parseNet('virtio,bridge=vmbr0,tag=10,firewall=1');
    expect(nic).toBeDefined();
    expect(printNet({ ...(nic as NonNullable<typeof nic>), mac: 'BC:24:11:00:00:01' })).toBe('virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=10');
  });
});
