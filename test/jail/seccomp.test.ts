import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSeccompProfile, CLONE_NAMESPACE_FLAGS, DENIED_SYSCALLS } from '../../src/jail/seccomp.js';

test('default allow, deny-list with EPERM, per-arch architectures', () => {
  const p = buildSeccompProfile('x86_64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(buildSeccompProfile('aarch64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  const plain = p.syscalls.find((r) => !r.args && r.names.includes('mount'))!;
  assert.equal(plain.action, 'SCMP_ACT_ERRNO');
  assert.equal(plain.errnoRet, 1);
});

test('the escape and kernel-administration calls are all denied', () => {
  const denied = new Set(buildSeccompProfile('x86_64').syscalls.filter((r) => !r.args && r.errnoRet === 1).flatMap((r) => r.names));
  for (const s of [
    'mount', 'umount2', 'pivot_root', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'bpf',
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'keyctl', 'add_key', 'request_key', 'unshare', 'setns',
    'open_by_handle_at', 'name_to_handle_at', 'perf_event_open', 'acct', 'swapon', 'swapoff', 'reboot', 'settimeofday',
    'clock_settime', 'syslog', 'userfaultfd', 'iopl', 'ioperm', 'quotactl', 'lookup_dcookie', 'fanotify_init',
    'mount_setattr', 'fsopen', 'fsmount', 'move_mount', 'open_tree',
  ]) assert.ok(denied.has(s), s);
  assert.equal(new Set(DENIED_SYSCALLS).size, DENIED_SYSCALLS.length, 'no duplicates');
  for (const s of ['read', 'write', 'clone', 'socket', 'personality', 'execve', 'bind', 'connect']) assert.ok(!denied.has(s), `${s} stays allowed (or filtered by argument)`);
});

test('clone with any namespace flag is denied, one masked rule per flag; clone3 gets ENOSYS', () => {
  const p = buildSeccompProfile('x86_64');
  const clone = p.syscalls.filter((r) => r.names.includes('clone'));
  assert.deepEqual(clone.map((r) => r.args), Object.values(CLONE_NAMESPACE_FLAGS).map((f) => [{ index: 0, value: f, valueTwo: f, op: 'SCMP_CMP_MASKED_EQ' }]));
  assert.ok(clone.some((r) => r.args![0]!.value === 0x10000000), 'CLONE_NEWUSER');
  assert.deepEqual(p.syscalls.find((r) => r.names.includes('clone3')), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
});

test('personality flags above UNAME26 and AF_PACKET sockets are denied by argument', () => {
  const p = buildSeccompProfile('x86_64');
  assert.deepEqual(p.syscalls.find((r) => r.names.includes('personality'))!.args, [{ index: 0, value: 0x20000, op: 'SCMP_CMP_GT' }]);
  assert.deepEqual(p.syscalls.find((r) => r.names.includes('socket'))!.args, [{ index: 0, value: 17, op: 'SCMP_CMP_EQ' }]);
});

test('no rule compares one argument twice (libseccomp would mis-handle it)', () => {
  for (const r of buildSeccompProfile('x86_64').syscalls) {
    const idx = (r.args ?? []).map((a) => a.index);
    assert.equal(new Set(idx).size, idx.length, r.names.join(','));
  }
});
