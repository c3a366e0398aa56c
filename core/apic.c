/* Wiring of each vCPU's local APIC model into the VM: register access
 * (xAPIC MMIO and x2APIC MSRs), the base MSR, the timer, and IPIs. Every
 * access happens on the vCPU's own exit path, except IPI delivery into
 * another vCPU's APIC, which takes that APIC's lock. */
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/apic.h>
#include <keel/heap.h>
#include <keel/lapic.h>
#include <keel/msi.h>
#include <keel/platform.h>
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
 * SIPI names, as a processor leaves wait-for-SIPI; then it is scheduled.
 * Under sched_lock. */
static void start_at_sipi_locked(struct vcpu *t, uint8_t vector)
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
	sched_wake_locked(t);
}

/* Make a vCPU notice new work: a halted one runs again (if the work can
 * end its halt: an NMI, or an interrupt with IF set); one on another
 * physical CPU exits at once (a kick IPI) to take it. */
static void notify_locked(struct vcpu *t)
{
	if (t->state == VCPU_HALTED && t->vm->state == VM_RUNNING &&
	    (t->nmi_pending || !t->halted_irqs_off))
		sched_wake_locked(t);
	else if (t->state == VCPU_RUNNING && t->se.cpu >= 0 && cpus[t->se.cpu] &&
		 cpus[t->se.cpu] != this_cpu())
		cpu_kick(cpus[t->se.cpu]);
}

/* INIT, on a vCPU on no physical CPU: it waits for a SIPI, its local APIC
 * reset (ID and base kept) and no event left on its way in: an NMI or
 * interrupt queued before the INIT must not hit the code the SIPI starts. */
static void init_now_locked(struct vcpu *t)
{
	t->init_pending = false;
	sched_remove_locked(t);
	t->state = VCPU_WAIT_SIPI;
	irq_reset(t);
	spin_lock(&t->apic->lock);
	vlapic_init_signal(&t->apic->l);
	refresh_locked(t, time_ns());
	spin_unlock(&t->apic->lock);
}

/* From after_slice(), which has dealt with a stopping VM first: V has just
 * left its CPU running or halted. */
void apic_init_locked(struct vcpu *v)
{
	uint16_t sipi = v->sipi_after_init;

	v->sipi_after_init = 0;
	init_now_locked(v);
	if (sipi)
		start_at_sipi_locked(v, (uint8_t)sipi);
}

/* INIT and SIPI to a vCPU of the VM, under sched_lock. INIT stops the vCPU
 * wherever it is, to wait for a SIPI: at once if it is on no CPU, else as
 * soon as its CPU (kicked) takes it off. A SIPI starts a vCPU that waits,
 * or one whose INIT is still to be carried out, right after it: how soon
 * Keel gets a vCPU off its CPU is not the guest's business. */
static void init_sipi_locked(struct vcpu *t, const struct vlapic_ipi *ipi)
{
	if (ipi->delivery == VLAPIC_DM_INIT) {
		if (t->on_cpu_since) {
			t->init_pending = true;
			t->sipi_after_init = 0;
			notify_locked(t);
		} else if (t->state == VCPU_HALTED || t->state == VCPU_RUNNABLE) {
			init_now_locked(t);
		}
		return;
	}
	if (t->init_pending) {
		t->sipi_after_init = 0x100 | ipi->vector;
		return;
	}
	if (t->state != VCPU_WAIT_SIPI)
		return; /* the second SIPI of the usual pair, or a running vCPU */
	start_at_sipi_locked(t, ipi->vector);
}

/* Deliver one interrupt message (an IPI from SRC, or from the IOAPIC with
 * SRC NULL) to the vCPUs it names. */
