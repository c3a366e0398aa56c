#ifndef KEEL_EXIT_H
#define KEEL_EXIT_H

#include <keel/vm.h>

/* Handle one exit of V (core/exit.c): a table from exit kind to handler. */
void exit_dispatch(struct vcpu *v, const struct vm_exit *e);
const char *exit_kind_name(enum exit_kind k);

/* Guest CPU model and MSR policy (core/cpuid.c, core/msr.c); docs/cpu-model.md. */
void cpuid_policy_init(void);
void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t out[4]);
/* 0 on success; -1 means the guest gets #GP. */
int msr_guest_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int msr_guest_write(struct vcpu *v, uint32_t msr, uint64_t val);

#define VEC_UD 6
#define VEC_GP_GUEST 13

#endif
