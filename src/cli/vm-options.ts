import type { Options } from 'yargs';
import { OS_NAMES } from '../config/os-images.js';

// The VM flags of `provision` and `agent-plan` (`vm clone` takes some): one definition, so they cannot drift.
export const VM_OPTIONS = {
  name: { type: 'string', describe: 'VM name (a DNS label)' },
  os: { type: 'string', choices: OS_NAMES, describe: 'Operating system image [default: ubuntu = ubuntu-24.04]' },
  cores: { type: 'number', describe: 'CPU cores [default: 2]' },
  memory: { type: 'number', describe: 'Memory in MiB [default: 2048]' },
  disk: { type: 'number', describe: 'Disk size in GiB [default: 20]' },
  'vm-user': { type: 'string', describe: "Login user in the VM [default: the image's, e.g. ubuntu]" },
  'ssh-key': { type: 'string', describe: 'Public key file for the VM user (required unless --password)' },
  password: { type: 'boolean', describe: 'Also generate a password for the VM user, shown once' },
  ip: { type: 'string', describe: "'dhcp' or A.B.C.D/N [default: dhcp]" },
  gateway: { type: 'string', describe: 'Gateway for a static --ip' },
  dns: { type: 'string', describe: 'Name servers, space separated, e.g. "1.1.1.1 8.8.8.8"' },
  'search-domain': { type: 'string', describe: 'DNS search domain' },
  vlan: { type: 'number', describe: 'VLAN tag on the bridge (1-4094)' },
  'image-url': { type: 'string', describe: 'Image URL (a mirror, an offline host); use with --image-sha256' },
  'image-sha256': { type: 'string', describe: 'Expected sha256 of --image-url' },
  timeout: { type: 'number', describe: 'Seconds to wait for the IP and SSH [default: 300]' },
  cpu: { type: 'string', describe: 'CPU type (x86-64-v2-AES, x86-64-v3, host, ...); RHEL 9 family images need x86-64-v2 [default: x86-64-v2-AES]' },
  upgrade: { type: 'boolean', describe: 'Let cloud-init upgrade all packages on first boot (slow; off by default)' },
} as const satisfies Record<string, Options>;

export const VM_OPTION_NAMES = Object.keys(VM_OPTIONS);
