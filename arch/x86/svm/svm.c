/* AMD-V backend: enables SVM on each CPU, builds a VMCB per vCPU with nested
 * paging, runs guests, and turns each #VMEXIT into a vendor-neutral vm_exit.
 * It works without NRIP save and decode assists (QEMU's SVM has neither):
 * instruction lengths come from the exit itself or from fixed lengths. */
#include <arch/nested_pt.h>
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/heap.h>
#include <keel/pmm.h>
#include <keel/string.h>
#include "svm.h"

#define CPUID_SVM_FEATURES 0x8000000A
#define SVM_FEAT_NP (1u << 0)
#define SVM_FEAT_NRIPS (1u << 3)
#define SVM_FEAT_FLUSH_ASID (1u << 6)
#define SVM_FEAT_DECODE (1u << 7)
#define SVM_FEAT_VGIF (1u << 16)
#define VM_CR_SVMDIS (1u << 4)

#define IOPM_SIZE (3 * PAGE_SIZE)
#define MSRPM_SIZE (2 * PAGE_SIZE)

struct svm_vm {
	struct npt npt;
};

static uint32_t svm_features;
static uint32_t svm_max_asid;
/* Shared by all VMs: every port and every MSR is intercepted; the policy for
 * each lives in core/, not in these maps. */
static uint8_t *iopm, *msrpm;

/* ASIDs are handed out per physical CPU; when a CPU runs out it starts a new
 * generation and flushes its whole TLB once (no flush-by-ASID needed). */
struct svm_cpu_asid {
	uint32_t next;
	uint64_t gen;
};
static struct svm_cpu_asid cpu_asid[MAX_CPUS];

/* MSRs whose guest values live in the VMCB and are swapped by VMLOAD/VMSAVE
 * around every run: the guest may access them directly. */
static const uint32_t passthrough_msrs[] = {
    MSR_STAR,
    MSR_LSTAR,
    MSR_CSTAR,
    MSR_SFMASK,
    MSR_FS_BASE,
    MSR_GS_BASE,
    MSR_KERNEL_GS_BASE,
    0x174 /* SYSENTER_CS */,
    0x175 /* SYSENTER_ESP */,
    0x176 /* SYSENTER_EIP */,
};

/* Clear the read and write intercept bits of MSR in the permission map:
 * two bits per MSR, in three 2 KiB blocks for the three MSR ranges. */
static void msrpm_allow(uint32_t msr)
{
	uint32_t block;

	if (msr < 0x2000)
		block = 0;
	else if (msr - 0xC0000000u < 0x2000)
		block = 1;
	else if (msr - 0xC0010000u < 0x2000)
		block = 2;
	else
		return;
	uint32_t bit = (msr & 0x1FFF) * 2;
	msrpm[block * 0x800 + bit / 8] &= (uint8_t) ~(3u << (bit % 8));
}

static const struct npt_format svm_npt_format = {
    .table = 0x7, /* present, writable, user (nested entries need U/S) */
    .leaf_4k = 0x7,
    .leaf_2m = 0x87,
};

const struct backend_ops *svm_probe(char *why, unsigned len)
{
	extern const struct backend_ops svm_ops;
	uint32_t a, b, c, d;
	uint64_t vm_cr;

	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < CPUID_SVM_FEATURES) {
		snprintf(why, len, "no extended CPUID leaf 0x8000000A");
		return NULL;
	}
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	if (!(c & (1u << 2))) {
		snprintf(why, len, "CPU does not support AMD-V (SVM)");
		return NULL;
	}
	if (rdmsr_safe(MSR_VM_CR, &vm_cr) && (vm_cr & VM_CR_SVMDIS)) {
		snprintf(why, len,
			 "AMD-V is disabled by firmware (VM_CR.SVMDIS): enable "
			 "SVM/virtualization in the firmware setup");
		return NULL;
	}
	cpuid(CPUID_SVM_FEATURES, 0, &a, &b, &c, &d);
	svm_features = d;
	svm_max_asid = b;
	if (!(d & SVM_FEAT_NP)) {
		snprintf(why, len, "AMD-V without nested paging is not supported");
		return NULL;
	}
	if (svm_max_asid < 2) {
		snprintf(why, len, "AMD-V reports %u ASIDs", svm_max_asid);
		return NULL;
	}
	return &svm_ops;
}

static void svm_describe(char *buf, unsigned len)
{
	snprintf(buf, len, "AMD-V: nested paging, %u ASIDs%s%s%s%s", svm_max_asid,
		 svm_features & SVM_FEAT_NRIPS ? ", NRIP save" : ", no NRIP save",
		 svm_features & SVM_FEAT_FLUSH_ASID ? ", flush-by-ASID" : "",
		 svm_features & SVM_FEAT_DECODE ? ", decode assists" : "",
		 svm_features & SVM_FEAT_VGIF ? ", VGIF" : "");
}

