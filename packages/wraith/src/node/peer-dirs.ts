/**
 * [receive] peer_dirs: each sender's files go below a directory of its own, so that on a node
 * many senders share, one cannot replace (on_conflict = "overwrite") or take the names of
 * another's files. The directory is the sender's [peers.NAME] name, else its peer id; names
 * follow the config as it is reloaded.
 */
import type { ResolvedConfig } from '../config/schema.js';
import { nameRefusal } from '../store/names.js';
import { namesById } from '../peer.js';

const PEER_ID = /^[0-9a-f]{64}$/;

export class PeerDirs {
  private on = false;
  /** peer id -> the name its files go under. */
  private names = new Map<string, string>();

  constructor(config: ResolvedConfig) {
    this.update(config);
  }

  update(config: ResolvedConfig): void {
    this.on = config.receive.peer_dirs;
    // "." and ".." are valid entry names but not directories; a name that is another peer's id
    // would share that peer's directory.
    this.names = namesById(config.peers, (name, id) => nameRefusal(name) === null && !(PEER_ID.test(name.toLowerCase()) && name.toLowerCase() !== id));
  }

  /** Where a name offered by `peerId` is stored, relative to the download directory. */
  place(peerId: string, name: string): string {
    return this.on ? `${this.names.get(peerId) ?? peerId}/${name}` : name;
  }
}
