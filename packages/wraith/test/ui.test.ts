import { describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { createUi, NdjsonUi, PlainUi, ProgressBarUi } from '../src/ui/index.js';
import { etaSeconds } from '../src/ui/types.js';
import { receiveSummary } from '../src/ui/progress.js';
import { sendersHint } from '../src/ui/senders-hint.js';
import { limitRepeats } from '../src/ui/repeats.js';
import { MemStream } from './helpers.js';

const T0 = Date.UTC(2025, 0, 1);

function lines(s: MemStream): Record<string, unknown>[] {
  return s.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('NDJSON (schema v1)', () => {
  it('gives every line v, type, ts and transfer_id, with the documented fields', () => {
    const out = new MemStream();
    let now = T0;
    const ui = new NdjsonUi(out, { now: () => now });
    ui.started({ transfer_id: 't1', direction: 'send', peer: 'id@h:1', files: 2, bytes_total: 100 });
    ui.progress({ transfer_id: 't1', bytes_total: 100, bytes_done: 40, rate_bps: 1234.4, eta_s: 0.0486 });
    ui.file({ transfer_id: 't1', name: 'a', status: 'sent', kind: 'file', bytes: 60, root: 'ff' });
    ui.warning({ transfer_id: 't1', code: null, message: 'w' });
    now += 1500;
    ui.completed({ transfer_id: 't1', payload_bytes_sent: 60, bytes_retransmitted: 3, bytes_skipped_resume: 40, bytes_already_present: 0, root: 'ee' });
    ui.error(new WraithError('E_EXISTS', 'x exists'), 't1');
    const ls = lines(out);
    for (const l of ls) {
      expect(Object.keys(l).slice(0, 4)).toEqual(['v', 'type', 'ts', 'transfer_id']);
      expect(l.v).toBe(1);
      expect(l.transfer_id).toBe('t1');
    }
    expect(ls.map((l) => l.type)).toEqual(['started', 'progress', 'file', 'warning', 'completed', 'error']);
    expect(ls[0]!.ts).toBe('2025-01-01T00:00:00.000Z');
    expect(ls[1]).toMatchObject({ bytes_total: 100, bytes_done: 40, rate_bps: 1234, eta_s: 0 });
    expect(ls[4]).toMatchObject({ payload_bytes_sent: 60, bytes_retransmitted: 3, bytes_skipped_resume: 40, bytes_already_present: 0, root: 'ee' });
    expect(ls[5]).toMatchObject({ code: 'E_EXISTS', exit_code: 6, message: 'x exists', hint: expect.stringContaining('on_conflict') });
  });

  it('throttles progress lines but always emits the final one', () => {
    const out = new MemStream();
    let now = T0;
    const ui = new NdjsonUi(out, { now: () => T0, mono: () => now, progressIntervalMs: 1000 });
    const p = (done: number) => ui.progress({ transfer_id: 't', bytes_total: 10, bytes_done: done, rate_bps: 1, eta_s: 10 - done });
    p(1);
    now += 500;
    p(2); // dropped
    now += 600;
    p(3);
    p(10); // final, not throttled
    expect(lines(out).map((l) => l.bytes_done)).toEqual([1, 3, 10]);
  });
});

describe('human output', () => {
  it('plain lines when not a TTY', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    expect(ui).toBeInstanceOf(PlainUi);
    ui.started({ transfer_id: 't', direction: 'send', peer: 'p@h:1', files: 1, bytes_total: 2048 });
    ui.progress({ transfer_id: 't', bytes_total: 2048, bytes_done: 1024, rate_bps: 125_000_000, eta_s: 65 });
    ui.completed({ transfer_id: 't', payload_bytes_sent: 2048, bytes_retransmitted: 0, bytes_skipped_resume: 0, bytes_already_present: 0, root: 'ab' });
    ui.error(new WraithError('E_NO_SPACE', 'disk full'), 't');
    expect(err.text).toContain('sending 1 file, 2.00 KiB to p@h:1');
    expect(err.text).toContain('progress: 50% 1.00 KiB / 2.00 KiB, 1.00 Gbit/s, ETA 1m05s');
    expect(err.text).toContain('done: 2.00 KiB sent; root ab');
    expect(err.text).toContain('error[E_NO_SPACE]: disk full\n  hint: ');
    // The addon's messages carry their hint at the end: it is printed once, as the hint.
    const hint = 'ports below 1024 need root or CAP_NET_BIND_SERVICE';
    ui.error(new WraithError('E_PERMISSION', `bind(udp4 127.0.0.1:80): Permission denied: ${hint}`, {}, hint), 't');
    expect(err.text).toContain(`error[E_PERMISSION]: bind(udp4 127.0.0.1:80): Permission denied\n  hint: ${hint}\n`);
  });

  it('a directory entry is shown with a slash and no size, unlike an empty file', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    ui.file({ transfer_id: 't', name: 'tree/empty', status: 'sent', kind: 'dir', bytes: 0, root: null });
    ui.file({ transfer_id: 't', name: 'tree/nothing', status: 'received', kind: 'file', bytes: 0, root: 'af13' });
    ui.file({ transfer_id: 't', name: 'tree', status: 'already_present', kind: 'dir', bytes: 0, root: null, stored_as: 'tree (1)' });
    expect(err.text).toContain('sent: tree/empty/\n');
    expect(err.text).toContain('received: tree/nothing (0 B)\n');
    expect(err.text).toContain('already present: tree/ (stored as tree (1)/)\n');
  });

  it('--remove-source-files: a file removed here says so; one kept says nothing more (its warning does)', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    ui.file({ transfer_id: 't', name: 'a.log', status: 'sent', kind: 'file', bytes: 2048, root: null, source_removed: true });
    ui.file({ transfer_id: 't', name: 'b.log', status: 'already_present', kind: 'file', bytes: 1, root: null, stored_as: 'b (1).log', source_removed: false });
    expect(err.text).toContain('sent: a.log (2.00 KiB), source removed\n');
    expect(err.text).toContain('already present: b.log (1 B, stored as b (1).log)\n');
  });

  it('control characters in a message or name (a peer\'s reason, a file name) are shown escaped, never sent to the terminal', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    ui.warning({ transfer_id: 't', code: null, message: '/tmp/new\nline: skipped' });
    ui.file({ transfer_id: 't', name: 'a\rb', status: 'sent', kind: 'file', bytes: 1, root: null });
    ui.error(new WraithError('E_EXISTS', 'refused: \u001b[2J\u009bforged\nerror[E_OK]: fine'), 't');
    expect(err.text).toContain('warning: /tmp/new\\x0aline: skipped\n');
    expect(err.text).toContain('sent: a\\x0db (1 B)\n');
    expect(err.text).toContain('error[E_EXISTS]: refused: \\x1b[2J\\x9bforged\\x0aerror[E_OK]: fine\n  hint: ');
    expect(err.text).not.toMatch(/[\u001b\u009b\r]/);
  });

  it('bidi overrides and other invisible reordering characters in a name are shown escaped', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    ui.file({ transfer_id: 't', name: 'invoice\u202efdp.exe', status: 'received', kind: 'file', bytes: 1, root: null });
    ui.file({ transfer_id: 't', name: 'a\u2066b\u2069\u200fc\u2028d', status: 'received', kind: 'file', bytes: 1, root: null });
    expect(err.text).toContain('received: invoice\\u{202e}fdp.exe (1 B)\n');
    expect(err.text).toContain('received: a\\u{2066}b\\u{2069}\\u{200f}c\\u{2028}d (1 B)\n');
  });

  it('the summary tells resumed bytes from files already present and from the receiver\'s older copy', () => {
    const err = new MemStream();
    const ui = createUi({ json: false, progress: true, stdout: new MemStream(), stderr: err, now: () => T0 });
    const none = { bytes_zero: 0, bytes_reused: 0 };
    ui.completed({ transfer_id: 't', payload_bytes_sent: 1024, bytes_retransmitted: 0, bytes_skipped_resume: 3072, bytes_already_present: 2048, ...none, root: null });
    ui.completed({ transfer_id: 'u', payload_bytes_sent: 0, bytes_retransmitted: 0, bytes_skipped_resume: 2048, bytes_already_present: 2048, ...none, root: null });
    // Of 5 KiB held, 3 KiB were found in the receiver's older copy of a file.
    ui.completed({ transfer_id: 'v', payload_bytes_sent: 512, bytes_retransmitted: 0, bytes_skipped_resume: 5120, bytes_already_present: 0, bytes_zero: 0, bytes_reused: 3072, root: null });
    expect(err.text).toContain('done: 1.00 KiB sent, 1.00 KiB resumed, 2.00 KiB already present\n');
    expect(err.text).toContain('done: 0 B sent, 2.00 KiB already present\n');
    expect(err.text).toContain("done: 512 B sent, 2.00 KiB resumed, 3.00 KiB already in the receiver's copy\n");
  });

  it('a progress bar on a TTY; --no-progress drops progress; --json uses stdout', () => {
    const tty = Object.assign(new MemStream(), { isTTY: true, columns: 100 });
    expect(createUi({ json: false, progress: true, stdout: new MemStream(), stderr: tty })).toBeInstanceOf(ProgressBarUi);
    const out = new MemStream();
    const err = new MemStream();
    const quiet = createUi({ json: false, progress: false, stdout: out, stderr: err });
    quiet.progress({ transfer_id: 't', bytes_total: 2, bytes_done: 1, rate_bps: 1, eta_s: 1 });
    expect(err.text).toBe('');
    const json = createUi({ json: true, progress: true, stdout: out, stderr: err });
    json.warning({ transfer_id: null, code: null, message: 'm' });
    expect(out.lines()).toHaveLength(1);
    expect(err.text).toBe('');
  });

  it('--quiet: on a TTY too, only warnings and errors; NDJSON is unchanged', () => {
    const tty = Object.assign(new MemStream(), { isTTY: true, columns: 100 });
    const ui = createUi({ json: false, progress: true, quiet: true, stdout: new MemStream(), stderr: tty, now: () => T0 });
    ui.started({ transfer_id: 't', direction: 'send', peer: 'p@h:1', files: 2, bytes_total: 2048 });
    ui.progress({ transfer_id: 't', bytes_total: 2048, bytes_done: 1024, rate_bps: 125_000_000, eta_s: 65 });
    ui.file({ transfer_id: 't', name: 'a.bin', status: 'sent', kind: 'file', bytes: 1024, root: null });
    ui.completed({ transfer_id: 't', payload_bytes_sent: 2048, bytes_retransmitted: 0, bytes_skipped_resume: 0, bytes_already_present: 0, root: 'ab' });
    ui.close();
    expect(tty.text).toBe('');
    ui.warning({ transfer_id: 't', code: null, message: 'a symlink was skipped' });
    ui.error(new WraithError('E_NO_SPACE', 'disk full'), 't');
    ui.close();
    expect(tty.text).toMatch(/^warning: a symlink was skipped\nerror\[E_NO_SPACE\]: disk full\n  hint: [^\n]+\n$/);
    const out = new MemStream();
    const json = createUi({ json: true, progress: true, quiet: true, stdout: out, stderr: new MemStream() });
    json.file({ transfer_id: 't', name: 'a.bin', status: 'sent', kind: 'file', bytes: 1024, root: null });
    expect(out.lines()).toHaveLength(1);
  });

  it('draws the bar with bytes, rate and ETA, and prints lines above it', () => {
    const tty = Object.assign(new MemStream(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const ui = new ProgressBarUi(tty);
    ui.started({ transfer_id: 't', direction: 'send', peer: 'p@h:1', files: 2, bytes_total: 4 * 2 ** 20 });
    ui.progress({ transfer_id: 't', bytes_total: 4 * 2 ** 20, bytes_done: 2 ** 20, rate_bps: 125_000_000, eta_s: 90 });
    ui.file({ transfer_id: 't', name: 'a.bin', status: 'sent', kind: 'file', bytes: 2 ** 20, root: null });
    ui.completed({ transfer_id: 't', payload_bytes_sent: 4 * 2 ** 20, bytes_retransmitted: 0, bytes_skipped_resume: 0, bytes_already_present: 0, root: null });
    ui.close();
    expect(tty.text).toContain('sending 2 files, 4.00 MiB to p@h:1');
    expect(tty.text).toMatch(/25% \| 1\.00 MiB \/ 4\.00 MiB \| 1\.00 Gbit\/s \| ETA 1m30s/);
    expect(tty.text).toContain('sent: a.bin (1.00 MiB)');
    expect(tty.text).toContain('done: 4.00 MiB sent');
  });

  it('plain receive lines: a small file gets only its "received:" line; a big one its start and progress, not a 100% line', () => {
    const plain = new MemStream();
    const p = new PlainUi(plain, { now: () => T0, progressIntervalMs: 0 });
    p.started({ transfer_id: '1/0', direction: 'receive', peer: 'ab', files: 1, bytes_total: 5 });
    p.progress({ transfer_id: '1/0', bytes_total: 5, bytes_done: 5, rate_bps: 40, eta_s: 0 });
    p.file({ transfer_id: '1/0', name: 'small', status: 'received', kind: 'file', bytes: 5, root: null });
    p.started({ transfer_id: '1/2', direction: 'receive', peer: 'ab', files: 1, bytes_total: 4 * 2 ** 20 });
    p.progress({ transfer_id: '1/2', bytes_total: 4 * 2 ** 20, bytes_done: 2 ** 20, rate_bps: 8e6, eta_s: 3 });
    p.progress({ transfer_id: '1/2', bytes_total: 4 * 2 ** 20, bytes_done: 4 * 2 ** 20, rate_bps: 8e6, eta_s: 0 });
    p.file({ transfer_id: '1/2', name: 'big', status: 'received', kind: 'file', bytes: 4 * 2 ** 20, root: null });
    // A send still ends on its 100% line.
    p.started({ transfer_id: 's', direction: 'send', peer: 'ab@h:1', files: 1, bytes_total: 5 });
    p.progress({ transfer_id: 's', bytes_total: 5, bytes_done: 5, rate_bps: 40, eta_s: 0 });
    expect(plain.lines()).toEqual([
      'received: small (5 B)',
      'receiving 1 file, 4.00 MiB from ab (transfer 1/2)',
      'progress: 25% 1.00 MiB / 4.00 MiB, 64.0 Mbit/s, ETA 3s',
      'received: big (4.00 MiB)',
      'sending 1 file, 5 B to ab@h:1 (transfer s)',
      'progress: 100% 5 B / 5 B, 320 bit/s, ETA 0s',
    ]);
  });

  it('while a send hashes its source: bytes_hashed in NDJSON, "hashing N%" on the bar and the plain line', () => {
    const hashing = { transfer_id: 't', bytes_total: 4 * 2 ** 20, bytes_done: 0, rate_bps: 0, eta_s: null, bytes_hashed: 2 ** 20 };
    const out = new MemStream();
    new NdjsonUi(out, { now: () => T0 }).progress(hashing);
    expect(lines(out)[0]).toMatchObject({ bytes_done: 0, bytes_hashed: 2 ** 20 });
    const plain = new MemStream();
    const p = new PlainUi(plain, { now: () => T0, progressIntervalMs: 0 });
    p.progress(hashing);
    p.progress({ ...hashing, bytes_hashed: undefined, bytes_done: 2 ** 20 });
    expect(plain.lines()).toEqual(['progress: 0% 0 B / 4.00 MiB, 0.00 bit/s, ETA -, hashing 25%', 'progress: 25% 1.00 MiB / 4.00 MiB, 0.00 bit/s, ETA -']);
    const tty = Object.assign(new MemStream(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const bar = new ProgressBarUi(tty);
    bar.started({ transfer_id: 't', direction: 'send', peer: 'p@h:1', files: 1, bytes_total: 4 * 2 ** 20 });
    bar.progress(hashing);
    bar.close();
    expect(tty.text).toMatch(/0% \| 0 B \/ 4\.00 MiB \| .* \| ETA - \| hashing 25%/);
  });

  it('while the receiver decides on an offer: waiting_for_receiver in NDJSON, "waiting for receiver" on the bar and the plain line', () => {
    const waiting = { transfer_id: 't', bytes_total: 4 * 2 ** 20, bytes_done: 0, rate_bps: 0, eta_s: null, waiting_for_receiver: true as const };
    const out = new MemStream();
    const nd = new NdjsonUi(out, { now: () => T0, progressIntervalMs: 0 });
    nd.progress(waiting);
    nd.progress({ ...waiting, waiting_for_receiver: undefined, bytes_done: 2 ** 20 });
    expect(lines(out)[0]).toMatchObject({ bytes_done: 0, waiting_for_receiver: true });
    expect(lines(out)[1]).not.toHaveProperty('waiting_for_receiver');
    const plain = new MemStream();
    new PlainUi(plain, { now: () => T0, progressIntervalMs: 0 }).progress(waiting);
    expect(plain.lines()).toEqual(['progress: 0% 0 B / 4.00 MiB, 0.00 bit/s, ETA -, waiting for receiver']);
    const tty = Object.assign(new MemStream(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const bar = new ProgressBarUi(tty);
    bar.started({ transfer_id: 't', direction: 'send', peer: 'p@h:1', files: 1, bytes_total: 4 * 2 ** 20 });
    bar.progress(waiting);
    bar.close();
    expect(tty.text).toMatch(/ETA - \| waiting for receiver/);
  });

  it('all sent, the receiver still writing: receiver_finishing in NDJSON, "receiver finishing" on the bar and the plain line', () => {
    const finishing = { transfer_id: 't', bytes_total: 4 * 2 ** 20, bytes_done: 4 * 2 ** 20, rate_bps: 2 ** 20, eta_s: null, receiver_finishing: true as const };
    const out = new MemStream();
    new NdjsonUi(out, { now: () => T0, progressIntervalMs: 0 }).progress(finishing);
    expect(lines(out)[0]).toMatchObject({ bytes_done: 4 * 2 ** 20, eta_s: null, receiver_finishing: true });
    const plain = new MemStream();
    new PlainUi(plain, { now: () => T0, progressIntervalMs: 0 }).progress(finishing);
    expect(plain.lines()).toEqual(['progress: 100% 4.00 MiB / 4.00 MiB, 8.39 Mbit/s, ETA -, receiver finishing']);
  });

  it('the receiver reporting its disk: bytes_written in NDJSON, "N% on disk" on the plain line, an ETA at its pace', () => {
    const onDisk = { transfer_id: 't', bytes_total: 4 * 2 ** 20, bytes_done: 4 * 2 ** 20, rate_bps: 2 ** 20, eta_s: 3, receiver_finishing: true as const, bytes_written: 2 ** 20 };
    const out = new MemStream();
    new NdjsonUi(out, { now: () => T0, progressIntervalMs: 0 }).progress(onDisk);
    expect(lines(out)[0]).toMatchObject({ bytes_done: 4 * 2 ** 20, eta_s: 3, receiver_finishing: true, bytes_written: 2 ** 20 });
    const plain = new MemStream();
    new PlainUi(plain, { now: () => T0, progressIntervalMs: 0 }).progress(onDisk);
    expect(plain.lines()).toEqual(['progress: 100% 4.00 MiB / 4.00 MiB, 8.39 Mbit/s, ETA 3s, receiver finishing, 25% on disk']);
  });

  it('the first line at 100% always goes out, later ones keep the interval (they came four a second while a slow receiver wrote)', () => {
    let now = T0;
    const e = { transfer_id: 't', bytes_total: 100, bytes_done: 50, rate_bps: 1, eta_s: 50 };
    const out = new MemStream();
    const nd = new NdjsonUi(out, { now: () => now, mono: () => now, progressIntervalMs: 1000 });
    const plainOut = new MemStream();
    const plain = new PlainUi(plainOut, { now: () => now, progressIntervalMs: 10_000 });
    for (const ui of [nd, plain]) ui.progress(e);
    now += 10;
    for (const ui of [nd, plain]) ui.progress({ ...e, bytes_done: 100, eta_s: null, receiver_finishing: true });
    for (let i = 0; i < 8; i++) {
      now += 250;
      for (const ui of [nd, plain]) ui.progress({ ...e, bytes_done: 100, eta_s: null, receiver_finishing: true });
    }
    expect(lines(out).map((l) => l['bytes_done'])).toEqual([50, 100, 100, 100]); // at +10 ms, then each second
    expect(plainOut.lines().map((l) => l.slice(0, 14))).toEqual(['progress: 50% ', 'progress: 100%']);
  });

  it('computes ETA', () => {
    expect(etaSeconds(100, 40, 20)).toBe(3);
    expect(etaSeconds(100, 40, 0)).toBeNull();
  });
});

describe('the end of a human receive', () => {
  it('counts files and bytes received, files already present, directories and failures', () => {
    const err = new WraithError('E_IO', 'x');
    expect(receiveSummary({ files: 0, bytes: 0, present: 0, dirs: 0, errors: [], interrupted: 0 })).toBe('done: nothing received');
    expect(receiveSummary({ files: 1, bytes: 1024, present: 0, dirs: 0, errors: [], interrupted: 0 })).toBe('done: 1 file, 1.00 KiB received');
    expect(receiveSummary({ files: 3, bytes: 3 << 20, present: 1, dirs: 1, errors: [err], interrupted: 0 }))
      .toBe('done: 3 files, 3.00 MiB received; 1 file already present; 1 directory; 1 failed');
    expect(receiveSummary({ files: 0, bytes: 0, present: 2, dirs: 2, errors: [err, err], interrupted: 0 }))
      .toBe('done: nothing received; 2 files already present; 2 directories; 2 failed');
    expect(receiveSummary({ files: 2, bytes: 2048, present: 0, dirs: 0, errors: [], interrupted: 1 }))
      .toBe('stopped: 2 files, 2.00 KiB received; 1 file interrupted (kept for a resume)');
  });
});

describe('the address senders use', () => {
  it('is named for a wildcard bind only', () => {
    const id = 'a'.repeat(64);
    expect(sendersHint(id, '[::]:40000')).toMatch(new RegExp(`^senders use ${id}@\\S+:40000 \\(any address of this host\\)$`));
    expect(sendersHint(id, '0.0.0.0:7')).toMatch(/@\S+:7 \(any address of this host\)$/);
    expect(sendersHint(id, '127.0.0.1:40000')).toBeNull();
    expect(sendersHint(id, '[::1]:40000')).toBeNull();
  });
});

describe('limitRepeats (human output of a send)', () => {
  it('prints the first five errors of a code in full, says once that more are counted, and counts them', () => {
    const out = new MemStream();
    const ui = limitRepeats(new PlainUi(out));
    for (let i = 0; i < 8; i++) ui.error(new WraithError('E_NO_SPACE', `f${i} does not fit`), 't');
    ui.error(new WraithError('E_PERMISSION', 'g: permission denied'), 't');
    const errs = out.lines().filter((l) => l.startsWith('error['));
    expect(errs).toEqual([0, 1, 2, 3, 4].map((i) => `error[E_NO_SPACE]: f${i} does not fit`).concat('error[E_PERMISSION]: g: permission denied'));
    expect(out.lines().filter((l) => l.startsWith('warning:'))).toEqual(['warning: more files fail with E_NO_SPACE: they are counted at the end, not shown (--json lists each)']);
    expect(ui.hidden).toBe(3);
  });
});
