/* AMD-V backend, private: the per-vCPU state shared by the run loop
 * (svm.c) and event injection (svm_events.c). */
#ifndef KEEL_SVM_H
#define KEEL_SVM_H

#include <keel/backend.h>
#include "vmcb.h"

struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_pa;
	uint32_t asid;
	uint64_t asid_gen;
	int last_cpu;
	/* NMI blocking, which the VMCB does not hold: set when an NMI is
	 * injected, cleared once the guest has executed the IRET that ends
	 * its handler (intercepted; done when RIP has moved past it). */
	bool nmi_masked, awaiting_iret;
	uint64_t iret_rip;
	/* The virtual interrupt line (V_IRQ), which serves two purposes: an
	 * external interrupt handed over with its vector that the guest has
	 * not taken yet (virq_pending), or else a request for an exit as soon
	 * as the guest can take one (window_wanted, through the VINTR
	 * intercept). virq_armed: V_IRQ was set on the last entry;
	 * virq_due: with the guest able to take it there (IF set, no event
	 * injected), at entry_rip. */
	bool virq_pending, window_wanted, virq_armed, virq_due;
	uint64_t entry_rip;
};

/* svm_events.c, with the tests that spare most entries and exits the call
 * (measured: docs/performance.md). */
void svm_events_before_entry_slow(struct svm_vcpu *s);
bool svm_events_after_exit_slow(struct vcpu *v, struct vm_exit *e);

/* Called with the VMCB's RIP and shadow up to date for this entry. V_IRQ
 * has nothing to do unless it holds an interrupt, a window is wanted or the
 * last entry armed it. */
static inline void svm_events_before_entry(struct svm_vcpu *s)
{
	if (s->virq_pending || s->window_wanted || s->virq_armed)
		svm_events_before_entry_slow(s);
}

/* Bookkeeping after an exit. True when the exit was the backend's own
 * business (E is then EXIT_NONE); false when it is for svm_decode_exit.
 * Most exits: no interrupt held in V_IRQ, no NMI handler running (the IRET
 * intercept is set only then), no event delivery cut short. */
static inline bool svm_events_after_exit(struct vcpu *v, struct svm_vcpu *s, struct vm_exit *e)
{
	if (!s->virq_pending && !s->nmi_masked && !(s->vmcb->exit_int_info & EVENT_VALID)) {
		s->vmcb->event_inj = 0;
		return false;
	}
	return svm_events_after_exit_slow(v, e);
}
void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
bool svm_interrupt_allowed(struct vcpu *v);
void svm_inject_interrupt(struct vcpu *v, uint8_t vector);
void svm_request_interrupt_window(struct vcpu *v, bool on);
bool svm_nmi_allowed(struct vcpu *v);
void svm_inject_nmi(struct vcpu *v);
void svm_request_nmi_window(struct vcpu *v, bool on);
void svm_cancel_events(struct vcpu *v);

#endif
