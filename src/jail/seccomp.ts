/**
 * The jail's seccomp profile (pure). Default allow plus a deny list, like Docker's profile
 * turned inside out: cellblock jails run ordinary servers, so everything an ordinary
 * server does stays allowed, and what is left out is the kernel's administration surface and
 * the known routes out of a namespace. Denied calls fail with EPERM (clone3: ENOSYS).
 *
 * Most of these also need a capability the jail does not have; the filter is the second
 * wall, and it also closes calls that need no capability at all (unshare of a user
 * namespace, userfaultfd, perf_event_open, io_uring, keyctl, personality flags).
 *
 * Names unknown to the host's libseccomp are skipped by runc, so listing newer calls is safe.
 */

export type SeccompArch = 'x86_64' | 'aarch64';

export type SeccompOp = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg { index: number; value: number; valueTwo?: number; op: SeccompOp }

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO';
  errnoRet: number;
  args?: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW';
  architectures: string[];
  syscalls: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Native arch first, then the compat arches whose syscalls must be filtered too. */
const ARCHES: Record<SeccompArch, string[]> = {
  x86_64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  aarch64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** Denied outright, grouped by why. */
export const DENIED_SYSCALLS: readonly string[] = [
  // filesystems and mounts: the jail's mount table is fixed by runc
  'mount', 'umount', 'umount2', 'pivot_root', 'chroot', 'mount_setattr',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree',
  // namespaces: unshare(CLONE_NEWUSER) needs no privilege and is the usual first step of an escape
  'unshare', 'setns',
  // kernel code and the machine
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'reboot', 'swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd', 'syslog', 'iopl', 'ioperm', 'uselib',
  // time is the host's
  'settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64',
  // other processes' memory
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
  // handles that bypass path checks (the "shocker" escape)
  'open_by_handle_at', 'name_to_handle_at', 'lookup_dcookie', 'fanotify_init',
  // kernel attack surface of little use to servers in jails
  'bpf', 'perf_event_open', 'userfaultfd', 'keyctl', 'add_key', 'request_key',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
];

/** clone() flags that create namespaces; each gets its own rule (one comparison per rule). */
export const CLONE_NAMESPACE_FLAGS: Readonly<Record<string, number>> = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
};

/**
 * personality(): PER_LINUX (0), PER_LINUX32 (8) and UNAME26 (0x20000) stay allowed; anything
 * larger sets flags such as ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC that weaken exploits'
 * obstacles. A default-allow profile cannot except one value from a range (runc drops rules
 * whose action is the default, and libseccomp cannot compare one argument twice in one rule),
 * so the query form personality(0xffffffff) is denied too; servers do not use it.
 */
export const PERSONALITY_MAX_ALLOWED = 0x20000;

const AF_PACKET = 17;

export function buildSeccompProfile(arch: SeccompArch): SeccompProfile {
  const deny = (names: string[], args?: SeccompArg[], errnoRet = EPERM): SeccompRule =>
    args ? { names, action: 'SCMP_ACT_ERRNO', errnoRet, args } : { names, action: 'SCMP_ACT_ERRNO', errnoRet };
  // clone's flags are argument 0 on x86_64 and aarch64 (s390x would differ: not supported)
  const cloneRules = Object.values(CLONE_NAMESPACE_FLAGS).map((flag) =>
    deny(['clone'], [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }]));
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [...ARCHES[arch]],
    syscalls: [
      deny([...DENIED_SYSCALLS]),
      ...cloneRules,
      // clone3 passes its flags in a struct that seccomp cannot read: ENOSYS makes glibc fall back to clone
      deny(['clone3'], undefined, ENOSYS),
      deny(['personality'], [{ index: 0, value: PERSONALITY_MAX_ALLOWED, op: 'SCMP_CMP_GT' }]),
      // raw link-layer sockets (spoofing on the bridge); CAP_NET_RAW is dropped too
      deny(['socket'], [{ index: 0, value: AF_PACKET, op: 'SCMP_CMP_EQ' }]),
    ],
  };
}
