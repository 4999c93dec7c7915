export * from './link.js';
export * from './pair.js';
