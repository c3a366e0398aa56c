/* The one interface between vendor-neutral Keel and a virtualization
 * backend (arch/x86/svm for AMD-V, arch/x86/vmx for Intel VT-x). Chosen at
 * boot by what the CPU has; nothing outside arch/ sees a VMCB or a VMCS. */
#ifndef KEEL_BACKEND_H
#define KEEL_BACKEND_H

#include <keel/vm.h>

struct cpu;

struct backend_ops {
	const char *name;
	/* Describe the CPU's virtualization features on one log line. */
	void (*describe)(char *buf, unsigned len);
	int (*cpu_enable)(struct cpu *c); /* on every CPU, on that CPU */
	int (*vm_init)(struct vm *vm); /* nested page tables */
	void (*vm_destroy)(struct vm *vm);
	/* Map guest-physical [gpa, gpa+size) to host-physical hpa, RWX. */
	int (*vm_map)(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size);
	int (*vcpu_init)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);
	void (*set_sregs)(struct vcpu *v, const struct vcpu_sregs *s);
	void (*get_sregs)(struct vcpu *v, struct vcpu_sregs *s);
	uint64_t (*get_cr4)(struct vcpu *v); /* cheap: CPUID needs it on every exit */
	/* Enter the guest until the next exit, which is described in *exit.
	 * Called with interrupts disabled; physical interrupts that end the
	 * run have been handled by the host when it returns. */
	void (*vcpu_run)(struct vcpu *v, struct vm_exit *exit);
	/* The vCPU leaves this CPU (end of a time slice, on the CPU that ran
	 * it): its next run may be on another CPU. VMX clears the VMCS here. */
	void (*vcpu_put)(struct vcpu *v);
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
	/* External interrupts: may one be injected now (IF set, no interrupt
	 * shadow, no event already queued)? Inject one; or ask for an
	 * EXIT_INTR_WINDOW as soon as the guest can take one. */
	bool (*interrupt_allowed)(struct vcpu *v);
	void (*inject_interrupt)(struct vcpu *v, uint8_t vector);
	void (*request_interrupt_window)(struct vcpu *v, bool on);
	/* NMIs likewise: allowed unless the guest is still handling one (NMIs
	 * stay blocked until its IRET), is in a MOV SS/STI shadow or has an
	 * event queued. The window exit comes when that changes, reported as
	 * EXIT_INTR_WINDOW (or, where the CPU cannot say, at the next exit). */
	bool (*nmi_allowed)(struct vcpu *v);
	void (*inject_nmi)(struct vcpu *v);
	void (*request_nmi_window)(struct vcpu *v, bool on);
	/* INIT: drop whatever event is on its way into the guest, both
	 * windows and NMI blocking, as a CPU's INIT does. */
	void (*cancel_events)(struct vcpu *v);
};

extern const struct backend_ops *backend;

/* Each backend: NULL if this CPU cannot run it, with the reason in WHY. */
const struct backend_ops *svm_probe(char *why, unsigned len);
const struct backend_ops *vmx_probe(char *why, unsigned len);

#endif
