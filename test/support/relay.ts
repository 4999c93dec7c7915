/**
 * The impairment relay for TypeScript tests. The implementation is plain
 * JavaScript (relay.mjs, typed by relay.d.mts) so that relay-cli.mjs can run
 * it with node and no build step.
 */
export * from './relay.mjs';
