/* Wiring of each vCPU's local APIC model into the VM: register access
 * (xAPIC MMIO and x2APIC MSRs), the base MSR, the timer, and IPIs. Every
 * access happens on the vCPU's own exit path, except IPI delivery into
 * another vCPU's APIC, which takes that APIC's lock. */
#include <arch/time.h>
#include <keel/apic.h>
#include <keel/heap.h>
#include <keel/lapic.h>
#include <keel/backend.h>
#include <keel/sched.h>
#include <keel/smp.h>
#include <keel/string.h>

struct apic {
	spinlock_t lock;
	struct vlapic l;
};

/* With the APIC's lock held: publish what the exit path's quick check
 * (irq_deliver) looks at. */
static void refresh_locked(struct vcpu *v, uint64_t now)
{
	v->apic_deadline = vlapic_timer_deadline(&v->apic->l, now);
	v->apic_irr = vlapic_pending_vector(&v->apic->l) >= 0;
}

int apic_create(struct vcpu *v)
{
	struct apic *a = kzalloc(sizeof(*a));

	if (!a)
		return -1;
	vlapic_reset(&a->l, v->id, v->id == 0);
	if (v->id == 0)
		vlapic_virtual_wire(&a->l); /* as a PC BIOS leaves the boot CPU */
	v->apic = a;
	refresh_locked(v, time_ns());
	return 0;
}

void apic_destroy(struct vcpu *v)
{
	kfree(v->apic);
	v->apic = NULL;
}

/* A secondary vCPU's start-up (INIT, then SIPI): real mode at the page the
 * SIPI names, as a processor leaves wait-for-SIPI. */
static void start_at_sipi(struct vcpu *t, uint8_t vector)
{
	struct vcpu_sregs s = {0};
	const struct seg data = {.sel = 0, .ar = 0x93, .limit = 0xFFFF, .base = 0};

	s.cs = (struct seg){.sel = (uint16_t)(vector << 8),
			    .ar = 0x9B,
			    .limit = 0xFFFF,
			    .base = (uint64_t)vector << 12};
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = (struct seg){.sel = 0, .ar = 0x8B, .limit = 0xFFFF};
	s.ldtr = (struct seg){.sel = 0, .ar = 0x82, .limit = 0xFFFF};
	s.gdtr.limit = 0xFFFF;
	s.idtr.limit = 0xFFFF;
	s.cr0 = 0x10; /* ET */
	s.pat = 0x0007040600070406ULL;
	backend->set_sregs(t, &s);
	memset(&t->regs, 0, sizeof(t->regs));
	t->regs.rflags = 0x2;
}

/* INIT and SIPI to a vCPU of the VM, under sched_lock. INIT puts a vCPU that
 * is not running back to waiting for SIPI; a SIPI starts one that waits. */
static void init_sipi_locked(struct vcpu *t, const struct vlapic_ipi *ipi)
{
	if (ipi->delivery == VLAPIC_DM_INIT) {
		if (t->state == VCPU_HALTED || t->state == VCPU_RUNNABLE) {
			sched_remove_locked(t);
			t->state = VCPU_WAIT_SIPI;
		}
		return;
	}
	if (t->state != VCPU_WAIT_SIPI)
		return; /* the second SIPI of the usual pair, or a running vCPU */
	start_at_sipi(t, ipi->vector);
	spin_lock(&t->apic->lock);
	vlapic_init_signal(&t->apic->l);
	refresh_locked(t, time_ns());
	spin_unlock(&t->apic->lock);
	sched_wake_locked(t);
}

/* Make a vCPU notice new work: a halted one runs again; one on another
 * physical CPU exits at once (a kick IPI) to take its interrupt. */
static void notify_locked(struct vcpu *t)
{
	if (t->state == VCPU_HALTED && t->vm->state == VM_RUNNING)
		sched_wake_locked(t);
	else if (t->state == VCPU_RUNNING && t->se.cpu >= 0 && cpus[t->se.cpu] &&
		 cpus[t->se.cpu] != this_cpu())
		cpu_kick(cpus[t->se.cpu]);
}

