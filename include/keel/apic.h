/* The virtual local APIC of each vCPU (model: vdev/lapic.c), wired to the
 * VM: MMIO at 0xFEE00000 through the instruction emulator, the APIC MSRs,
 * its timer, and IPIs between the VM's vCPUs (core/apic.c). */
#ifndef KEEL_APIC_H
#define KEEL_APIC_H

#include <keel/vm.h>

#define APIC_MMIO_BASE 0xFEE00000ULL
#define APIC_MMIO_SIZE 0x1000ULL
#define MSR_TSC_DEADLINE 0x6E0

int apic_create(struct vcpu *v); /* reset state; the boot vCPU in virtual-wire mode */
void apic_destroy(struct vcpu *v);
/* MMIO by offset in the APIC page (from core/mmio.c). */
uint64_t apic_mmio_read(struct vcpu *v, uint64_t offset, unsigned size);
void apic_mmio_write(struct vcpu *v, uint64_t offset, unsigned size, uint64_t value);
/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs; 0, or -1 for #GP. */
int apic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int apic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);
/* Timer expiry, then the highest deliverable vector (-1 if none). */
int apic_pending(struct vcpu *v, uint64_t now);
/* The CPU took VECTOR: IRR -> ISR. */
void apic_ack(struct vcpu *v, uint8_t vector);
/* An interrupt message from the IOAPIC (or an MSI): fixed, lowest
 * priority, NMI or INIT to the vCPUs whose APICs match DEST (8 bits,
 * 0xFF broadcast). With or without sched_lock held. */
void apic_deliver_msg(struct vm *vm, uint32_t dest, uint8_t vector, uint8_t delivery, bool logical,
		      bool level);
/* A message-signalled interrupt (MSI or MSI-X) a device model raises:
 * false if ADDR/DATA is no interrupt (include/keel/msi.h). */
bool apic_deliver_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* Carry out an INIT that came while V was on a CPU (v->init_pending), now
 * that it is off it; under sched_lock. */
void apic_init_locked(struct vcpu *v);
/* Should the 8259's INT reach this vCPU (LINT0 in ExtINT mode, or APIC off)? */
bool apic_takes_extint(struct vcpu *v);

#endif
