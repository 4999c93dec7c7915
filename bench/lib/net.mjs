// A TCP port on `host` that nothing listens on right now (the kernel picks it), for a peer tool
// the benchmarks start.
import { createServer } from 'node:net';

export function freeTcpPort(host) {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}
