import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportActivity, serviceNotifier, type ActivitySource } from '../src/node/service-manager.js';

function fakeLog(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  return { logger, warnings };
}

afterEach(() => vi.useRealTimers());

describe('serviceNotifier', () => {
  it('does nothing without NOTIFY_SOCKET', () => {
    const sent: string[] = [];
    const { logger, warnings } = fakeLog();
    const n = serviceNotifier({}, logger, (_a, m) => sent.push(m));
    n.ready('x');
    n.stopping();
    expect(n.active).toBe(false);
    expect(sent).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('takes the variables out of the environment so that children do not inherit them', () => {
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '7', PATH: '/bin' };
    const n = serviceNotifier(env, fakeLog().logger, () => undefined, 7);
    n.close();
    expect(env).toEqual({ PATH: '/bin' });
  });

  it('sends one datagram per state, a status on one line', () => {
    const sent: Array<[string, string]> = [];
    const n = serviceNotifier({ NOTIFY_SOCKET: '@sd' }, fakeLog().logger, (a, m) => sent.push([a, m]));
    n.ready('listening on a\nb');
    n.status('fell back to udp');
    n.reloading();
    n.stopping();
    expect(sent.map(([a]) => a)).toEqual(['@sd', '@sd', '@sd', '@sd']);
    expect(sent[0]![1]).toBe('READY=1\nSTATUS=listening on a b');
    expect(sent[1]![1]).toBe('STATUS=fell back to udp');
    expect(sent[2]![1]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=/);
    expect(sent[3]![1]).toMatch(/^STOPPING=1\n/);
  });

  it('sends a STATUS only when it changed; READY and STOPPING carry theirs', () => {
    const sent: string[] = [];
    const n = serviceNotifier({ NOTIFY_SOCKET: '/s' }, fakeLog().logger, (_a, m) => sent.push(m));
    n.ready('up');
    n.status('up');
    n.status('busy');
    n.status('busy');
    n.stopping();
    expect(sent).toEqual(['READY=1\nSTATUS=up', 'STATUS=busy', 'STOPPING=1\nSTATUS=shutting down: checkpointing transfers']);
  });

  it('feeds the watchdog at half its interval, for its own pid only, until closed', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const mine = serviceNotifier({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, fakeLog().logger, (_a, m) => sent.push(m), 42);
    vi.advanceTimersByTime(3_100);
    expect(sent).toEqual(['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']);
    mine.close();
    vi.advanceTimersByTime(5_000);
    expect(sent.length).toBe(3);

    const other = serviceNotifier({ NOTIFY_SOCKET: '/s', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '43' }, fakeLog().logger, (_a, m) => sent.push(m), 42);
    vi.advanceTimersByTime(5_000);
    expect(sent.length).toBe(3);
    other.close();
  });

  it('warns once per kind of failure, and once when the addon is missing', () => {
    const { logger, warnings } = fakeLog();
    const n = serviceNotifier({ NOTIFY_SOCKET: '/gone' }, logger, () => {
      throw Object.assign(new Error('sendto(/gone): No such file or directory'), { code: 'E_NOTIFY' });
    });
    n.ready('a');
    n.stopping();
    expect(warnings).toEqual(['could not notify the service manager']);

    const w2 = fakeLog();
    const none = serviceNotifier({ NOTIFY_SOCKET: '/s' }, w2.logger, 'native addon unavailable: disabled');
    none.ready('a');
    expect(none.active).toBe(true);
    expect(w2.warnings.length).toBe(1);
    expect(w2.warnings[0]).toMatch(/Type=simple/);
  });

  it('reports sessions, files being received and the inbound rate every interval', async () => {
    vi.useFakeTimers();
    const m = { wraith_sessions: 0, receive: 0, rx: 0 };
    const stats: ActivitySource = {
      read: async (name) => (name === 'wraith_sessions' ? m.wraith_sessions : name === 'wraith_transfers_active' ? m.receive : m.rx),
    };
    let t = 0;
    const sent: string[] = [];
    const n = serviceNotifier({ NOTIFY_SOCKET: '/s' }, fakeLog().logger, (_a, msg) => sent.push(msg));
    n.ready('listening on X (udp)');
    const stop = reportActivity(n, stats, () => 'listening on X (udp)', 5000, () => t);
    await vi.advanceTimersByTimeAsync(0); // the reading the first interval's rate starts from
    m.receive = 1;
    m.rx = 5_000_000;
    t = 5000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.at(-1)).toBe('STATUS=listening on X (udp); 0 sessions, receiving 1 file at 8.00 Mbit/s');
    m.wraith_sessions = 1;
    m.receive = 2;
    m.rx = 15_000_000;
    t = 10_000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.at(-1)).toBe('STATUS=listening on X (udp); 1 session, receiving 2 files at 16.0 Mbit/s');
    const count = sent.length;
    t = 15_000;
    m.rx = 25_000_000;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.length).toBe(count); // the same line: not sent again
    stop();
    m.wraith_sessions = 3;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sent.length).toBe(count);
  });

  it('reports nothing without a service manager', async () => {
    vi.useFakeTimers();
    const read = vi.fn(async () => 0);
    const stop = reportActivity(serviceNotifier({}, fakeLog().logger, () => undefined), { read }, () => 'x', 5000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(read).not.toHaveBeenCalled();
    stop();
  });
});
