export { RttEstimator } from './rtt.js';
export { AckTracker, type AckTrackerOptions, type AckToSend } from './ack-tracker.js';
export { LossRecovery, type LossRecoveryOptions, type AckResult, type TimeoutResult } from './loss.js';
export * from './constants.js';
// The session builds its controller next to its loss recovery.
export { createController, type CongestionController, type ControllerKind, type ControllerOptions } from '../congestion/controller.js';
