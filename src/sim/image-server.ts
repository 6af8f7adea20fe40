import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LinusError } from '../protocol/errors.js';
import { CLOUD_IMAGE_VIRTUAL_SIZE, writeQcow2 } from './qcow2.js';

export interface ServedImage {
  os: string;
  file: string;
  url: string;
  sha256: string;
  virtualSize: number;
}

export interface ImageServer {
  baseUrl: string;
  images: ServedImage[];
  sumsUrl: string;
  close(): Promise<void>;
}

// Laid out as cloud-images.ubuntu.com/noble/current/, so URLs look like the real ones.
const RELEASE_DIR = 'noble/current';
const IMAGES = [{ os: 'ubuntu-24.04', file: 'noble-server-cloudimg-amd64.img', virtualSize: CLOUD_IMAGE_VIRTUAL_SIZE }];
const SUMS_FILE = 'SHA256SUMS';

interface Served {
  file: string;
  contentType: string;
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

// One `bytes=` range (what curl -C and -r send); anything else gets the whole file, as RFC 9110
// lets a server do.
function parseRange(header: string | undefined, size: number): ByteRange {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    return suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end };
}

function serveFile(request: http.IncomingMessage, response: http.ServerResponse, served: Served): void {
  const size = fs.statSync(served.file).size;
  const range = parseRange(request.headers.range, size);
  response.setHeader('Accept-Ranges', 'bytes');
  response.setHeader('Content-Type', served.contentType);
  if (range === 'unsatisfiable') {
    response.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    response.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) response.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  response.writeHead(range ? 206 : 200, { 'Content-Length': end - start + 1 });
  if (request.method === 'HEAD' || size === 0) {
    response.end();
    return;
  }
  fs.createReadStream(served.file, { start, end }).pipe(response);
}

// A loopback HTTP server with a small valid qcow2 cloud image and its SHA256SUMS (Ubuntu's
// `<hex> *<file>` format), with HEAD and Range support, so download, resume and verification run for real.
export async function startImageServer(opts: { dir: string }): Promise<ImageServer> {
  const releaseDir = path.join(opts.dir, RELEASE_DIR);
  fs.mkdirSync(releaseDir, { recursive: true });
  const routes = new Map<string, Served>();
  const sums: string[] = [];
  const built = IMAGES.map((image) => {
    const file = path.join(releaseDir, image.file);
    writeQcow2(file, image.virtualSize);
    routes.set(`/${RELEASE_DIR}/${image.file}`, { file, contentType: 'application/octet-stream' });
    const sha256 = sha256File(file);
    sums.push(`${sha256} *${image.file}\n`);
    return { ...image, sha256 };
  });
  const sumsFile = path.join(releaseDir, SUMS_FILE);
  fs.writeFileSync(sumsFile, sums.join(''));
  routes.set(`/${RELEASE_DIR}/${SUMS_FILE}`, { file: sumsFile, contentType: 'text/plain; charset=utf-8' });

  const server = http.createServer((request, response) => {
    const served = routes.get(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 }).end();
    } else if (served === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 }).end('not found\n');
    } else {
      serveFile(request, response, served);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new LinusError({ code: 'SANDBOX_FAILED', message: `image server cannot listen: ${error.message}`, cause: error })));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    images: built.map((image) => ({ os: image.os, file: image.file, url: `${baseUrl}/${RELEASE_DIR}/${image.file}`, sha256: image.sha256, virtualSize: image.virtualSize })),
    sumsUrl: `${baseUrl}/${RELEASE_DIR}/${SUMS_FILE}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
