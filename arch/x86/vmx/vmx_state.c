/* Guest register state for the VT-x backend: segments, control registers,
 * EFER and PAT, exception injection, and the CR accesses that exit.
 *
 * CR0 and CR4 bits VMX requires (CR0.NE, CR4.VMXE, ...) are owned by Keel
 * through the guest/host masks: the real registers keep them, and the guest
 * reads its own values from the read shadows. A guest write that changes
 * an owned bit exits and is emulated here; core only ever sees the
 * guest-visible values and an EXIT_NONE. */
#include <arch/x86.h>
#include <keel/backend.h>
#include <stddef.h>
#include "vmx.h"

_Static_assert(sizeof(struct vcpu_regs) == 18 * sizeof(uint64_t), "vcpu_regs layout");

/* The eight segment registers of struct vcpu_sregs in VMCS field order. */
static const size_t seg_offset[8] = {
    [SEG_ES] = offsetof(struct vcpu_sregs, es),     [SEG_CS] = offsetof(struct vcpu_sregs, cs),
    [SEG_SS] = offsetof(struct vcpu_sregs, ss),     [SEG_DS] = offsetof(struct vcpu_sregs, ds),
    [SEG_FS] = offsetof(struct vcpu_sregs, fs),     [SEG_GS] = offsetof(struct vcpu_sregs, gs),
    [SEG_LDTR] = offsetof(struct vcpu_sregs, ldtr), [SEG_TR] = offsetof(struct vcpu_sregs, tr),
};

static uint64_t cr0_visible(const struct vmx_vcpu *x)
{
	uint64_t mask = vmx_caps.cr0_mask;
	return (vmread(GUEST_CR0) & ~mask) | (x->cr0_shadow & mask);
}

static uint64_t cr4_visible(const struct vmx_vcpu *x)
{
	uint64_t mask = vmx_caps.cr4_mask;
	return (vmread(GUEST_CR4) & ~mask) | (x->cr4_shadow & mask);
}

static void guest_write_cr0(struct vmx_vcpu *x, uint64_t val)
{
	uint64_t forced = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);

	vmwrite(GUEST_CR0, (val | forced) & vmx_caps.cr0_fixed1);
	vmwrite(VMCS_CR0_SHADOW, val);
	x->cr0_shadow = val;
}

static void guest_write_cr4(struct vmx_vcpu *x, uint64_t val)
{
	vmwrite(GUEST_CR4, (val | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	vmwrite(VMCS_CR4_SHADOW, val);
	x->cr4_shadow = val;
}

/* EFER, and the IA-32e mode guest entry control that must match its LMA
 * (the CPU updates that control itself on every exit). */
static void guest_write_efer(uint64_t efer)
{
	uint32_t entry = (uint32_t)vmread(VMCS_ENTRY_CTLS);
	uint32_t want = efer & EFER_LMA ? entry | ENTRY_IA32E : entry & ~ENTRY_IA32E;

	vmwrite(GUEST_EFER, efer);
	if (want != entry)
		vmwrite(VMCS_ENTRY_CTLS, want);
}

static bool pae_paging(void)
{
	return (vmread(GUEST_CR0) & CR0_PG) && (vmread(GUEST_CR4) & CR4_PAE) &&
	       !(vmread(GUEST_EFER) & EFER_LMA);
}

/* PAE paging outside long mode: with EPT, VM entry takes the four PDPTEs
 * from the VMCS. A real MOV to CR0/CR3/CR4 would have read them from the
 * table CR3 points at; when Keel carries out such a change, so does it. */
static void load_pdptes(struct vcpu *v)
{
	uint64_t pdpte[4] = {0, 0, 0, 0};

	if (copy_from_guest(v->vm, pdpte, vmread(GUEST_CR3) & ~0x1fULL, sizeof(pdpte)))
		pdpte[0] = pdpte[1] = pdpte[2] = pdpte[3] = 0;
	for (unsigned i = 0; i < 4; i++)
		vmwrite(GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	bool was_pae = pae_paging();
	uint64_t old_cr3 = vmread(GUEST_CR3);

	for (unsigned i = 0; i < 8; i++) {
		const struct seg *g = (const struct seg *)((const char *)s + seg_offset[i]);
		vmwrite(GUEST_ES_SEL + 2 * i, g->sel);
		vmwrite(GUEST_ES_LIMIT + 2 * i, g->limit);
		vmwrite(GUEST_ES_AR + 2 * i, ar_to_vmx(g->ar));
		vmwrite(GUEST_ES_BASE + 2 * i, g->base);
	}
	vmwrite(GUEST_ES_LIMIT + 2 * SEG_GDTR, s->gdtr.limit);
	vmwrite(GUEST_ES_BASE + 2 * SEG_GDTR, s->gdtr.base);
	vmwrite(GUEST_ES_LIMIT + 2 * SEG_IDTR, s->idtr.limit);
	vmwrite(GUEST_ES_BASE + 2 * SEG_IDTR, s->idtr.base);
	guest_write_cr0(x, s->cr0);
	guest_write_cr4(x, s->cr4);
	vmwrite(GUEST_CR3, s->cr3);
	x->cr2 = s->cr2;
	guest_write_efer(s->efer);
	if (vmx_caps.pat_in_vmcs)
		vmwrite(GUEST_PAT, s->pat);
	else
		x->msrs[GMSR_PAT].value = s->pat;
	if (pae_paging() && (!was_pae || s->cr3 != old_cr3))
		load_pdptes(v);
	vmcs_release(x, temporary);
}

void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);

	for (unsigned i = 0; i < 8; i++) {
		struct seg *g = (struct seg *)((char *)s + seg_offset[i]);
		g->sel = (uint16_t)vmread(GUEST_ES_SEL + 2 * i);
		g->limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * i);
		g->ar = ar_from_vmx((uint32_t)vmread(GUEST_ES_AR + 2 * i));
		g->base = vmread(GUEST_ES_BASE + 2 * i);
	}
	s->gdtr = (struct seg){.limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * SEG_GDTR),
			       .base = vmread(GUEST_ES_BASE + 2 * SEG_GDTR)};
	s->idtr = (struct seg){.limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * SEG_IDTR),
			       .base = vmread(GUEST_ES_BASE + 2 * SEG_IDTR)};
	s->cr0 = cr0_visible(x);
	s->cr2 = x->cr2;
	s->cr3 = vmread(GUEST_CR3);
	s->cr4 = cr4_visible(x);
	s->efer = vmread(GUEST_EFER);
	s->pat = vmx_caps.pat_in_vmcs ? vmread(GUEST_PAT) : x->msrs[GMSR_PAT].value;
	vmcs_release(x, temporary);
}

