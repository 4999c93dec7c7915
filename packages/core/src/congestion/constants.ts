/** RFC 9002 §7.2 kInitialWindow: 10 datagrams (we count packets × mtu). */
export const INITIAL_WINDOW_PACKETS = 10;
/** RFC 9002 §7.2 kMinimumWindow: 2 datagrams (loss-based controllers). */
export const MINIMUM_WINDOW_PACKETS = 2;
/** RFC 9002 §7.3.3 / §B.2 kLossReductionFactor for NewReno. */
export const NEWRENO_LOSS_REDUCTION = 0.5;
