/* AMD-V event injection: exceptions and NMIs go in through EVENTINJ,
 * external interrupts through the virtual interrupt line (V_IRQ with the
 * vector), interrupt windows through V_IRQ with the VINTR intercept; an
 * event whose delivery an exit cut short goes in again.
 *
 * Why V_IRQ and not EVENTINJ for external interrupts: both are
 * architectural, and with V_IRQ the guest takes the interrupt at the first
 * instruction boundary where it can, as it would a real one. But QEMU 7.2's
 * TCG delivers an EVENTINJ interrupt twice: its VMRUN delivers it and
 * leaves it as the CPU's pending exception, taken again, with IF clear, the
 * next time the CPU loop is asked to stop (nested handlers, a user GS base
 * in the kernel, stack-guard Oopses and triple faults in Linux guests).
 *
 * And why V_IRQ is never armed in an STI or MOV SS shadow: QEMU 7.2's VMRUN
 * does not restore the shadow from the VMCB. A guest that exited between
 * STI and HLT would take the interrupt before the HLT, return to it and
 * sleep with nothing left to wake it. A shadow covers one instruction;
 * V_IRQ is armed again on the entry after the next exit (an intercepted
 * HLT at once; anything else by the end of the time slice at the latest).
 *
 * And why a CPU may be switched to EVENTINJ after all: a virtual interrupt
 * the guest could take at entry must be taken before its first
 * instruction. Bochs 2.7 looks for one only when the guest's IF goes from
 * 0 to 1, so a guest busy with IF set would never see it (no timer ticks
 * for a CPU-bound process). When an exit finds a deliverable V_IRQ not
 * taken although the guest has run, Keel says so once and from then on
 * injects external interrupts the guest can take through EVENTINJ, the
 * way every AMD-V CPU takes them at once. */
#include <arch/x86.h>
#include <keel/console.h>
#include "svm.h"

/* Set, for good, once a CPU has been seen not to take a deliverable V_IRQ. */
static bool virq_lazy;

#define VIRQ_BITS (INT_CTL_V_IRQ | INT_CTL_V_INTR_PRIO | INT_CTL_V_IGN_TPR)

/* The guest is in an STI or MOV SS shadow: the exit saw one, and the
 * instruction it covers has not been completed by Keel since. */
static bool in_shadow(const struct vcpu *v, const struct vmcb *vmcb)
{
	return (vmcb->int_state & INT_STATE_SHADOW) && v->regs.rip == vmcb->rip;
}

/* The guest could take an external interrupt at the VMCB's RIP: IF set,
 * no STI or MOV SS shadow, no event already going in. */
static bool open_to_interrupts(const struct vmcb *vmcb)
{
	return (vmcb->rflags & RFLAGS_IF) && !(vmcb->int_state & INT_STATE_SHADOW) &&
	       !(vmcb->event_inj & EVENT_VALID);
}

/* svm_events_before_entry (svm.h) when V_IRQ has work. */
void svm_events_before_entry_slow(struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;

	vmcb->int_ctl &= ~VIRQ_BITS;
	vmcb->icpt_misc1 &= ~ICPT_VINTR;
	s->virq_armed =
	    (s->virq_pending || s->window_wanted) && !(vmcb->int_state & INT_STATE_SHADOW);
	s->virq_due = s->virq_armed && s->virq_pending && open_to_interrupts(vmcb);
	s->entry_rip = vmcb->rip;
	if (!s->virq_armed)
		return;
	vmcb->int_ctl |= VIRQ_BITS;
	if (!s->virq_pending)
		vmcb->icpt_misc1 |= ICPT_VINTR;
}

/* A HLT with an enabled interrupt still pending: the guest reached STI;
 * HLT before taking it (the shadow covers the HLT). The HLT ends at once,
 * on that interrupt, which must come before the instruction after it; not
 * every CPU model looks for a virtual interrupt before the first
 * instruction after VMRUN, so it goes in through EVENTINJ, as a software
 * interrupt. HLT runs at CPL 0, where INTn and an external interrupt
 * through the same gate are delivered alike; and unlike the interrupt type
 * it is delivered once under QEMU 7.2. With NRIP save its return address
 * is NextRIP. */
static void hlt_takes_pending_interrupt(struct vcpu *v, struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;

	v->regs.rip += 1;
	s->virq_pending = false;
	vmcb->next_rip = v->regs.rip;
	vmcb->event_inj = vmcb->int_vector | EVENT_TYPE_SOFT_INT | EVENT_VALID;
}

/* svm_events_after_exit (svm.h) when an interrupt is held, an NMI handler
 * runs or an event's delivery was cut short. */