static int svm_cpu_enable(struct cpu *c)
{
	void *hsave = page_alloc_zeroed(0), *host_save = page_alloc_zeroed(0);

	if (!hsave || !host_save)
		return -1;
	if (!iopm) {
		/* The boot CPU runs this before the others start. */
		iopm = page_alloc_zeroed(2);
		msrpm = page_alloc_zeroed(1);
		if (!iopm || !msrpm)
			return -1;
		memset(iopm, 0xff, IOPM_SIZE);
		memset(msrpm, 0xff, MSRPM_SIZE);
		for (unsigned i = 0; i < sizeof(passthrough_msrs) / sizeof(passthrough_msrs[0]);
		     i++)
			msrpm_allow(passthrough_msrs[i]);
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	c->arch.hsave_pa = (uint64_t)hsave;
	c->arch.host_save_pa = (uint64_t)host_save;
	wrmsr(MSR_VM_HSAVE_PA, c->arch.hsave_pa);
	/* Capture this CPU's FS/GS/TR/LDTR/syscall MSRs for reloading after exits. */
	asm volatile("vmsave %%rax" : : "a"(c->arch.host_save_pa) : "memory");
	cpu_asid[c->id] = (struct svm_cpu_asid){.next = 1, .gen = 1};
	return 0;
}

static int svm_vm_init(struct vm *vm)
{
	struct svm_vm *s = kzalloc(sizeof(*s));

	if (!s)
		return -1;
	if (npt_init(&s->npt, &svm_npt_format, &npt_keel_mem)) {
		kfree(s);
		return -1;
	}
	vm->arch = s;
	return 0;
}

static void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *s = vm->arch;

	if (!s)
		return;
	npt_destroy(&s->npt);
	kfree(s);
	vm->arch = NULL;
}

static int svm_vm_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	struct svm_vm *s = vm->arch;

	return npt_map(&s->npt, gpa, hpa, size);
}

static int svm_vcpu_init(struct vcpu *v)
{
	struct svm_vcpu *s = kzalloc(sizeof(*s));
	struct svm_vm *svm_vm = v->vm->arch;
	struct vmcb *vmcb;

	if (!s)
		return -1;
	vmcb = page_alloc_zeroed(0);
	if (!vmcb) {
		kfree(s);
		return -1;
	}
	s->vmcb = vmcb;
	s->vmcb_pa = (uint64_t)vmcb;
	s->last_cpu = -1;
	vmcb->icpt_misc1 = ICPT_INTR | ICPT_NMI | ICPT_SMI | ICPT_INIT | ICPT_CPUID | ICPT_HLT |
			   ICPT_INVD | ICPT_INVLPGA | ICPT_IOIO | ICPT_MSR | ICPT_SHUTDOWN |
			   ICPT_TASKSW;
	vmcb->icpt_misc2 = ICPT_VMRUN | ICPT_VMMCALL | ICPT_VMLOAD | ICPT_VMSAVE | ICPT_STGI |
			   ICPT_CLGI | ICPT_SKINIT | ICPT_XSETBV | ICPT_MONITOR | ICPT_MWAIT;
	vmcb->iopm_pa = (uint64_t)iopm;
	vmcb->msrpm_pa = (uint64_t)msrpm;
	vmcb->int_ctl = INT_CTL_V_INTR_MASKING;
	vmcb->np_ctl = NP_ENABLE;
	vmcb->n_cr3 = svm_vm->npt.root_pa;
	vmcb->g_pat = 0x0007040600070406ULL; /* the power-on PAT */
	vmcb->dr6 = 0xffff0ff0;
	vmcb->dr7 = 0x400;
	v->arch = s;
	return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *s = v->arch;

	if (!s)
		return;
	page_free(s->vmcb, 0);
	kfree(s);
	v->arch = NULL;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct seg *s)
{
	d->sel = s->sel;
	d->attr = s->ar;
	d->limit = s->limit;
	d->base = s->base;
}

static void seg_from_vmcb(struct seg *d, const struct vmcb_seg *s)
{
	d->sel = s->sel;
	d->ar = s->attr;
	d->limit = s->limit;
	d->base = s->base;
}

