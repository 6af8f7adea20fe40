import fs from 'node:fs';
import path from 'node:path';
import { bundleFromSources, packageRoot, PROVISIONER_NAMES, type ProvisionerManifest } from './bundle.js';

// `npm run build` step: writes dist/provisioners/<name>-<version>-<sha12>.sh and manifest.json,
// and removes bundles of earlier builds.
export function buildProvisioners(root = packageRoot()): ProvisionerManifest {
  const outDir = path.join(root, 'dist', 'provisioners');
  fs.mkdirSync(outDir, { recursive: true });
  const [name] = PROVISIONER_NAMES;
  const bundle = bundleFromSources(name, root);
  const { content, ...manifest } = bundle;
  for (const old of fs.readdirSync(outDir)) {
    if (old.startsWith(`${name}-`) && old.endsWith('.sh') && old !== manifest.file) fs.rmSync(path.join(outDir, old));
  }
  fs.writeFileSync(path.join(outDir, manifest.file), content, { mode: 0o755 });
  fs.writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

const manifest = buildProvisioners();
process.stdout.write(`provisioner ${manifest.file} (${manifest.bytes} bytes, body sha256 ${manifest.bodySha256})\n`);