/* Deliver the IPIs this APIC queued to the VM's vCPUs. */
static void route_ipis(struct vcpu *src)
{
	struct vlapic_ipi ipi;
	struct vm *vm = src->vm;

	while (vlapic_take_ipi(&src->apic->l, &ipi)) {
		bool startup = ipi.delivery == VLAPIC_DM_INIT || ipi.delivery == VLAPIC_DM_STARTUP;
		if (!startup && ipi.delivery != VLAPIC_DM_FIXED && ipi.delivery != VLAPIC_DM_LOWEST)
			continue; /* NMI and SMI IPIs: not yet */
		for (unsigned i = 0; i < vm->nvcpus; i++) {
			struct vcpu *t = vm->vcpu[i];
			bool hit = ipi.shorthand == VLAPIC_SH_ALL ||
				   (ipi.shorthand == VLAPIC_SH_OTHERS && t != src) ||
				   (ipi.shorthand == VLAPIC_SH_NONE &&
				    vlapic_match_dest(&t->apic->l, ipi.dest, ipi.logical));
			if (!hit)
				continue;
			if (startup) {
				if (t == src)
					continue;
				spin_lock(&sched_lock);
				if (vm->state == VM_RUNNING)
					init_sipi_locked(t, &ipi);
				spin_unlock(&sched_lock);
				continue;
			}
			spin_lock(&t->apic->lock);
			vlapic_accept(&t->apic->l, ipi.vector, ipi.trigger_level);
			refresh_locked(t, time_ns());
			spin_unlock(&t->apic->lock);
			if (t != src) {
				spin_lock(&sched_lock);
				notify_locked(t);
				spin_unlock(&sched_lock);
			}
			if (ipi.delivery == VLAPIC_DM_LOWEST)
				break; /* one target is enough */
		}
	}
}

uint64_t apic_mmio_read(struct vcpu *v, uint64_t offset, unsigned size)
{
	struct apic *a = v->apic;
	uint64_t val;

	if (size != 4 || (offset & 3))
		return 0; /* the APIC answers aligned 32-bit accesses only */
	spin_lock(&a->lock);
	val = vlapic_read(&a->l, (uint32_t)offset, time_ns());
	spin_unlock(&a->lock);
	return val;
}

void apic_mmio_write(struct vcpu *v, uint64_t offset, unsigned size, uint64_t value)
{
	struct apic *a = v->apic;

	if (size != 4 || (offset & 3))
		return;
	spin_lock(&a->lock);
	vlapic_write(&a->l, (uint32_t)offset, (uint32_t)value, time_ns());
	refresh_locked(v, time_ns());
	spin_unlock(&a->lock);
	route_ipis(v);
}

int apic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct apic *a = v->apic;
	int rc = 0;

	spin_lock(&a->lock);
	if (msr == 0x1B)
		*val = a->l.base;
	else
		rc = vlapic_msr_read(&a->l, msr, val, time_ns());
	spin_unlock(&a->lock);
	return rc;
}

int apic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct apic *a = v->apic;
	int rc;

	spin_lock(&a->lock);
	rc = msr == 0x1B ? vlapic_set_base(&a->l, val)
			 : vlapic_msr_write(&a->l, msr, val, time_ns());
	refresh_locked(v, time_ns());
	spin_unlock(&a->lock);
	route_ipis(v);
	return rc;
}

int apic_pending(struct vcpu *v, uint64_t now)
{
	struct apic *a = v->apic;
	int vec;

	spin_lock(&a->lock);
	vlapic_timer_fire(&a->l, now);
	vec = vlapic_pending_vector(&a->l);
	refresh_locked(v, now);
	spin_unlock(&a->lock);
	return vec;
}

void apic_ack(struct vcpu *v, uint8_t vector)
{
	spin_lock(&v->apic->lock);
	vlapic_ack(&v->apic->l, vector);
	refresh_locked(v, time_ns());
	spin_unlock(&v->apic->lock);
}

bool apic_takes_extint(struct vcpu *v)
{
	bool yes;

	spin_lock(&v->apic->lock);
	yes = vlapic_lint(&v->apic->l, 0) == VLAPIC_LINT_EXTINT;
	spin_unlock(&v->apic->lock);
	return yes;
}