static void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;

	seg_to_vmcb(&vmcb->cs, &s->cs);
	seg_to_vmcb(&vmcb->ds, &s->ds);
	seg_to_vmcb(&vmcb->es, &s->es);
	seg_to_vmcb(&vmcb->fs, &s->fs);
	seg_to_vmcb(&vmcb->gs, &s->gs);
	seg_to_vmcb(&vmcb->ss, &s->ss);
	seg_to_vmcb(&vmcb->tr, &s->tr);
	seg_to_vmcb(&vmcb->ldtr, &s->ldtr);
	seg_to_vmcb(&vmcb->gdtr, &s->gdtr);
	seg_to_vmcb(&vmcb->idtr, &s->idtr);
	vmcb->cpl = (uint8_t)((s->ss.ar >> 5) & 3);
	vmcb->cr0 = s->cr0;
	vmcb->cr2 = s->cr2;
	vmcb->cr3 = s->cr3;
	vmcb->cr4 = s->cr4;
	/* SVME must stay set in the guest's EFER for VMRUN; the guest never sees it. */
	vmcb->efer = s->efer | EFER_SVME;
	vmcb->g_pat = s->pat;
	vmcb->clean = 0;
}

static void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
	struct vmcb *vmcb = ((struct svm_vcpu *)v->arch)->vmcb;

	seg_from_vmcb(&s->cs, &vmcb->cs);
	seg_from_vmcb(&s->ds, &vmcb->ds);
	seg_from_vmcb(&s->es, &vmcb->es);
	seg_from_vmcb(&s->fs, &vmcb->fs);
	seg_from_vmcb(&s->gs, &vmcb->gs);
	seg_from_vmcb(&s->ss, &vmcb->ss);
	seg_from_vmcb(&s->tr, &vmcb->tr);
	seg_from_vmcb(&s->ldtr, &vmcb->ldtr);
	seg_from_vmcb(&s->gdtr, &vmcb->gdtr);
	seg_from_vmcb(&s->idtr, &vmcb->idtr);
	s->cr0 = vmcb->cr0;
	s->cr2 = vmcb->cr2;
	s->cr3 = vmcb->cr3;
	s->cr4 = vmcb->cr4;
	s->efer = vmcb->efer & ~EFER_SVME;
	s->pat = vmcb->g_pat;
}

static uint64_t svm_get_cr4(struct vcpu *v)
{
	return ((struct svm_vcpu *)v->arch)->vmcb->cr4;
}

/* A new ASID when the vCPU comes to a CPU it did not run on last, or when
 * that CPU has started a new generation since. */
static void svm_assign_asid(struct svm_vcpu *s, unsigned cpu)
{
	struct svm_cpu_asid *ca = &cpu_asid[cpu];

	if (s->last_cpu == (int)cpu && s->asid_gen == ca->gen) {
		s->vmcb->tlb_control = TLB_FLUSH_NONE;
		return;
	}
	if (ca->next >= svm_max_asid) {
		ca->gen++;
		ca->next = 1;
		s->vmcb->tlb_control = TLB_FLUSH_ALL;
	} else {
		s->vmcb->tlb_control = TLB_FLUSH_NONE;
	}
	s->asid = ca->next++;
	s->asid_gen = ca->gen;
	s->last_cpu = (int)cpu;
	s->vmcb->asid = s->asid;
}

/* Fixed lengths for the intercepted instructions that have one, used when
 * the CPU has no NRIP save. */
static uint8_t fixed_insn_len(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_CPUID:
	case SVM_EXIT_MSR:
	case SVM_EXIT_INVD:
		return 2;
	case SVM_EXIT_HLT:
		return 1;
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_XSETBV:
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		return 3;
	default:
		return 0;
	}
}

/* Exit code -> vendor-neutral kind + 1 for the exits that need no decoding
 * beyond that; 0 for codes handled specially or unknown. */
#define KIND(k) ((uint8_t)((k) + 1))
static const uint8_t exit_kinds[SVM_EXIT_XSETBV + 1] = {
    [SVM_EXIT_INTR] = KIND(EXIT_NONE),
    [SVM_EXIT_NMI] = KIND(EXIT_NONE),
    [SVM_EXIT_SMI] = KIND(EXIT_NONE),
    [SVM_EXIT_INIT] = KIND(EXIT_INIT),
    [SVM_EXIT_VINTR] = KIND(EXIT_INTR_WINDOW),
    [SVM_EXIT_CPUID] = KIND(EXIT_CPUID),
    [SVM_EXIT_INVD] = KIND(EXIT_SKIP),
    [SVM_EXIT_HLT] = KIND(EXIT_HLT),
    [SVM_EXIT_SHUTDOWN] = KIND(EXIT_SHUTDOWN),
    [SVM_EXIT_VMMCALL] = KIND(EXIT_HYPERCALL),
    [SVM_EXIT_XSETBV] = KIND(EXIT_XSETBV),
    /* Instructions guests may not use: not in the guest CPU model. */
    [SVM_EXIT_INVLPGA] = KIND(EXIT_UD),
    [SVM_EXIT_VMRUN] = KIND(EXIT_UD),
    [SVM_EXIT_VMLOAD] = KIND(EXIT_UD),
    [SVM_EXIT_VMSAVE] = KIND(EXIT_UD),
    [SVM_EXIT_STGI] = KIND(EXIT_UD),
    [SVM_EXIT_CLGI] = KIND(EXIT_UD),
    [SVM_EXIT_SKINIT] = KIND(EXIT_UD),
    [SVM_EXIT_MONITOR] = KIND(EXIT_UD),
    [SVM_EXIT_MWAIT] = KIND(EXIT_UD),
};

