export * from './controller.js';
export * from './constants.js';
export { DeliveryRateSampler } from './delivery-rate.js';
export { WindowedFilter } from './windowed-filter.js';
export { Pacer, type PacerOptions } from './pacer.js';
export { Cubic } from './cubic.js';
export { NewReno } from './new-reno.js';
export { Bbr } from './bbr/bbr.js';
export type { BbrMode, ProbeBwPhase } from './bbr/state.js';
