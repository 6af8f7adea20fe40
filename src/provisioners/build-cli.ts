import fs from 'node:fs';
import path from 'node:path';
import { bundleFromSources, manifestPath, packageRoot, PROVISIONER_NAMES, type ProvisionerManifest, type ProvisionerName } from './bundle.js';

// `npm run build` step: writes dist/provisioners/<name>-<version>-<sha12>.sh and its manifest
// (manifest.json for the provisioner, manifest-<name>.json for the others), and removes bundles
// of earlier builds.
export function buildProvisioners(root = packageRoot(), name: ProvisionerName = 'proxmox'): ProvisionerManifest {
  const outDir = path.join(root, 'dist', 'provisioners');
  fs.mkdirSync(outDir, { recursive: true });
  const bundle = bundleFromSources(name, root);
  const { content, ...manifest } = bundle;
  for (const old of fs.readdirSync(outDir)) {
    if (old.startsWith(`${name}-`) && old.endsWith('.sh') && old !== manifest.file) fs.rmSync(path.join(outDir, old));
  }
  fs.writeFileSync(path.join(outDir, manifest.file), content, { mode: 0o755 });
  fs.writeFileSync(manifestPath(root, name), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

for (const name of PROVISIONER_NAMES) {
  const manifest = buildProvisioners(packageRoot(), name);
  process.stdout.write(`provisioner ${manifest.file} (${manifest.bytes} bytes, body sha256 ${manifest.bodySha256})\n`);
}
