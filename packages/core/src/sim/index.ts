export * from './link.js';
export * from './pair.js';
export * from './flow.js';
