/* Keel's hypercall interface (VMMCALL / VMCALL): function number in RAX,
 * arguments in RBX and RCX, result in RAX. Documented in docs/guest-abi.md. */
#ifndef KEEL_HYPERCALL_H
#define KEEL_HYPERCALL_H

#include <keel/vm.h>

#define HC_VERSION 0 /* returns KEEL_HC_ABI_VERSION */
#define HC_EXIT 1 /* ends the VM with status RBX */
#define KEEL_HC_ABI_VERSION 1
#define HC_ENOSYS (-38)

int64_t hypercall(struct vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1);

#endif
