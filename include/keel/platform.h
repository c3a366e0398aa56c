/* A VM's PC platform: 8259 PIC pair, 8254 PIT (with port 0x61) and CMOS RTC,
 * wired to the VM's interrupt lines (vdev/pc_platform.c), and the delivery
 * of their interrupts to vCPU 0 (core/irq.c). */
#ifndef KEEL_PLATFORM_H
#define KEEL_PLATFORM_H

#include <keel/vm.h>

/* A device's interrupt line IRQ (0-15) is now at LEVEL. Edge-triggered
 * devices pulse it. Safe from any CPU. */
void vm_irq_line(struct vm *vm, unsigned irq, bool level);
/* Raise the interrupts whose time has come (PIT, RTC). */
void platform_poll(struct vm *vm, uint64_t now);
/* A local APIC's EOI of a level-triggered VECTOR, for the IOAPIC. */
void platform_eoi(struct vm *vm, uint8_t vector);
/* Put a PCI function on the VM's bus 0 (before the VM runs). */
struct pci_dev_ops;
int platform_pci_add(struct vm *vm, unsigned devfn, const struct pci_dev_ops *ops, void *dev);
/* The CPU's interrupt acknowledge: the vector, or -1 if it went away. */
int platform_acknowledge(struct vm *vm);
/* core/irq.c: before each entry, inject what is pending or ask for a window.
 * The quick check is inline: most exits have nothing to deliver. */
void irq_deliver_slow(struct vcpu *v);
static inline void irq_deliver(struct vcpu *v)
{
	const struct vm *vm = v->vm;

	if (vm->irq_pending || vm->irq_deadline != UINT64_MAX || v->window_requested ||
	    v->apic_irr || v->apic_deadline != UINT64_MAX || v->nmi_pending ||
	    v->nmi_window_requested)
		irq_deliver_slow(v);
}
/* INIT: no NMI or interrupt stays on its way in, no window is asked for. */
void irq_reset(struct vcpu *v);
/* A halted vCPU has something to wake for: an NMI, or with interrupts
 * enabled (v->halted_irqs_off clear) an interrupt. */
bool irq_wakes(struct vcpu *v, uint64_t now);

/* arch: wall-clock time from the host's RTC at boot, as Unix seconds. */
uint64_t host_wallclock(void);

#endif
