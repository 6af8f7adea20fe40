import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startImageServer, type ImageServer } from '../../../src/sim/image-server.js';

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
      virtualSize: 2361393152,
    });
    expect(server.sumsUrl).toBe(`${server.baseUrl}/noble/current/SHA256SUMS`);
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
    expect(head.stdout).toMatch(/^Content-Length: 262144\r$/im);
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
    expect(tail.stdout).toMatch(/^Content-Range: bytes 262136-262143\/262144\r$/im);
    const beyond = await curl(['-r', '262144-', '-D', '-', '-o', '/dev/null', image().url]);
    expect(beyond.stdout).toMatch(/^HTTP\/1\.1 416 Range Not Satisfiable\r$/m);
    expect(beyond.stdout).toMatch(/^Content-Range: bytes \*\/262144\r$/im);
  });

  it('answers 404 for anything else, and curl --fail exits 22', async () => {
    const missing = await curl(['--fail', '-o', '/dev/null', `${server.baseUrl}/noble/current/other.img`]);
    expect(missing.exitCode).toBe(22);
    expect(missing.stderr).toMatch(/404/);
  });

  // CI installs qemu-utils (.ci/run), so there the check must run; elsewhere it is optional.
  it.skipIf(!hasQemuImg && !process.env.CI)('serves an image qemu-img check accepts', async () => {
    const file = path.join(dir, 'served', 'noble', 'current', 'noble-server-cloudimg-amd64.img');
    const check = await execa('qemu-img', ['check', file], { reject: false });
    expect(check.stdout).toContain('No errors were found on the image.');
    const info = await execa('qemu-img', ['info', '--output=json', file]);
    expect(JSON.parse(info.stdout)).toMatchObject({ format: 'qcow2', 'virtual-size': 2361393152, 'cluster-size': 65536 });
  });
});
