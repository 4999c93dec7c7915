import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { REPO_ROOT } from '../../../test/support/prereq.js';
import { join } from 'node:path';
import { Type as TypeBox, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { isWraithError, type WraithError } from '@wraith/core';
import { Type, type JsonSchema } from '../src/config/json-schema.js';
import { configKeys } from '../src/config/keys.js';
import { DEFAULTS_FILE, loadConfig, readTomlFile } from '../src/config/load.js';
import { configToJson, configToToml } from '../src/config/show.js';
import { ConfigFileSchema } from '../src/config/schema.js';
import { normalizeLayer } from '../src/config/validate.js';
import { tmpDir } from './helpers.js';

const ID = 'cd'.repeat(32);

function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function loadError(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (isWraithError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('defaults (config/wraith.toml)', () => {
  it('loads with every key resolved to typed values', async () => {
    const home = tmpDir();
    const { config, files, warnings } = await loadConfig({ home });
    expect(files).toEqual({ defaults: DEFAULTS_FILE, user: null });
    expect(warnings).toEqual([]);
    expect(config.network.listen_addr).toBe('[::]:40000');
    expect(config.network.transport).toBe('auto');
    expect(config.network.max_datagram_size).toBe(1452);
    expect(config.network.handshake_timeout).toBe(10_000);
    expect(config.network.idle_timeout).toBe(30_000);
    expect(config.transfer.chunk_size).toBe(262144);
    expect(config.transfer.partial_ttl).toBe(7 * 86_400_000);
    expect(config.transfer.rekey_interval).toBe(120_000);
    expect(config.transfer.download_dir).toBe(join(home, 'incoming'));
    expect(config.node.identity_file).toBe(join(home, 'identity.key'));
    expect(config.receive.min_free).toBe(2 ** 30);
    expect(config.receive.max_buffer_bytes).toBe(64 * 2 ** 20);
    expect(config.receive.max_file_size).toBeNull();
    expect(config.receive.on_conflict).toBe('refuse');
    expect(config.xdp.umem_size).toBe(64 * 2 ** 20);
    expect(config.xdp.watchdog).toEqual({ targets: [], interval: 1000, failures: 3 });
    expect(config.admin.listen).toBe('127.0.0.1:40080');
    expect(config.peers).toEqual({});
    expect(config.logging).toEqual({ level: 'info', file: null });
  });

  it('mentions every schema key (set or commented out)', async () => {
    const text = readFileSync(DEFAULTS_FILE, 'utf8');
    for (const k of configKeys()) {
      const leaf = k.path[k.path.length - 1]!;
      expect(text, k.dotted).toMatch(new RegExp(`^#? ?${leaf} = `, 'm'));
    }
  });

  it('gives each key a distinct flag', () => {
    const flags = configKeys().map((k) => k.flag);
    expect(new Set(flags).size).toBe(flags.length);
    expect(flags).toEqual(expect.arrayContaining([
      '--transport', '--xdp-interface', '--admin-listen', '--io-backend', '--crypto-backend', '--rx-ring-size',
      '--tx-ring-size', '--umem-size', '--umem-huge-pages', '--batch-size', '--lock-memory', '--cpus', '--listen-addr',
    ]));
  });

  it('documents every key and flag in docs/CLI.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');
    for (const k of configKeys()) expect(doc, k.dotted).toContain(`| \`${k.dotted}\` | \`${k.flag}\``);
  });

  it('is a JSON schema object the admin API can reuse', () => {
    const s = JSON.parse(JSON.stringify(ConfigFileSchema)) as { type: string; properties: Record<string, unknown> };
    expect(s.type).toBe('object');
    expect(Object.keys(s.properties)).toEqual(['node', 'network', 'xdp', 'transfer', 'receive', 'peers', 'admin', 'dos', 'crypto', 'io', 'logging']);
  });

  it('is built as TypeBox would build it (the same JSON)', () => {
    const build = (T: typeof Type | typeof TypeBox): JsonSchema | TSchema => {
      const B = T as typeof Type; // the same call signatures here
      const entry = B.Object({ id: B.String({ 'x-kind': 'peer_id' }), note: B.Optional(B.String()) }, { additionalProperties: false });
      return B.Object(
        {
          a: B.Optional(B.Integer({ minimum: 1, maximum: 9, 'x-kind': 'int' })),
          b: B.Optional(B.Union([B.Integer({ minimum: 0 }), B.String({ pattern: '^x$' })], { 'x-kind': 'size' })),
          c: B.Optional(B.Union([B.Literal('on'), B.Literal(4096)], { 'x-kind': 'enum' })),
          d: B.Optional(B.Array(B.Integer({ minimum: 0 }), { 'x-kind': 'list', 'x-item': 'int' })),
          e: B.Optional(B.Boolean({ 'x-kind': 'bool' })),
          f: B.Optional(B.Record(B.String({ pattern: '^[a-z]+$' }), entry, { 'x-kind': 'peers' })),
          g: B.Object({}, { 'x-kind': 'section' }),
        },
        { additionalProperties: false, description: 'top' },
      );
    };
    expect(JSON.stringify(build(Type))).toBe(JSON.stringify(build(TypeBox)));
  });
});

describe('precedence: flag > --config FILE (else home/config.toml) > defaults', () => {
  it('uses home/config.toml when present, and --config instead of it when given', async () => {
    const home = tmpDir();
    file(home, 'config.toml', '[transfer]\nchunk_size = "1MiB"\nmax_concurrent = 3\n');
    const other = file(tmpDir(), 'other.toml', '[transfer]\nchunk_size = "2MiB"\n');

    const a = await loadConfig({ home });
    expect(a.files.user).toBe(join(home, 'config.toml'));
    expect(a.config.transfer.chunk_size).toBe(2 ** 20);
    expect(a.config.transfer.max_concurrent).toBe(3);

    const b = await loadConfig({ home, configFile: other });
    expect(b.config.transfer.chunk_size).toBe(2 * 2 ** 20);
    expect(b.config.transfer.max_concurrent).toBe(64); // home/config.toml is not read when --config is given

    const c = await loadConfig({ home, configFile: other, flags: { transfer: { chunk_size: '4MiB' } } });
    expect(c.config.transfer.chunk_size).toBe(4 * 2 ** 20);
  });

  it('merges sections key by key and [peers.NAME] entries by name', async () => {
    const home = tmpDir();
    file(home, 'config.toml', `[network]\nidle_timeout = "1m"\n[peers.backup]\nid = "0x${ID}"\naddr = "[::1]:40000"\n`);
    const { config } = await loadConfig({ home });
    expect(config.network.idle_timeout).toBe(60_000);
    expect(config.network.listen_addr).toBe('[::]:40000');
    expect(config.peers).toEqual({ backup: { id: ID, addr: '[::1]:40000' } });
  });

  it('resolves relative paths against the file that names them, flags against the cwd', async () => {
    const home = tmpDir();
    const dir = tmpDir();
    const cfg = file(dir, 'c.toml', '[transfer]\ndownload_dir = "in"\n');
    expect((await loadConfig({ home, configFile: cfg })).config.transfer.download_dir).toBe(join(dir, 'in'));
    const flagged = await loadConfig({ home, flags: { transfer: { download_dir: 'x' } }, cwd: '/srv' });
    expect(flagged.config.transfer.download_dir).toBe('/srv/x');
  });

  it('maps the deprecated enable_xdp per layer, with a warning', async () => {
    const home = tmpDir();
    file(home, 'config.toml', '[network]\nenable_xdp = false\n');
    const a = await loadConfig({ home });
    expect(a.config.network.transport).toBe('udp');
    expect(a.warnings.join('\n')).toMatch(/network\.enable_xdp is deprecated/);
    const b = await loadConfig({ home, flags: { network: { transport: 'xdp' } } });
    expect(b.config.network.transport).toBe('xdp');
    file(home, 'config.toml', '[network]\nenable_xdp = true\ntransport = "udp"\n');
    const c = await loadConfig({ home });
    expect(c.config.network.transport).toBe('udp');
    expect(c.warnings.join('\n')).toMatch(/ignored: transport is set/);
  });
});

describe('errors name the key, the expectation and the value found', () => {
  const cases: [string, string, RegExp][] = [
    ['[transfer]\nchunk_size = 1000\n', 'E_CONFIG', /^config: transfer\.chunk_size: expected a power of two between 16384 and 16777216, found 1000$/],
    ['[transfer]\nchunk_size = "32MiB"\n', 'E_CONFIG', /transfer\.chunk_size: expected a power of two between 16384 and 16777216, found "32MiB"/],
    ['[network]\nmax_datagram_size = 100\n', 'E_CONFIG', /network\.max_datagram_size: expected an integer between 1200 and 65507, found 100/],
    ['[network]\nmax_datagram_size = "big"\n', 'E_CONFIG', /network\.max_datagram_size: expected an integer between 1200 and 65507, found "big"/],
    ['[network]\ntransport = "tcp"\n', 'E_CONFIG', /network\.transport: expected one of "auto", "udp", "xdp", found "tcp"/],
    ['[network]\nlisten_addr = "nowhere"\n', 'E_CONFIG', /network\.listen_addr: expected HOST:PORT or \[IPv6\]:PORT, found "nowhere"/],
    ['[network]\nhandshake_timeout = 10\n', 'E_CONFIG', /network\.handshake_timeout: expected a duration like .*found 10$/],
    ['[network]\nudp_fallback = "yes"\n', 'E_CONFIG', /network\.udp_fallback: expected true or false, found "yes"/],
    ['[xdp]\nrx_ring_size = 1000\n', 'E_CONFIG', /xdp\.rx_ring_size: expected a power of two between 64 and 65536, found 1000/],
    ['[xdp]\nframe_size = 3000\n', 'E_CONFIG', /xdp\.frame_size: expected one of 2048, 4096, found 3000/],
    ['[xdp]\ncpus = [0, "one"]\n', 'E_CONFIG', /xdp\.cpus\[1\]: expected an integer between 0 and 4095, found "one"/],
    ['[xdp]\numem_size = 10000000\n', 'E_CONFIG', /xdp\.umem_size: expected a multiple of xdp\.frame_size \(4096\), found 10000000/],
    ['[receive]\ntrusted_peers = ["abc"]\n', 'E_CONFIG', /receive\.trusted_peers\[0\]: expected a peer id \(64 hex characters\), found "abc"/],
    ['[receive]\non_conflict = "merge"\n', 'E_CONFIG', /receive\.on_conflict: expected one of "refuse", "rename", "overwrite"/],
    ['[receive]\nmin_free = "lots"\n', 'E_CONFIG', /receive\.min_free: expected a size .*found "lots"/],
    ['[network]\nlisen_addr = "0.0.0.0:1"\n', 'E_CONFIG', /^config: network\.lisen_addr: unknown key; did you mean listen_addr\?$/],
    ['[netwrk]\n', 'E_CONFIG', /^config: netwrk: unknown section; did you mean network\?$/],
    ['[network]\nzzzzzzzz = 1\n', 'E_CONFIG', /network\.zzzzzzzz: unknown key; valid: listen_addr, /],
    // A key in the wrong table, or above every table, is named with the table it belongs in.
    ['[receive]\ndownload_dir = "/srv/in"\n', 'E_CONFIG', /^config: receive\.download_dir: unknown key in \[receive\]; download_dir belongs in \[transfer\]$/],
    ['auto_accept = true\n', 'E_CONFIG', /^config: auto_accept: not a section; auto_accept belongs in \[receive\]$/],
    ['network = 5\n', 'E_CONFIG', /^config: network: expected a table, found 5$/],
    [`[peers.backup]\naddr = "h:1"\n`, 'E_CONFIG', /peers\.backup\.id: missing/],
    [`[peers.backup]\nid = "${ID}"\naddr = "h:1"\nport = 3\n`, 'E_CONFIG', /peers\.backup\.port: unknown key/],
    [`[peers."a b"]\nid = "${ID}"\naddr = "h:1"\n`, 'E_CONFIG', /peers\.a b: a peer name is/],
    ['[admin]\nlisten = "0.0.0.0:40080"\n', 'E_CONFIG', /admin\.listen: expected a loopback address unless admin\.allow_remote = true/],
    ['[admin]\ntls_cert = "c.pem"\n', 'E_CONFIG', /admin\.tls_cert: expected admin\.tls_cert and admin\.tls_key together/],
    ['[network\n', 'E_CONFIG_SYNTAX', /:1:\d+: TOML syntax error/],
    ['a = 1\n[b]\nc = = 2\n', 'E_CONFIG_SYNTAX', /:3:5: TOML syntax error: invalid value/],
  ];
  it.each(cases)('%j -> %s', async (text, code, message) => {
    const path = file(tmpDir(), 'c.toml', text);
    const err = await loadError(loadConfig({ home: tmpDir(), configFile: path }));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(3);
    expect(err.hint).toContain(path);
  });

  it('names the flag for a bad flag value', async () => {
    const flagOf = (d: string) => configKeys().find((k) => k.dotted === d)?.flag;
    expect(() => normalizeLayer({ transfer: { chunk_size: '3KiB' } }, { kind: 'flags', flagOf }, '/')).toThrow(
      /^config: --chunk-size \(transfer\.chunk_size\): expected a power of two between 16384 and 16777216, found "3KiB"$/,
    );
  });

  it('refuses a missing --config file with E_CONFIG', async () => {
    const err = await loadError(loadConfig({ home: tmpDir(), configFile: '/nonexistent/wraith.toml' }));
    expect(err.code).toBe('E_CONFIG');
    expect(err.message).toContain('/nonexistent/wraith.toml');
  });

  it('reports the TOML line in the hint', async () => {
    const path = file(tmpDir(), 'c.toml', 'x = 1\ny = = 2\n');
    const err = await loadError(readTomlFile(path));
    expect(err.details).toMatchObject({ line: 2 });
    expect(err.hint).toContain('y = = 2');
  });
});

describe('config show', () => {
  it('prints TOML that loads back to the same config', async () => {
    const home = tmpDir();
    file(home, 'config.toml', `[xdp]\ncpus = [1, 2]\n[receive]\nmax_file_size = "10GiB"\n[peers.b]\nid = "${ID}"\naddr = "h:1"\n`);
    const { config } = await loadConfig({ home });
    const text = configToToml(config);
    expect(text).toContain('max_file_size = "10GiB"');
    expect(text).toContain('partial_ttl = "7d"');
    const again = await loadConfig({ home: tmpDir(), configFile: file(tmpDir(), 'shown.toml', text) });
    expect(again.config).toEqual(config);
  });

  it('redacts secret-named fields in JSON', async () => {
    const { config } = await loadConfig({ home: tmpDir() });
    const withSecret = { ...config, admin: { ...config.admin, token: 'hunter2' } };
    expect(JSON.stringify(configToJson(withSecret as typeof config))).not.toContain('hunter2');
  });
});

describe('shipped examples', () => {
  it.each(['receiving-server.toml', 'sender.toml'])('config/examples/%s is valid', async (name) => {
    const { config, warnings } = await loadConfig({ home: tmpDir(), configFile: join(REPO_ROOT, 'config', 'examples', name) });
    expect(warnings).toEqual([]);
    expect(config).toBeDefined();
  });

  it('config/wraith.service runs the daemon with the capabilities AF_XDP needs', () => {
    const unit = readFileSync(join(REPO_ROOT, 'config', 'wraith.service'), 'utf8');
    for (const line of [
      'User=wraith',
      'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK',
      'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN CAP_BPF CAP_IPC_LOCK',
      'StateDirectory=wraith',
      'Environment=WRAITH_HOME=/var/lib/wraith',
      'ProtectSystem=strict',
      'ReadWritePaths=-/srv/wraith/incoming',
      'LimitMEMLOCK=infinity',
      'ExecStart=/usr/bin/env wraith daemon',
      'Type=notify',
      'NotifyAccess=main',
    ]) {
      expect(unit).toMatch(new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
  });
});

describe('who can change the config file', () => {
  it('a file or a (non-sticky) directory every user can write is refused, naming it and the chmod; a group-writable file is a warning', async () => {
    const home = tmpDir();
    const dir = tmpDir();
    const p = file(dir, 'c.toml', '[receive]\nauto_accept = true\n');
    chmodSync(p, 0o666);
    const open = await loadError(loadConfig({ home, configFile: p }));
    expect(open.code).toBe('E_CONFIG');
    expect(open.message).toBe(`config: ${p} is writable by every user: anyone on this host could change who may send files here`);
    expect(open.hint).toBe(`chmod o-w ${p}`);

    chmodSync(p, 0o664);
    const group = await loadConfig({ home, configFile: p });
    expect(group.config.receive.auto_accept).toBe(true);
    expect(group.warnings).toEqual([expect.stringContaining(`${p} is writable by its group`)]);

    chmodSync(p, 0o644);
    chmodSync(dir, 0o777);
    const inDir = await loadError(loadConfig({ home, configFile: p }));
    expect(inDir.message).toContain(`its directory ${dir} is writable by every user (and not sticky)`);
    chmodSync(dir, 0o1777); // like /tmp: others cannot replace a file they do not own
    expect((await loadConfig({ home, configFile: p })).warnings).toEqual([]);
    chmodSync(dir, 0o700);
  });
});
