import { runTransportCompliance } from '../../src/transport-compliance.js';
import { createMemoryTransport, MemoryNetwork } from '../../src/transport-memory.js';

runTransportCompliance('memory', async () => {
  const network = new MemoryNetwork();
  const a = createMemoryTransport({ network });
  const b = createMemoryTransport({ network });
  return {
    a,
    b,
    tick: async () => {
      network.deliver();
    },
    close: async () => {
      await Promise.all([a.close(), b.close()]);
    },
  };
});
