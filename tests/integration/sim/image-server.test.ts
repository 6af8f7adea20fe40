import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImageServer, type ImageServer } from '../../../src/sim/image-server.js';
import { imageInfo } from '../../../src/sim/tools/image-size.js';

let dir: string;
let server: ImageServer;
const hasQemuImg = fs.existsSync('/usr/bin/qemu-img');

function image() {
  const first = server.images[0];
  if (first === undefined) throw new Error('the image server serves no image');
  return first;
}

async function curl(args: string[]) {
  return execa('curl', ['--silent', '--show-error', ...args], { cwd: dir, reject: false });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linus-images-test-'));
  server = await startImageServer({ dir: path.join(dir, 'served') });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('image server', () => {
  it('serves an Ubuntu-like cloud image and SHA256SUMS on loopback', () => {
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(image()).toEqual({
      os: 'ubuntu-24.04',
      file: 'noble-server-cloudimg-amd64.img',
      url: `${server.baseUrl}/noble/current/noble-server-cloudimg-amd64.img`,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      sumsUrl: `${server.baseUrl}/noble/current/SHA256SUMS`,
      virtualSize: 2361393152,
    });
    expect(server.sumsUrl).toBe(`${server.baseUrl}/noble/current/SHA256SUMS`);
  });

  it("serves every OS of the catalog under its distribution's paths, each checksum file in its own format", async () => {
    expect(server.images.map((entry) => entry.os)).toEqual(['ubuntu-24.04', 'ubuntu-22.04', 'debian-12', 'debian-13', 'almalinux-9', 'rocky-9']);
    const debian = server.images.find((entry) => entry.os === 'debian-12');
    const rocky = server.images.find((entry) => entry.os === 'rocky-9');
    expect(debian?.sumsUrl).toBe(`${server.baseUrl}/images/cloud/bookworm/latest/SHA512SUMS`);
    const sha512 = (await curl(['--fail', debian?.sumsUrl ?? ''])).stdout;
    expect(sha512).toMatch(/^[0-9a-f]{128} {2}debian-12-genericcloud-amd64\.qcow2\n?$/);
    const checksum = (await curl(['--fail', rocky?.sumsUrl ?? ''])).stdout;
    expect(checksum).toBe(`# Rocky-9-GenericCloud-Base.latest.x86_64.qcow2: 393216 bytes\nSHA256 (Rocky-9-GenericCloud-Base.latest.x86_64.qcow2) = ${rocky?.sha256}`);
  });

  it('writes what each image holds into its first cluster, where an import reads it back', () => {
    const file = path.join(dir, 'served', 'pub', 'rocky', '9', 'images', 'x86_64', 'Rocky-9-GenericCloud-Base.latest.x86_64.qcow2');
    expect(imageInfo(file)).toEqual({ size: 10 * 1024 ** 3, format: 'qcow2', guest: expect.objectContaining({ id: 'rocky', agent: true, needsX86_64v2: true }) });
    expect(imageInfo(path.join(dir, 'served', 'noble', 'current', 'noble-server-cloudimg-amd64.img'))?.guest).toMatchObject({ id: 'ubuntu', agent: false, needsX86_64v2: false });
  });

  it('downloads with curl and verifies with sha256sum -c', async () => {
    expect((await curl(['--fail', '-O', image().url])).exitCode).toBe(0);
    expect((await curl(['--fail', '-O', server.sumsUrl])).exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')).toBe(`${image().sha256} *noble-server-cloudimg-amd64.img\n`);
    const check = await execa('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, reject: false });
    expect(check.stdout).toBe('noble-server-cloudimg-amd64.img: OK');
    expect(check.exitCode).toBe(0);
  });

  it('answers HEAD with the length and range support', async () => {
    const head = await curl(['--head', image().url]);
    expect(head.stdout).toMatch(/^HTTP\/1\.1 200 OK\r$/m);
    expect(head.stdout).toMatch(/^Content-Length: 393216\r$/im);
    expect(head.stdout).toMatch(/^Accept-Ranges: bytes\r$/im);
  });

  it('resumes a partial download with curl -C -', async () => {
    const partial = path.join(dir, 'resumed.img');
    expect((await curl(['--fail', '-r', '0-99999', '-o', partial, image().url])).exitCode).toBe(0);
    expect(fs.statSync(partial).size).toBe(100000);
    const resumed = await curl(['--fail', '-C', '-', '-o', partial, '-w', '%{http_code}', image().url]);
    expect(resumed.stdout).toBe('206');
    const { stdout } = await execa('sha256sum', [partial]);
    expect(stdout.split(' ')[0]).toBe(image().sha256);
  });

  it('answers suffix ranges, and 416 past the end', async () => {
    const tail = await curl(['-r', '-8', '-D', '-', '-o', '/dev/null', image().url]);
    expect(tail.stdout).toMatch(/^HTTP\/1\.1 206 Partial Content\r$/m);
    expect(tail.stdout).toMatch(/^Content-Range: bytes 393208-393215\/393216\r$/im);
    const beyond = await curl(['-r', '393216-', '-D', '-', '-o', '/dev/null', image().url]);
    expect(beyond.stdout).toMatch(/^HTTP\/1\.1 416 Range Not Satisfiable\r$/m);
    expect(beyond.stdout).toMatch(/^Content-Range: bytes \*\/393216\r$/im);
  });

  it('answers 404 for anything else, and curl --fail exits 22', async () => {
    const missing = await curl(['--fail', '-o', '/dev/null', `${server.baseUrl}/noble/current/other.img`]);
    expect(missing.exitCode).toBe(22);
    expect(missing.stderr).toMatch(/404/);
  });

  // CI installs qemu-utils (.ci/run), so there the check must run; elsewhere it is optional.
  it.skipIf(!hasQemuImg && !process.env.CI)('serves an image qemu-img check accepts, with one allocated data cluster', async () => {
    const file = path.join(dir, 'served', 'noble', 'current', 'noble-server-cloudimg-amd64.img');
    const check = await execa('qemu-img', ['check', file], { reject: false });
    expect(check.stdout).toContain('No errors were found on the image.');
    expect(check.stdout).toContain('1/36032 = 0.00% allocated');
    const info = await execa('qemu-img', ['info', '--output=json', file]);
    expect(JSON.parse(info.stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 2361393152, 'cluster-size': 65536 });
  });
});