static void svm_decode_exit(struct vmcb *vmcb, struct vm_exit *e)
{
	uint64_t code = vmcb->exit_code, info = vmcb->exit_info1;

	e->insn_len = (svm_features & SVM_FEAT_NRIPS) && vmcb->next_rip > vmcb->rip
			  ? (uint8_t)(vmcb->next_rip - vmcb->rip)
			  : fixed_insn_len(code);
	if (code < sizeof(exit_kinds) && exit_kinds[code]) {
		e->kind = (enum exit_kind)(exit_kinds[code] - 1);
	} else if (code == SVM_EXIT_MSR) {
		e->kind = info ? EXIT_MSR_WRITE : EXIT_MSR_READ;
	} else if (code == SVM_EXIT_IOIO) {
		e->kind = EXIT_IO;
		e->io.port = (uint16_t)(info >> 16);
		e->io.in = info & 1;
		e->io.string = (info >> 2) & 1;
		e->io.rep = (info >> 3) & 1;
		e->io.size = (info & (1 << 4)) ? 1 : (info & (1 << 5)) ? 2 : 4;
		/* EXITINFO2 holds the next RIP with or without NRIP save. */
		e->insn_len = (uint8_t)(vmcb->exit_info2 - vmcb->rip);
	} else if (code == SVM_EXIT_NPF) {
		e->kind = EXIT_NPF;
		e->npf.gpa = vmcb->exit_info2;
		e->npf.write = (info >> 1) & 1;
		e->npf.fetch = (info >> 4) & 1;
	} else {
		e->kind = code == SVM_EXIT_INVALID ? EXIT_INVALID : EXIT_UNKNOWN;
	}
	if (e->kind == EXIT_UNKNOWN || e->kind == EXIT_INVALID || e->kind == EXIT_SHUTDOWN) {
		e->raw.code = code;
		e->raw.info1 = info;
		e->raw.info2 = vmcb->exit_info2;
	}
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = v->arch;
	struct vmcb *vmcb = s->vmcb;
	struct cpu *c = this_cpu();

	/* Keel completed the exiting instruction (RIP moved on): the STI or
	 * MOV SS shadow it was in has ended with it. */
	if (vmcb->rip != v->regs.rip)
		vmcb->int_state &= ~INT_STATE_SHADOW;
	vmcb->rax = v->regs.rax;
	vmcb->rsp = v->regs.rsp;
	vmcb->rip = v->regs.rip;
	vmcb->rflags = v->regs.rflags;
	svm_events_before_entry(s);
	svm_assign_asid(s, c->id);

	svm_enter(s->vmcb_pa, &v->regs, c->arch.host_save_pa);

	v->regs.rax = vmcb->rax;
	v->regs.rsp = vmcb->rsp;
	v->regs.rip = vmcb->rip;
	v->regs.rflags = vmcb->rflags;
	if (!svm_events_after_exit(v, s, e))
		svm_decode_exit(vmcb, e);
}

static void svm_vcpu_put(struct vcpu *v)
{
	(void)v; /* a VMCB may be run on any CPU next: nothing to do */
}

const struct backend_ops svm_ops = {
    .name = "svm",
    .describe = svm_describe,
    .cpu_enable = svm_cpu_enable,
    .vm_init = svm_vm_init,
    .vm_destroy = svm_vm_destroy,
    .vm_map = svm_vm_map,
    .vcpu_init = svm_vcpu_init,
    .vcpu_destroy = svm_vcpu_destroy,
    .set_sregs = svm_set_sregs,
    .get_sregs = svm_get_sregs,
    .get_cr4 = svm_get_cr4,
    .vcpu_run = svm_vcpu_run,
    .vcpu_put = svm_vcpu_put,
    .inject_exception = svm_inject_exception,
    .interrupt_allowed = svm_interrupt_allowed,
    .inject_interrupt = svm_inject_interrupt,
    .request_interrupt_window = svm_request_interrupt_window,
    .nmi_allowed = svm_nmi_allowed,
    .inject_nmi = svm_inject_nmi,
    .request_nmi_window = svm_request_nmi_window,
    .cancel_events = svm_cancel_events,
};
