/* Powering the host off: on operator request, or when configured to once
 * every VM has stopped (so test runs end by themselves). */
#include <arch/acpi.h>
#include <arch/x86.h>
#include <keel/console.h>
#include <keel/power.h>
#include <keel/sched.h>

bool power_off_when_idle;
bool power_boot_done; /* every autostart VM has been started */
volatile bool power_shutting_down;

void power_check_idle(void)
{
	bool busy = false;

	if (!power_off_when_idle || !power_boot_done)
		return;
	sched_lock_take();
	for (unsigned i = 0; i < MAX_VMS; i++)
		if (vms[i] && vms[i]->state != VM_STOPPED)
			busy = true;
	sched_lock_drop();
	/* Two CPUs may finish the last two VMs at once: announce it once. */
	static int announced;
	if (!busy && !__atomic_exchange_n(&announced, 1, __ATOMIC_SEQ_CST)) {
		klog("all VMs have stopped");
		power_off();
	}
}

void power_off(void)
{
	static int once;

	if (__atomic_exchange_n(&once, 1, __ATOMIC_SEQ_CST))
		for (;;) {
			irq_disable();
			halt();
		}
	klog("powering off");
	acpi_poweroff();
	klog("ACPI power-off did not work on this machine; halting all CPUs instead");
	for (;;) {
		irq_disable();
		halt();
	}
}