uint64_t vmx_get_cr4(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	uint64_t cr4 = cr4_visible(x);

	vmcs_release(x, temporary);
	return cr4;
}

void vmx_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	uint32_t info = vector | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID;

	/* With unrestricted guest, real mode delivers no error code. */
	if (has_error && (vmread(GUEST_CR0) & CR0_PE)) {
		info |= INTR_INFO_ERROR_VALID;
		vmwrite(VMCS_ENTRY_EXC_ERROR, error);
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, info);
	vmcs_release(x, temporary);
}

/* An external interrupt can be injected when the guest has IF set, is in no
 * STI or MOV SS shadow (the one the last exit saw ends once the guest's RIP
 * has moved past that instruction) and has no event queued already. */
bool vmx_interrupt_allowed(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x), ok = false;

	if (v->regs.rflags & RFLAGS_IF) {
		uint64_t shadow = vmread(GUEST_INTERRUPTIBILITY) &
				  (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
		ok = (!shadow || v->regs.rip != x->exit_rip) &&
		     !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
	}
	vmcs_release(x, temporary);
	return ok;
}

void vmx_inject_interrupt(struct vcpu *v, uint8_t vector)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);

	vmwrite(VMCS_ENTRY_INTR_INFO, vector | INTR_TYPE_EXT_INTR | INTR_INFO_VALID);
	vmcs_release(x, temporary);
}

/* Interrupt-window exiting: an exit before any instruction the guest runs
 * with IF set and no interrupt shadow. */
void vmx_request_interrupt_window(struct vcpu *v, bool on)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	uint64_t proc = vmread(VMCS_PROC_CTLS);

	vmwrite(VMCS_PROC_CTLS,
		on ? proc | PROC_INTR_WINDOW_EXITING : proc & ~(uint64_t)PROC_INTR_WINDOW_EXITING);
	vmcs_release(x, temporary);
}

/* An NMI can be injected unless the guest still handles one (blocking by
 * NMI lasts until its IRET), is in a STI or MOV SS shadow, or has an event
 * queued. */
bool vmx_nmi_allowed(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);
	uint64_t shadow = intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
	bool ok = !(intr & INTERRUPTIBILITY_NMI) && (!shadow || v->regs.rip != x->exit_rip) &&
		  !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);

	vmcs_release(x, temporary);
	return ok;
}

void vmx_inject_nmi(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);

	vmwrite(VMCS_ENTRY_INTR_INFO, 2 | INTR_TYPE_NMI | INTR_INFO_VALID);
	vmcs_release(x, temporary);
}

