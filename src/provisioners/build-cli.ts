import fs from 'node:fs';
import path from 'node:path';
import { bundleFromSources, manifestPath, packageRoot, PROVISIONER_NAMES, type ProvisionerManifest, type ProvisionerName } from './bundle.js';
import { RULES_LIB, rulesScript } from './rules-script.js';

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

// shell/lib/rules.sh for runs from the sources (bats, shellcheck): rewritten when the rules changed.
function writeRulesLib(root = packageRoot()): boolean {
  const file = path.join(root, 'shell', RULES_LIB);
  const text = rulesScript();
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return false;
  fs.writeFileSync(file, text);
  return true;
}

if (writeRulesLib()) process.stdout.write(`wrote shell/${RULES_LIB}\n`);
for (const name of PROVISIONER_NAMES) {
  const manifest = buildProvisioners(packageRoot(), name);
  process.stdout.write(`provisioner ${manifest.file} (${manifest.bytes} bytes, body sha256 ${manifest.bodySha256})\n`);
}
