/* The paravirtual clock (core/pvclock.c): the KVM clock ABI's CPUID leaves
 * and MSRs, so guests read time without exits. */
#ifndef KEEL_PVCLOCK_H
#define KEEL_PVCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define PVCLOCK_CPUID_BASE 0x40000100u /* "KVMKVMKVM", features at +1 */
#define PVCLOCK_MSR_WALL_CLOCK 0x4B564D00u
#define PVCLOCK_MSR_SYSTEM_TIME 0x4B564D01u

struct vcpu;

/* Fill OUT for the clock's CPUID leaves; false for any other leaf. */
bool pvclock_cpuid(uint32_t leaf, uint32_t out[4]);
/* The MSRs: 0, or -1 for an address outside the VM's RAM (#GP). */
int pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);
uint64_t pvclock_msr_read(const struct vcpu *v, uint32_t msr);

#endif
