/* Delivery of device interrupts to vCPUs, vendor-neutral: before each
 * entry the pending interrupt of the VM's interrupt controller is injected
 * if the guest can take it now, else the backend is asked for an exit as
 * soon as it can. Only vCPU 0 receives the 8259's interrupts (as on a PC,
 * where the PIC is wired to the boot processor's LINT0). */
#include <arch/time.h>
#include <keel/apic.h>
#include <keel/backend.h>
#include <keel/platform.h>

static void window(struct vcpu *v, bool on)
{
	if (v->window_requested != on) {
		backend->request_interrupt_window(v, on);
		v->window_requested = on;
	}
}

static void nmi_window(struct vcpu *v, bool on)
{
	if (v->nmi_window_requested != on) {
		backend->request_nmi_window(v, on);
		v->nmi_window_requested = on;
	}
}

/* An NMI goes first; the interrupt logic below then finds the event slot
 * taken and asks for a window instead. */
static void deliver_nmi(struct vcpu *v)
{
	if (!v->nmi_pending) {
		nmi_window(v, false);
		return;
	}
	if (!backend->nmi_allowed(v)) {
		nmi_window(v, true);
		return;
	}
	nmi_window(v, false);
	v->nmi_pending = false;
	backend->inject_nmi(v);
}

void irq_deliver_slow(struct vcpu *v)
{
	struct vm *vm = v->vm;
	uint64_t now = time_ns();
	bool from_pic = false;
	int vec = -1;

	deliver_nmi(v);
	if (vm->irq_deadline != UINT64_MAX)
		platform_poll(vm, now);
	if (v->apic)
		vec = apic_pending(v, now);
	/* The 8259 reaches the boot vCPU through LINT0 in ExtINT mode (or
	 * directly while its APIC is off), as on a PC in virtual-wire mode. */
	if (vec < 0 && v->id == 0 && vm->irq_pending && (!v->apic || apic_takes_extint(v)))
		from_pic = true;
	if (vec < 0 && !from_pic) {
		window(v, false);
		return;
	}
	if (!backend->interrupt_allowed(v)) {
		window(v, true);
		return;
	}
	window(v, false);
	if (from_pic)
		vec = platform_acknowledge(vm);
	else
		apic_ack(v, (uint8_t)vec);
	if (vec >= 0)
		backend->inject_interrupt(v, (uint8_t)vec);
}

void irq_reset(struct vcpu *v)
{
	v->nmi_pending = false;
	v->window_requested = v->nmi_window_requested = false;
	backend->cancel_events(v); /* its windows too */
}

bool irq_wakes(struct vcpu *v, uint64_t now)
{
	if (v->nmi_pending)
		return true;
	if (v->halted_irqs_off)
		return false;
	platform_poll(v->vm, now);
	if (v->apic && apic_pending(v, now) >= 0)
		return true;
	return v->id == 0 && v->vm->irq_pending && (!v->apic || apic_takes_extint(v));
}