/* NMI-window exiting where the CPU has it; else the next exit looks again. */
void vmx_request_nmi_window(struct vcpu *v, bool on)
{
	struct vmx_vcpu *x = v->arch;

	if (!vmx_caps.nmi_window)
		return;
	bool temporary = vmcs_acquire(x);
	uint64_t proc = vmread(VMCS_PROC_CTLS);

	vmwrite(VMCS_PROC_CTLS,
		on ? proc | PROC_NMI_WINDOW_EXITING : proc & ~(uint64_t)PROC_NMI_WINDOW_EXITING);
	vmcs_release(x, temporary);
}

void vmx_cancel_events(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;
	bool temporary = vmcs_acquire(x);
	uint64_t proc = vmread(VMCS_PROC_CTLS);

	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(GUEST_INTERRUPTIBILITY, 0); /* shadows and NMI blocking */
	vmwrite(VMCS_PROC_CTLS,
		proc & ~(uint64_t)(PROC_INTR_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING));
	vmcs_release(x, temporary);
}

/* After an emulated change of CR0, CR3 or CR4: what the real instruction
 * would have done to the PDPTEs and the guest's TLB entries. */
static void paging_changed(struct vcpu *v)
{
	if (pae_paging())
		load_pdptes(v);
	vmx_flush_guest_tlb(v->arch);
}

static bool set_cr0(struct vcpu *v, uint64_t val)
{
	struct vmx_vcpu *x = v->arch;
	uint64_t old = cr0_visible(x), efer = vmread(GUEST_EFER);

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return false;
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		if (!(cr4_visible(x) & CR4_PAE))
			return false;
		guest_write_efer(efer | EFER_LMA);
	} else if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
		guest_write_efer(efer & ~EFER_LMA);
	}
	guest_write_cr0(x, val);
	paging_changed(v);
	return true;
}

static bool set_cr4(struct vcpu *v, uint64_t val)
{
	struct vmx_vcpu *x = v->arch;

	if (val & (~vmx_caps.cr4_fixed1 | CR4_VMXE | CR4_SMXE))
		return false;
	if ((vmread(GUEST_EFER) & EFER_LMA) && !(val & CR4_PAE))
		return false;
	guest_write_cr4(x, val);
	paging_changed(v);
	return true;
}

static bool set_cr3(struct vcpu *v, uint64_t val)
{
	if (cr4_visible(v->arch) & (1ULL << 17)) /* PCIDE: bit 63 asks for no flush */
		val &= ~(1ULL << 63);
	vmwrite(GUEST_CR3, val);
	paging_changed(v);
	return true;
}

/* The guest's general register number N as the exit qualification numbers them. */
static uint64_t *gpr(struct vcpu *v, unsigned n)
{
	static const uint8_t slot[16] = {0, 2, 3, 1, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
	return (uint64_t *)&v->regs + slot[n & 15];
}

void vmx_cr_access(struct vcpu *v, uint64_t qual, uint8_t insn_len)
{
	struct vmx_vcpu *x = v->arch;
	unsigned cr = qual & 15, type = (qual >> 4) & 3;
	uint64_t *reg = gpr(v, (unsigned)(qual >> 8));
	bool ok = true, wide = (vmread(GUEST_EFER) & EFER_LMA) &&
			       (vmread(GUEST_ES_AR + 2 * SEG_CS) & (1u << 13));
	uint64_t val = wide ? *reg : (uint32_t)*reg, old;

	switch (type) {
	case 0: /* MOV to CR */
		if (cr == 0)
			ok = set_cr0(v, val);
		else if (cr == 3)
			ok = set_cr3(v, val);
		else if (cr == 4)
			ok = set_cr4(v, val);
		else if (cr == 8 && !(val & ~0xfULL))
			x->cr8 = val; /* no virtual local APIC yet: the TPR is just kept */
		else
			ok = false;
		break;
	case 1: /* MOV from CR: only CR3 and CR8 can exit */
		*reg = cr == 3 ? vmread(GUEST_CR3) : x->cr8;
		break;
	case 2: /* CLTS */
		ok = set_cr0(v, cr0_visible(x) & ~CR0_TS);
		break;
	default: /* LMSW: sets PE, MP, EM, TS; cannot clear PE */
		old = cr0_visible(x);
		ok = set_cr0(v, (old & ~0xeULL) | ((qual >> 16) & 0xf));
		break;
	}
	if (ok)
		v->regs.rip += insn_len;
	else
		vmx_inject_exception(v, 13, true, 0);
}
