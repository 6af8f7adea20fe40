import { describe, expect, it } from 'vitest';
import { encodeText, parseVmConfig, serializeVmConfig } from '../../../src/sim/tools/config-format.js';

describe('VM config format', () => {
  it('writes the description as comment lines first, then sorted keys, then sections', () => {
    const raw = serializeVmConfig({
      description: 'web server\nowner: ops 100%',
      values: { scsi0: 'local-lvm:vm-100-disk-0,size=32G', name: 'web01', boot: 'order=scsi0', ide2: 'local-lvm:vm-100-cloudinit,media=cdrom' },
      pending: { values: { cores: '4', delete: 'tags' } },
      special: { cloudinit: { values: { ciuser: 'ubuntu' } } },
      snapshots: {},
    });
    expect(raw).toBe(
      '#web server\n#owner%3A ops 100%25\nboot: order=scsi0\nide2: local-lvm:vm-100-cloudinit,media=cdrom\nname: web01\nscsi0: local-lvm:vm-100-disk-0,size=32G\n' +
        '\n[PENDING]\ncores: 4\ndelete: tags\n\n[special:cloudinit]\nciuser: ubuntu\n',
    );
  });

  it('round-trips through the parser', () => {
    const raw = '#line one\n#line%3A two\nagent: enabled=1\nmemory: 2048\n\n[PENDING]\ncores: 2\n\n[snap1]\nmemory: 1024\n';
    const config = parseVmConfig(raw);
    expect(config.description).toBe('line one\nline: two');
    expect(config.values).toEqual({ agent: 'enabled=1', memory: '2048' });
    expect(config.pending.values).toEqual({ cores: '2' });
    expect(config.snapshots.snap1?.values).toEqual({ memory: '1024' });
    expect(serializeVmConfig(config)).toBe(raw);
  });

  it('drops the cloudinit section when no cloud-init drive is left', () => {
    const config = parseVmConfig('memory: 512\n\n[special:cloudinit]\nciuser: x\n');
    expect(serializeVmConfig(config)).toBe('memory: 512\n');
  });

  it('encodes like ParseUtils::encode_text (control chars, colon, percent, high bytes)', () => {
    expect(encodeText('a:b%c\tü')).toBe('a%3Ab%25c%09%C3%BC');
  });
});