bool svm_events_after_exit_slow(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb *vmcb = s->vmcb;
	const uint64_t cut_short = vmcb->exit_int_info;

	/* The CPU clears V_IRQ as the guest takes the interrupt. */
	if (s->virq_armed && s->virq_pending && !(vmcb->int_ctl & INT_CTL_V_IRQ))
		s->virq_pending = false;
	if (s->virq_due && s->virq_pending && vmcb->rip != s->entry_rip && !virq_lazy) {
		virq_lazy = true;
		klog("AMD-V: this CPU did not take a virtual interrupt the guest could take; "
		     "external interrupts now go in through EVENTINJ");
	}
	vmcb->event_inj = 0;
	if ((cut_short & EVENT_VALID) && (cut_short & EVENT_TYPE_MASK) == EVENT_TYPE_INTR) {
		svm_inject_interrupt(v, (uint8_t)cut_short);
	} else if (cut_short & EVENT_VALID) {
		vmcb->event_inj = cut_short;
		if ((cut_short & EVENT_TYPE_MASK) == EVENT_TYPE_SOFT_INT)
			vmcb->next_rip = vmcb->rip; /* it returns where it was going */
	}
	if (s->awaiting_iret && vmcb->rip != s->iret_rip)
		s->nmi_masked = s->awaiting_iret = false;
	/* On a CPU that takes V_IRQ late, what it still holds goes in through
	 * EVENTINJ as soon as the guest can take it. */
	if (virq_lazy && s->virq_pending && open_to_interrupts(vmcb)) {
		s->virq_pending = false;
		vmcb->event_inj = vmcb->int_vector | EVENT_TYPE_INTR | EVENT_VALID;
	}

	e->insn_len = 0;
	/* (The shadow HLT sits in is over once it is skipped.) */
	if (vmcb->exit_code == SVM_EXIT_HLT && s->virq_pending && vmcb->cpl == 0 &&
	    (vmcb->rflags & RFLAGS_IF) && !(vmcb->event_inj & EVENT_VALID)) {
		hlt_takes_pending_interrupt(v, s);
		e->kind = EXIT_NONE;
		return true;
	}
	if (vmcb->exit_code == SVM_EXIT_IRET) {
		/* The NMI handler returns: NMIs are unblocked once this IRET
		 * has completed, which the next exit will see. */
		vmcb->icpt_misc1 &= ~ICPT_IRET;
		s->awaiting_iret = true;
		s->iret_rip = vmcb->rip;
		e->kind = EXIT_NONE;
		return true;
	}
	return false;
}

void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;

	vmcb->event_inj = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID |
			  (has_error ? EVENT_ERR_VALID | ((uint64_t)error << 32) : 0);
}

bool svm_interrupt_allowed(struct vcpu *v)
{
	const struct svm_vcpu *s = v->arch;
	const struct vmcb *vmcb = s->vmcb;

	return (v->regs.rflags & RFLAGS_IF) && !in_shadow(v, vmcb) &&
	       !(vmcb->event_inj & EVENT_VALID) && !s->virq_pending;
}

void svm_inject_interrupt(struct vcpu *v, uint8_t vector)
{
	struct svm_vcpu *s = v->arch;

	if (virq_lazy) {
		s->vmcb->event_inj = vector | EVENT_TYPE_INTR | EVENT_VALID;
		return;
	}
	s->vmcb->int_vector = vector;
	s->virq_pending = true;
}

/* Served by V_IRQ once no injected interrupt holds it: the VINTR intercept
 * fires exactly when the guest becomes able to take an interrupt. */
void svm_request_interrupt_window(struct vcpu *v, bool on)
{
	((struct svm_vcpu *)v->arch)->window_wanted = on;
}

bool svm_nmi_allowed(struct vcpu *v)
{
	const struct svm_vcpu *s = v->arch;

	return !s->nmi_masked && !in_shadow(v, s->vmcb) && !(s->vmcb->event_inj & EVENT_VALID);
}

void svm_inject_nmi(struct vcpu *v)
{
	struct svm_vcpu *s = v->arch;

	s->vmcb->event_inj = 2 | EVENT_TYPE_NMI | EVENT_VALID;
	s->nmi_masked = true;
	s->awaiting_iret = false;
	s->vmcb->icpt_misc1 |= ICPT_IRET;
}

void svm_cancel_events(struct vcpu *v)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb *vmcb = s->vmcb;

	vmcb->event_inj = 0;
	vmcb->int_ctl &= ~VIRQ_BITS;
	vmcb->int_state = 0;
	vmcb->icpt_misc1 &= ~(ICPT_VINTR | ICPT_IRET);
	s->virq_pending = s->window_wanted = s->virq_armed = s->virq_due = false;
	s->nmi_masked = s->awaiting_iret = false;
}

/* While the handler runs, its IRET is intercepted (set at injection); after
 * that the unblocking is seen at the next exit, whatever it is: SVM has no
 * exit for "NMIs are unblocked now". A shadow or a queued event clears
 * by the next exit too. */
void svm_request_nmi_window(struct vcpu *v, bool on)
{
	(void)v;
	(void)on;
}