static void deliver(struct vm *vm, struct vcpu *src, const struct vlapic_ipi *ipi)
{
	bool sched_held = sched_lock_mine(); /* the shell's console input, the tick's wake-ups */

	bool startup = ipi->delivery == VLAPIC_DM_INIT || ipi->delivery == VLAPIC_DM_STARTUP;
	bool nmi = ipi->delivery == VLAPIC_DM_NMI;

	if (!startup && !nmi && ipi->delivery != VLAPIC_DM_FIXED &&
	    ipi->delivery != VLAPIC_DM_LOWEST)
		return; /* SMI: there is no SMM in a Keel VM; ExtINT comes by LINT0 */
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *t = vm->vcpu[i];
		/* Under the target's lock: an INIT being carried out on another
		 * CPU resets its APIC, and a SIPI right behind the INIT must not
		 * see it half reset (no ID, hardware-disabled) and miss it. */
		spin_lock(&t->apic->lock);
		/* Messages from the IOAPIC carry 8-bit destinations: their
		 * broadcast reaches x2APIC-mode vCPUs too. */
		uint32_t dest = !src && ipi->dest == 0xFF && vlapic_x2apic(&t->apic->l)
				    ? 0xFFFFFFFFu
				    : ipi->dest;
		bool hit = ipi->shorthand == VLAPIC_SH_ALL ||
			   (ipi->shorthand == VLAPIC_SH_OTHERS && t != src) ||
			   (ipi->shorthand == VLAPIC_SH_NONE &&
			    vlapic_match_dest(&t->apic->l, dest, ipi->logical));
		spin_unlock(&t->apic->lock);
		if (!hit)
			continue;
		if (startup || nmi) {
			if (startup && t == src)
				continue;
			if (!sched_held)
				sched_lock_take();
			if (nmi && t->state == VCPU_WAIT_SIPI) {
				/* a CPU waiting for its SIPI takes no NMI */
			} else if (nmi) {
				/* NMIs do not queue: one pending is all a CPU keeps. */
				t->nmi_pending = true;
				if (t != src)
					notify_locked(t);
			} else if (vm->state == VM_RUNNING) {
				init_sipi_locked(t, ipi);
			}
			if (!sched_held)
				sched_lock_drop();
			continue;
		}
		spin_lock(&t->apic->lock);
		vlapic_accept(&t->apic->l, ipi->vector, ipi->trigger_level);
		refresh_locked(t, time_ns());
		spin_unlock(&t->apic->lock);
		if (t != src) {
			if (!sched_held)
				sched_lock_take();
			notify_locked(t);
			if (!sched_held)
				sched_lock_drop();
		}
		if (ipi->delivery == VLAPIC_DM_LOWEST)
			break; /* one target is enough */
	}
}

void apic_deliver_msg(struct vm *vm, uint32_t dest, uint8_t vector, uint8_t delivery, bool logical,
		      bool level)
{
	const struct vlapic_ipi ipi = {
	    .dest = dest,
	    .vector = vector,
	    .delivery = delivery,
	    .logical = logical,
	    .shorthand = VLAPIC_SH_NONE,
	    .level = 1,
	    .trigger_level = level,
	};

	deliver(vm, NULL, &ipi);
}

bool apic_deliver_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct msi_x86 m;

	if (!msi_decode(addr, data, &m))
		return false;
	apic_deliver_msg(vm, m.dest, m.vector,
			 m.redir_hint && m.delivery == VLAPIC_DM_FIXED ? VLAPIC_DM_LOWEST
								       : m.delivery,
			 m.logical, m.trigger_level);
	return true;
}

/* After a register write: send the IPIs it queued, and tell the IOAPIC
 * about EOIs of level-triggered vectors. */
static void after_write(struct vcpu *src)
{
	struct vlapic_ipi ipi;
	int vec;

	while (vlapic_take_ipi(&src->apic->l, &ipi))
		deliver(src->vm, src, &ipi);
	for (;;) {
		spin_lock(&src->apic->lock);
		vec = vlapic_take_eoi(&src->apic->l);
		spin_unlock(&src->apic->lock);
		if (vec < 0)
			break;
		platform_eoi(src->vm, (uint8_t)vec);
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
	after_write(v);
}

int apic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct apic *a = v->apic;
	int rc = 0;

	spin_lock(&a->lock);
	if (msr == MSR_APIC_BASE)
		*val = a->l.base;
	else if (msr == MSR_TSC_DEADLINE)
		*val = vlapic_tsc_deadline(&a->l) ? ns_to_tsc(vlapic_tsc_deadline(&a->l)) : 0;
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
	if (msr == MSR_APIC_BASE) {
		rc = vlapic_set_base(&a->l, val);
	} else if (msr == MSR_TSC_DEADLINE) {
		/* The guest's TSC is the host's: the deadline is a host TSC value.
		 * A deadline that converts to 0 ns would read as disarmed. */
		uint64_t ns = val ? tsc_to_ns(val) : 0;
		vlapic_set_tsc_deadline(&a->l, val && !ns ? 1 : ns, time_ns());
		rc = 0;
	} else {
		rc = vlapic_msr_write(&a->l, msr, val, time_ns());
	}
	refresh_locked(v, time_ns());
	spin_unlock(&a->lock);
	after_write(v);
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
