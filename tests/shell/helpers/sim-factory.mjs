// Lays out simulated hosts for the bats tests of one run (tests/shell/setup_suite.bash starts it),
// and serves their tool calls until their root goes: one Node process with the simulator loaded
// instead of two per test (a layout and a tool server; the shims start one of those only when
// nothing answers on the host's socket). `node sim-factory.mjs <repo root>` listens on a loopback
// port and prints it. A request is <root> NUL <settings JSON> NUL <existing VMs> NUL; the answer one
// line: "ok 127.<block>" (the host's loopback /16, whose first two octets replace a literal
// $SIM_NET in the settings) or "error <message>".
import net from 'node:net';
import path from 'node:path';

const repo = process.argv[2];
if (repo === undefined) throw new Error('usage: sim-factory.mjs <repo root>');
const { createSimHost } = await import(path.join(repo, 'dist/src/sim/host.js'));
const { reserveAddressBlock } = await import(path.join(repo, 'dist/src/sim/address-block.js'));
const { serveHost } = await import(path.join(repo, 'dist/src/sim/tools/serve.js'));

async function layOut([root, settingsJson, existingVms]) {
  const addressBlock = reserveAddressBlock(root);
  const settings = { clockScale: 0.1, addressBlock, ...JSON.parse(settingsJson.replaceAll('$SIM_NET', `127.${addressBlock}`)) };
  const host = await createSimHost({ root, settings, existingVms: Number(existingVms) });
  await serveHost(host.paths, { onGone: () => undefined });
  return `127.${addressBlock}`;
}

const server = net.createServer((socket) => {
  let request = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    request += chunk;
    const fields = request.split('\0');
    if (fields.length < 4) return;
    layOut(fields.slice(0, 3)).then(
      (block) => socket.end(`ok ${block}\n`),
      (error) => socket.end(`error ${String(error instanceof Error ? error.message : error).replaceAll('\n', ' ')}\n`),
    );
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
