import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { LinusError } from '../protocol/errors.js';
import { encodeGuestImage, IMAGE_CATALOG, type CatalogImage } from './guest-image.js';
import { writeQcow2 } from './qcow2.js';

export interface ServedImage {
  os: string;
  file: string;
  url: string;
  sha256: string;
  sumsUrl: string;
  virtualSize: number;
}

export interface ImageServer {
  baseUrl: string;
  // Every image of the catalog; the first is Ubuntu 24.04, the sandbox's default.
  images: ServedImage[];
  // The first image's checksum file.
  sumsUrl: string;
  close(): Promise<void>;
}

interface Served {
  file: string;
  contentType: string;
}

type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

function hashFile(algo: 'sha256' | 'sha512', file: string): string {
  return createHash(algo).update(fs.readFileSync(file)).digest('hex');
}

// One line of a checksum file in the distribution's own format.
function sumsLine(image: CatalogImage, file: string, name: string): string {
  switch (image.sums) {
    case 'gnu-sha256':
      return `${hashFile('sha256', file)} *${name}\n`;
    case 'gnu-sha512':
      return `${hashFile('sha512', file)}  ${name}\n`;
    case 'bsd-sha256':
      return `# ${name}: ${fs.statSync(file).size} bytes\nSHA256 (${name}) = ${hashFile('sha256', file)}\n`;
  }
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

// A loopback HTTP server with small valid qcow2 cloud images (one per OS of the catalog, each
// holding its guest's description) and their checksum files, under the distributions' own paths
// and formats, with HEAD and Range support, so download, resume and verification run for real.
export async function startImageServer(opts: { dir: string }): Promise<ImageServer> {
  const routes = new Map<string, Served>();
  const sums = new Map<string, string>();
  const built = IMAGE_CATALOG.map((image) => {
    const file = path.join(opts.dir, image.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeQcow2(file, image.virtualSize, encodeGuestImage(image.guest));
    routes.set(image.path, { file, contentType: 'application/octet-stream' });
    const name = path.posix.basename(image.path);
    sums.set(image.sumsPath, (sums.get(image.sumsPath) ?? '') + sumsLine(image, file, name));
    return { os: image.os, file: name, path: image.path, sumsPath: image.sumsPath, sha256: hashFile('sha256', file), virtualSize: image.virtualSize };
  });
  for (const [sumsPath, text] of sums) {
    const file = path.join(opts.dir, sumsPath);
    fs.writeFileSync(file, text);
    routes.set(sumsPath, { file, contentType: 'text/plain; charset=utf-8' });
  }

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
    images: built.map((image) => ({ os: image.os, file: image.file, url: `${baseUrl}${image.path}`, sha256: image.sha256, sumsUrl: `${baseUrl}${image.sumsPath}`, virtualSize: image.virtualSize })),
    sumsUrl: `${baseUrl}${built[0]?.sumsPath ?? ''}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
