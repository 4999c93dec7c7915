/** What `wraith doctor` reports: one Check per named prerequisite. */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

export interface Check {
  /** Stable snake_case name (CHECK_NAMES). */
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found, in words; for `skipped`, the prerequisite that is missing. */
  readonly found: string;
  /** What to change, when something should change. */
  readonly remedy?: string;
  /** The registry code a start would fail with (E_XDP_UNAVAILABLE, E_ADDR_IN_USE, ...). */
  readonly code?: string;
  /** Raw command output and file contents behind the finding (--debug only). */
  readonly debug?: string;
}

export type DoctorTransport = 'auto' | 'udp' | 'xdp';

/** Every check, in report order. */
export const CHECK_NAMES = [
  'kernel_version',
  'kernel_config',
  'bpf_jit',
  'unprivileged_bpf',
  'capabilities',
  'memlock',
  'open_files',
  'huge_pages',
  'af_xdp_socket',
  'interface',
  'interface_driver',
  'interface_queues',
  'interface_numa',
  'xdp_attached',
  'zero_copy',
  'io_uring',
  'native_addon',
  'virtualization',
  'security_modules',
  'udp_port',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

/** The checks whose failure stops the AF_XDP transport. */
export const XDP_REQUIRED: readonly CheckName[] = [
  'kernel_version',
  'kernel_config',
  'capabilities',
  'memlock',
  'af_xdp_socket',
  'interface',
  'interface_driver',
  'interface_queues',
  'xdp_attached',
  'native_addon',
];
