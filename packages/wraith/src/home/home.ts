/**
 * The node's home directory (0700): identity.key, config.toml, admin.token, state/ (resume
 * state), run/ (daemon.json) and daemon.lock. Wraith refuses a home or key that group or others
 * can read or write, rather than silently fixing it: the owner should know it was exposed.
 */
import { mkdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { WraithError } from '@wraith/core';
import { makeDirsSync } from '../fsutil.js';

export interface Home {
  readonly dir: string;
  readonly identityFile: string;
  readonly configFile: string;
  readonly adminTokenFile: string;
  readonly stateDir: string;
  readonly runDir: string;
  readonly lockFile: string;
  readonly runInfoFile: string;
}

/** `--home DIR`, else $WRAITH_HOME, else ~/.config/wraith. */
export function resolveHomeDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (flag !== undefined && flag !== '') return resolve(cwd, flag);
  const fromEnv = env.WRAITH_HOME;
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  return join(env.HOME ?? homedir(), '.config', 'wraith');
}

export function homePaths(dir: string): Home {
  return {
    dir,
    identityFile: join(dir, 'identity.key'),
    configFile: join(dir, 'config.toml'),
    adminTokenFile: join(dir, 'admin.token'),
    stateDir: join(dir, 'state'),
    runDir: join(dir, 'run'),
    lockFile: join(dir, 'daemon.lock'),
    runInfoFile: join(dir, 'run', 'daemon.json'),
  };
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Refuses a path that group or others may read or write, or that another user owns (root may
 * own it: a root-prepared directory for a service user is normal).
 */
export async function checkPrivate(path: string, kind: 'dir' | 'file'): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new WraithError('E_NOT_FOUND', `${path} does not exist`, { path });
    }
    throw new WraithError('E_IO', `stat(${path}): ${(e as Error).message}`, { path });
  }
  if (kind === 'dir' && !st.isDirectory()) {
    throw new WraithError('E_HOME_PERMISSIONS', `${path} is not a directory`, { path }, 'pass a directory as --home');
  }
  if (kind === 'file' && !st.isFile()) {
    throw new WraithError('E_HOME_PERMISSIONS', `${path} is not a regular file`, { path }, `remove it and run \`wraith keygen\``);
  }
  const want = kind === 'dir' ? 0o700 : 0o600;
  if ((st.mode & 0o066) !== 0) {
    throw new WraithError(
      'E_HOME_PERMISSIONS',
      `${path} is accessible by group or others (mode ${octal(st.mode)})`,
      { path, mode: octal(st.mode) },
      `run: chmod ${want.toString(8)} ${path}`,
    );
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new WraithError(
      'E_HOME_PERMISSIONS',
      `${path} is owned by uid ${st.uid}, not by this user (uid ${uid})`,
      { path, owner: st.uid },
      `run: chown ${uid} ${path}, or use a home of your own with --home`,
    );
  }
}

/** Checks an existing home; E_NOT_FOUND (with a hint) if it does not exist. */
export async function openHome(dir: string): Promise<Home> {
  try {
    await checkPrivate(dir, 'dir');
  } catch (e) {
    if (e instanceof WraithError && e.code === 'E_NOT_FOUND') {
      throw new WraithError('E_NO_IDENTITY', `home ${dir} does not exist`, { path: dir },
        'run `wraith keygen` to create it, or pass the right --home');
    }
    throw e;
  }
  return homePaths(dir);
}

/** Creates the home (0700) with state/ and run/ if needed, then checks its permissions. */
export async function ensureHome(dir: string): Promise<Home> {
  const home = homePaths(dir);
  try {
    makeDirsSync(dir, 0o700);
    await mkdir(home.stateDir, { mode: 0o700 }).catch(ignoreExists);
    await mkdir(home.runDir, { mode: 0o700 }).catch(ignoreExists);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WraithError(code === 'EACCES' || code === 'EPERM' ? 'E_PERMISSION' : 'E_IO', `cannot create home ${dir}: ${(e as Error).message}`, { path: dir },
      'create it (mode 0700, owned by the user that runs wraith), or pass a writable directory with --home or WRAITH_HOME');
  }
  await checkPrivate(dir, 'dir');
  return home;
}

function ignoreExists(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
}
