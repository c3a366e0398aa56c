/* State shared by the files of the VT-x backend (vmx.c: probe, enable, run,
 * exit decoding; vmx_state.c: guest registers, CR emulation, injection).
 * Private to arch/x86/vmx. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <keel/vm.h>
#include "vmcs.h"

#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR4_VMXE (1ULL << 13)
#define CR4_SMXE (1ULL << 14)

/* What the CPU offers, read once on the boot CPU by vmx_probe. */
struct vmx_caps {
	uint64_t basic, ept_vpid;
	uint32_t pin, proc, proc2, exit, entry; /* entry: without IA-32e mode guest */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	/* CR bits Keel owns (guest/host masks): writes to them exit and are
	 * emulated; the guest reads its own values from the read shadows. */
	uint64_t cr0_mask, cr4_mask;
	bool true_ctls, vpid, pat_in_vmcs;
	bool nmi_window; /* virtual NMIs with NMI-window exiting */
	unsigned nguest_msrs, nhost_msrs; /* entries in the MSR areas */
};
extern struct vmx_caps vmx_caps;

/* Guest MSRs the VMCS does not switch: loaded on entry, stored on exit
 * (one area serves both). PAT joins them when the CPU cannot switch it
 * through the VMCS; then the host's PAT is reloaded on exit. */
enum { GMSR_STAR, GMSR_LSTAR, GMSR_CSTAR, GMSR_SFMASK, GMSR_KERNEL_GS_BASE, GMSR_PAT };
#define HOST_MSR_AREA 128 /* index of the host area in the MSR page */

struct vmx_vcpu {
	uint64_t vmcs_pa;
	struct vmx_msr_entry *msrs; /* one page: guest area, then the host area */
	int cpu; /* CPU whose VMCS cache holds this VMCS (active), -1 if cleared */
	int last_cpu; /* CPU it last ran on: TLB tags are flushed on a move */
	bool launched;
	uint16_t vpid; /* 0: none */
	uint64_t cr0_shadow, cr4_shadow; /* the guest's values of the bits Keel owns */
	uint64_t cr2, cr8; /* not in the VMCS */
	uint64_t exit_rip; /* guest RIP at the last exit */
	uint64_t eptp;
};

/* vmx.c: make the vCPU's VMCS current on this CPU for reading or writing
 * its fields. Returns true for a temporary load (the vCPU is not running
 * here) that vmcs_release must undo; false if it is this CPU's running vCPU. */
bool vmcs_acquire(struct vmx_vcpu *x);
void vmcs_release(struct vmx_vcpu *x, bool temporary);
/* vmx.c: make the VMCS of the vCPU about to run on C current there. */
struct cpu;
void vmcs_load(struct vmx_vcpu *x, struct cpu *c);
void vmx_flush_guest_tlb(struct vmx_vcpu *x);

/* vmx_run.c */
void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e);

/* vmx_state.c */
void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s);
void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s);
uint64_t vmx_get_cr4(struct vcpu *v);
void vmx_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
bool vmx_interrupt_allowed(struct vcpu *v);
void vmx_inject_interrupt(struct vcpu *v, uint8_t vector);
void vmx_request_interrupt_window(struct vcpu *v, bool on);
bool vmx_nmi_allowed(struct vcpu *v);
void vmx_inject_nmi(struct vcpu *v);
void vmx_request_nmi_window(struct vcpu *v, bool on);
void vmx_cancel_events(struct vcpu *v);
/* A CR-access exit: emulate the access (or inject #GP) with the VMCS
 * current, advancing the guest's RIP past it. */
void vmx_cr_access(struct vcpu *v, uint64_t qual, uint8_t insn_len);

/* Neutral (SVM-style) segment attributes to VMX access rights and back. */
static inline uint32_t ar_to_vmx(uint16_t ar)
{
	return ar ? (ar & 0xffu) | ((ar & 0xf00u) << 4) : AR_UNUSABLE;
}

static inline uint16_t ar_from_vmx(uint32_t ar)
{
	return (ar & AR_UNUSABLE) ? 0 : (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}

#endif
