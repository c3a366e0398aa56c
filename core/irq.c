/* Delivery of device interrupts to vCPUs, vendor-neutral: before each
 * entry the pending interrupt of the VM's interrupt controller is injected
 * if the guest can take it now, else the backend is asked for an exit as
 * soon as it can. Only vCPU 0 receives the 8259's interrupts (as on a PC,
 * where the PIC is wired to the boot processor's LINT0). */
#include <arch/time.h>
#include <keel/backend.h>
#include <keel/platform.h>

static void window(struct vcpu *v, bool on)
{
	if (v->window_requested != on) {
		backend->request_interrupt_window(v, on);
		v->window_requested = on;
	}
}

void irq_deliver_slow(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (!vm->platform || v->id != 0)
		return;
	if (vm->irq_deadline != UINT64_MAX)
		platform_poll(vm, time_ns());
	if (!vm->irq_pending) {
		window(v, false);
		return;
	}
	if (!backend->interrupt_allowed(v)) {
		window(v, true);
		return;
	}
	window(v, false);
	int vec = platform_acknowledge(vm);
	if (vec >= 0)
		backend->inject_interrupt(v, (uint8_t)vec);
}

bool irq_wakes(struct vcpu *v, uint64_t now)
{
	if (v->id != 0 || !v->vm->platform)
		return false;
	platform_poll(v->vm, now);
	return v->vm->irq_pending;
}
