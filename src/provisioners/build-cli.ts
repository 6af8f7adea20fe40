import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleFromSources, manifestPath, packageRoot, PROVISIONER_NAMES, type ProvisionerManifest, type ProvisionerName } from './bundle.js';
import { RULES_LIB, rulesScript } from './rules-script.js';

// `npm run build` step: writes dist/provisioners/<name>-<version>-<sha12>.sh and its manifest
// (manifest.json for the provisioner, manifest-<name>.json for the others), and removes bundles
// of earlier builds. `--out-dir DIR` writes them to DIR instead (tests build there without
// touching dist/ mid-suite).
export function buildProvisioners(
  root = packageRoot(),
  name: ProvisionerName = 'proxmox',
  outDir = path.join(root, 'dist', 'provisioners'),
): ProvisionerManifest {
  fs.mkdirSync(outDir, { recursive: true });
  const bundle = bundleFromSources(name, root);
  const { content, ...manifest } = bundle;
  for (const old of fs.readdirSync(outDir)) {
    if (old.startsWith(`${name}-`) && old.endsWith('.sh') && old !== manifest.file) fs.rmSync(path.join(outDir, old));
  }
  fs.writeFileSync(path.join(outDir, manifest.file), content, { mode: 0o755 });
  fs.writeFileSync(path.join(outDir, path.basename(manifestPath(root, name))), `${JSON.stringify(manifest, null, 2)}\n`);
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
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } }, strict: true });
const outDir = values['out-dir'] === undefined ? undefined : path.resolve(values['out-dir']);
for (const name of PROVISIONER_NAMES) {
  const manifest = buildProvisioners(packageRoot(), name, outDir);
  process.stdout.write(`provisioner ${manifest.file} (${manifest.bytes} bytes, body sha256 ${manifest.bodySha256})\n`);
}
