/* Intel VT-x backend: probes and enables VMX on each CPU, builds a VMCS per
 * vCPU with EPT and unrestricted guest, runs guests, and turns each VM exit
 * into a vendor-neutral vm_exit. Every control field is computed from the
 * capability MSRs (the TRUE_* ones where they exist); nothing is assumed.
 *
 * A VMCS is active on at most one CPU: vcpu_run loads it (VMPTRLD) on the
 * CPU that runs the vCPU and vcpu_put clears it (VMCLEAR) at the end of the
 * slice, so the next slice may run anywhere, starting with VMLAUNCH. */
#include <arch/nested_pt.h>
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include <keel/heap.h>
#include <keel/panic.h>
#include <keel/pmm.h>
#include <keel/sched.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include "vmx.h"

_Static_assert(__builtin_offsetof(struct vcpu_regs, rdi) == 40, "vmx_entry.S offsets");
_Static_assert(__builtin_offsetof(struct vcpu_regs, r15) == 120, "vmx_entry.S offsets");

struct vmx_caps vmx_caps;

struct vmx_vm {
	struct npt npt;
	uint64_t eptp;
};

/* Per physical CPU: the VMXON region and the VMCS that is current there. */
struct vmx_cpu {
	uint64_t vmxon_pa;
	uint64_t current; /* physical address of the current VMCS, 0 if none */
};
static struct vmx_cpu vmx_cpu[MAX_CPUS];

/* Shared by all VMs: every MSR is intercepted except those the VMCS or the
 * MSR areas switch. Every port exits (unconditional I/O exiting). */
static uint8_t *msr_bitmap;
static const uint32_t passthrough_msrs[] = {
    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,         MSR_LSTAR,
    MSR_CSTAR,   MSR_SFMASK,  MSR_SYSENTER_CS,    MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
};
static const uint32_t area_msrs[] = {
    [GMSR_STAR] = MSR_STAR,
    [GMSR_LSTAR] = MSR_LSTAR,
    [GMSR_CSTAR] = MSR_CSTAR,
    [GMSR_SFMASK] = MSR_SFMASK,
    [GMSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
    [GMSR_PAT] = MSR_PAT,
};

/* VPIDs are unique among live vCPUs; TLB entries a freed VPID left on
 * some CPU are flushed when its next owner arrives there (a move). */
#define VPID_COUNT 65536
static uint64_t vpid_used[VPID_COUNT / 64];
static spinlock_t vpid_lock = SPINLOCK_INIT;

static const struct npt_format ept_format = {
    .table = EPT_RWX,
    .leaf_4k = EPT_RWX | EPT_MEMTYPE_WB,
    .leaf_2m = EPT_RWX | EPT_MEMTYPE_WB | EPT_LARGE,
};

#define REFUSE(...) (snprintf(why, len, __VA_ARGS__), (const struct backend_ops *)NULL)

static uint32_t ctls(uint32_t msr, uint32_t true_msr, uint32_t want, uint32_t need,
		     uint32_t *missing)
{
	return vmx_adjust_ctls(rdmsr(vmx_caps.true_ctls ? true_msr : msr), want, need, missing);
}

/* Lock IA32_FEATURE_CONTROL with VMX enabled if firmware left it unlocked;
 * false if firmware locked it with VMX off. */
static bool feature_control_ok(void)
{
	uint64_t fc;

	if (!rdmsr_safe(MSR_FEATURE_CONTROL, &fc))
		return false;
	if (fc & FEATURE_CONTROL_LOCK)
		return fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX;
	wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
	return true;
}

const struct backend_ops *vmx_probe(char *why, unsigned len)
{
	extern const struct backend_ops vmx_ops;
	struct vmx_caps *c = &vmx_caps;
	uint32_t a, b, ecx, d, miss;

	cpuid(1, 0, &a, &b, &ecx, &d);
	if (!(ecx & (1u << 5)))
		return REFUSE("CPU does not support Intel VT-x (VMX)");
	if (!feature_control_ok())
		return REFUSE("VT-x is disabled by firmware: enable it in the firmware setup");
	c->basic = rdmsr(MSR_VMX_BASIC);
	if (VMX_BASIC_SIZE(c->basic) > PAGE_SIZE || VMX_BASIC_MEMTYPE(c->basic) != 6)
		return REFUSE("VT-x wants an unsupported VMCS size or memory type");
	if (c->basic & VMX_BASIC_32BIT_PA)
		return REFUSE("VT-x limited to 32-bit physical addresses is not supported");
	c->true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;

	c->pin = ctls(MSR_VMX_PINBASED_CTLS, MSR_VMX_TRUE_PINBASED_CTLS,
		      PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_PREEMPT_TIMER | PIN_VIRTUAL_NMIS,
		      PIN_EXTINT_EXITING | PIN_NMI_EXITING, &miss);
	if (miss)
		return REFUSE("VT-x without external-interrupt or NMI exiting");
	uint32_t need = PROC_HLT_EXITING | PROC_UNCOND_IO_EXITING | PROC_USE_MSR_BITMAPS |
			PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_SECONDARY;
	c->proc = ctls(MSR_VMX_PROCBASED_CTLS, MSR_VMX_TRUE_PROCBASED_CTLS,
		       need | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING, need, &miss);
	if (miss & PROC_SECONDARY)
		return REFUSE("VT-x without secondary controls (so without EPT) is not supported");
	if (miss)
		return REFUSE("VT-x without HLT, I/O, CR8 exiting or MSR bitmaps (%#x)", miss);
	uint64_t proc_cap =
	    rdmsr(c->true_ctls ? MSR_VMX_TRUE_PROCBASED_CTLS : MSR_VMX_PROCBASED_CTLS);
	if (!((proc_cap >> 32) & PROC_INTR_WINDOW_EXITING))
		return REFUSE("VT-x without interrupt-window exiting is not supported");
	/* Without virtual NMIs (rare) an NMI still blocks NMIs in the guest
	 * until its IRET; Keel then looks again at every exit. */
	c->nmi_window = (c->pin & PIN_VIRTUAL_NMIS) && ((proc_cap >> 32) & PROC_NMI_WINDOW_EXITING);
	c->proc2 = vmx_adjust_ctls(rdmsr(MSR_VMX_PROCBASED_CTLS2),
				   PROC2_EPT | PROC2_UNRESTRICTED | PROC2_VPID | PROC2_RDTSCP |
				       PROC2_INVPCID | PROC2_XSAVES,
				   PROC2_EPT | PROC2_UNRESTRICTED, &miss);
	if (miss & PROC2_EPT)
		return REFUSE("VT-x without EPT is not supported");
	if (miss)
		return REFUSE("VT-x without unrestricted guest is not supported");
	c->exit =
	    ctls(MSR_VMX_EXIT_CTLS, MSR_VMX_TRUE_EXIT_CTLS,
		 EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
		 EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER, &miss);
	if (miss)
		return REFUSE("VT-x without 64-bit host or IA32_EFER switching is not supported");
	c->entry = ctls(MSR_VMX_ENTRY_CTLS, MSR_VMX_TRUE_ENTRY_CTLS,
			ENTRY_IA32E | ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
			ENTRY_IA32E | ENTRY_LOAD_EFER, &miss);
	if (miss)
		return REFUSE("VT-x without 64-bit guests or IA32_EFER loading is not supported");
	c->entry &= ~ENTRY_IA32E; /* follows the guest's EFER.LMA */
	c->pat_in_vmcs =
	    (c->exit & EXIT_SAVE_PAT) && (c->exit & EXIT_LOAD_PAT) && (c->entry & ENTRY_LOAD_PAT);
	if (!c->pat_in_vmcs) {
		c->exit &= ~(EXIT_SAVE_PAT | EXIT_LOAD_PAT);
		c->entry &= ~ENTRY_LOAD_PAT;
	}
	c->nguest_msrs = c->pat_in_vmcs ? GMSR_PAT : GMSR_PAT + 1;
	c->nhost_msrs = c->pat_in_vmcs ? 0 : 1;

	c->ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
	uint64_t ept_need = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	if ((c->ept_vpid & ept_need) != ept_need ||
	    !(c->ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
		return REFUSE("EPT without 4-level tables, write-back, 2 MiB pages or INVEPT");
	c->vpid = (c->proc2 & PROC2_VPID) && (c->ept_vpid & VPID_CAP_INVVPID) &&
		  (c->ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
	if (!c->vpid)
		c->proc2 &= ~PROC2_VPID;

	c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	/* Unrestricted guest: PE and PG are the guest's (paging off, real mode). */
	c->cr0_mask = ((c->cr0_fixed0 & ~(CR0_PE | CR0_PG)) | ~c->cr0_fixed1) & 0xffffffffULL;
	c->cr4_mask = (c->cr4_fixed0 | ~c->cr4_fixed1 | CR4_VMXE | CR4_SMXE) & 0xffffffffULL;
	return &vmx_ops;
}

static void vmx_describe(char *buf, unsigned len)
{
	const struct vmx_caps *c = &vmx_caps;

	snprintf(buf, len, "Intel VT-x: EPT, unrestricted guest%s%s%s%s%s%s",
		 c->vpid ? ", VPID" : ", no VPID", c->true_ctls ? ", TRUE controls" : "",
		 c->proc2 & PROC2_RDTSCP ? ", RDTSCP" : "",
		 c->proc2 & PROC2_INVPCID ? ", INVPCID" : "",
		 c->proc2 & PROC2_XSAVES ? ", XSAVES" : "",
		 c->pat_in_vmcs ? "" : ", PAT through MSR areas");
}

static void msr_bitmap_allow(uint32_t msr)
{
	unsigned base = msr < 0x2000 ? 0 : 0x400;

	if (msr >= 0x2000 && msr - 0xC0000000u >= 0x2000)
		return;
	msr &= 0x1fff;
	msr_bitmap[base + msr / 8] &= (uint8_t) ~(1u << (msr % 8)); /* reads */
	msr_bitmap[0x800 + base + msr / 8] &= (uint8_t) ~(1u << (msr % 8)); /* writes */
}

static int vmx_cpu_enable(struct cpu *c)
{
	const struct vmx_caps *k = &vmx_caps;
	uint32_t *region;

	if (!feature_control_ok())
		return -1;
	if (!msr_bitmap) {
		/* The boot CPU runs this before the others start. */
		msr_bitmap = page_alloc_zeroed(0);
		if (!msr_bitmap)
			return -1;
		memset(msr_bitmap, 0xff, PAGE_SIZE);
		for (unsigned i = 0; i < sizeof(passthrough_msrs) / sizeof(passthrough_msrs[0]);
		     i++)
			msr_bitmap_allow(passthrough_msrs[i]);
	}
	region = page_alloc_zeroed(0);
	if (!region)
		return -1;
	region[0] = VMX_BASIC_REVISION(k->basic);
	write_cr0((read_cr0() | k->cr0_fixed0) & k->cr0_fixed1);
	write_cr4((read_cr4() | k->cr4_fixed0 | CR4_VMXE) & k->cr4_fixed1);
	if (!vmxon((uint64_t)region)) {
		page_free(region, 0);
		return -1;
	}
	vmx_cpu[c->id] = (struct vmx_cpu){.vmxon_pa = (uint64_t)region, .current = 0};
	/* Nothing firmware or an earlier user of VMX cached may survive. */
	if (k->ept_vpid & EPT_CAP_INVEPT_ALL)
		invept(INVEPT_ALL, 0);
	if (k->vpid && (k->ept_vpid & VPID_CAP_INVVPID_ALL))
		invvpid(INVVPID_ALL, 0);
	return 0;
}

static int vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *s = kzalloc(sizeof(*s));

	if (!s)
		return -1;
	if (npt_init(&s->npt, &ept_format, &npt_keel_mem)) {
		kfree(s);
		return -1;
	}
	s->eptp = s->npt.root_pa | EPTP_WALK4 | EPTP_WB;
	vm->arch = s;
	return 0;
}

static void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *s = vm->arch;

	if (!s)
		return;
	npt_destroy(&s->npt);
	kfree(s);
	vm->arch = NULL;
}

static int vmx_vm_map(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	struct vmx_vm *s = vm->arch;

	return npt_map(&s->npt, gpa, hpa, size);
}

static uint16_t vpid_alloc(void)
{
	uint16_t got = 0;

	spin_lock(&vpid_lock);
	for (unsigned id = 1; id < VPID_COUNT; id++) {
		if (!(vpid_used[id / 64] & (1ULL << (id % 64)))) {
			vpid_used[id / 64] |= 1ULL << (id % 64);
			got = (uint16_t)id;
			break;
		}
	}
	spin_unlock(&vpid_lock);
	return got; /* 0 when all are taken: that vCPU runs without a VPID */
}

static void vpid_free(uint16_t id)
{
	spin_lock(&vpid_lock);
	vpid_used[id / 64] &= ~(1ULL << (id % 64));
	spin_unlock(&vpid_lock);
}

bool vmcs_acquire(struct vmx_vcpu *x)
{
	struct cpu *c = this_cpu();
	struct vmx_cpu *pc = &vmx_cpu[c->id];

	if (x->cpu >= 0 && x->cpu != (int)c->id)
		panic("vmx: a VMCS active on CPU %d was used on CPU %u", x->cpu, c->id);
	if (pc->current != x->vmcs_pa) {
		if (!vmptrld(x->vmcs_pa))
			panic("vmx: VMPTRLD %#lx failed on CPU %u", x->vmcs_pa, c->id);
		pc->current = x->vmcs_pa;
	}
	return x->cpu < 0;
}

void vmcs_release(struct vmx_vcpu *x, bool temporary)
{
	if (!temporary)
		return;
	vmclear(x->vmcs_pa);
	vmx_cpu[this_cpu()->id].current = 0;
	x->launched = false;
}

void vmx_flush_guest_tlb(struct vmx_vcpu *x)
{
	if (!x->vpid)
		return; /* VPID 0: every VM entry and exit flushes */
	if (vmx_caps.ept_vpid & VPID_CAP_INVVPID_SINGLE)
		invvpid(INVVPID_SINGLE, x->vpid);
	else
		invvpid(INVVPID_ALL, 0);
}

/* The VMX preemption timer, restarted at every VM entry, ends a guest's
 * run after one scheduler tick of guest time with no exit. On real CPUs
 * the LAPIC timer's interrupt always exits first; it is a second line of
 * defence for emulators that lose that exit (Bochs 2.7 does for a guest
 * entered with IF clear), so a guest can still never keep a CPU. */
static uint64_t preempt_timer_value(void)
{
	uint64_t ticks = (tsc_khz() * 1000 / HZ) >> VMX_MISC_PREEMPT_RATE(rdmsr(MSR_VMX_MISC));

	return ticks > 0xffffffffULL ? 0xffffffffULL : ticks ? ticks : 1;
}

/* The control fields, the host state that is the same on every CPU and a
 * guest state that passes the VM-entry checks until set_sregs replaces it. */
static bool vmcs_setup(struct vmx_vcpu *x)
{
	const struct vmx_caps *k = &vmx_caps;
	uint64_t area = (uint64_t)x->msrs, host_area = (uint64_t)&x->msrs[HOST_MSR_AREA];
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	const struct {
		uint32_t field;
		uint64_t value;
	} init[] = {
	    {VMCS_PIN_CTLS, k->pin},
	    {VMCS_PROC_CTLS, k->proc},
	    {VMCS_PROC_CTLS2, x->vpid ? k->proc2 : k->proc2 & ~PROC2_VPID},
	    {VMCS_EXIT_CTLS, k->exit},
	    {VMCS_ENTRY_CTLS, k->entry},
	    {VMCS_EXCEPTION_BITMAP, 0},
	    {VMCS_CR3_TARGET_COUNT, 0},
	    {VMCS_MSR_BITMAP, (uint64_t)msr_bitmap},
	    {VMCS_EXIT_MSR_STORE_ADDR, area},
	    {VMCS_EXIT_MSR_STORE_COUNT, k->nguest_msrs},
	    {VMCS_ENTRY_MSR_LOAD_ADDR, area},
	    {VMCS_ENTRY_MSR_LOAD_COUNT, k->nguest_msrs},
	    {VMCS_EXIT_MSR_LOAD_ADDR, host_area},
	    {VMCS_EXIT_MSR_LOAD_COUNT, k->nhost_msrs},
	    {VMCS_EPT_POINTER, x->eptp},
	    {VMCS_CR0_MASK, k->cr0_mask},
	    {VMCS_CR4_MASK, k->cr4_mask},
	    {VMCS_ENTRY_INTR_INFO, 0},
	    {HOST_CS_SEL, GDT_CODE64},
	    {HOST_SS_SEL, GDT_DATA},
	    {HOST_DS_SEL, GDT_DATA},
	    {HOST_ES_SEL, GDT_DATA},
	    {HOST_FS_SEL, 0},
	    {HOST_GS_SEL, 0},
	    {HOST_TR_SEL, GDT_TSS},
	    {HOST_FS_BASE, 0},
	    {HOST_SYSENTER_CS, 0},
	    {HOST_SYSENTER_ESP, 0},
	    {HOST_SYSENTER_EIP, 0},
	    {HOST_RIP, (uint64_t)vmx_exit_entry},
	    {HOST_EFER, rdmsr(MSR_EFER)},
	    {GUEST_VMCS_LINK, ~0ULL},
	    {GUEST_DR7, 0x400},
	    {GUEST_DEBUGCTL, 0},
	    {GUEST_ACTIVITY, 0},
	    {GUEST_INTERRUPTIBILITY, 0},
	    {GUEST_PENDING_DBG, 0},
	    {GUEST_SYSENTER_CS, 0},
	    {GUEST_SYSENTER_ESP, 0},
	    {GUEST_SYSENTER_EIP, 0},
	    {GUEST_RFLAGS, 0x2},
	};
	bool ok = true;

	for (unsigned i = 0; i < sizeof(init) / sizeof(init[0]); i++) {
		if (!vmwrite_ok(init[i].field, init[i].value)) {
			klog("vmx: VMWRITE of field %#x failed (error %lu)", init[i].field,
			     vmread(VMCS_INSN_ERROR));
			ok = false;
		}
	}
	if (x->vpid)
		ok &= vmwrite_ok(VMCS_VPID, x->vpid);
	if (k->proc2 & PROC2_XSAVES)
		ok &= vmwrite_ok(VMCS_XSS_EXIT_BITMAP, 0);
	if (k->pin & PIN_PREEMPT_TIMER)
		ok &= vmwrite_ok(GUEST_PREEMPT_TIMER, preempt_timer_value());
	if (k->pat_in_vmcs)
		ok &= vmwrite_ok(HOST_PAT, rdmsr(MSR_PAT));
	else
		x->msrs[HOST_MSR_AREA] =
		    (struct vmx_msr_entry){.index = MSR_PAT, .value = rdmsr(MSR_PAT)};
	for (unsigned i = 0; i < k->nguest_msrs; i++)
		x->msrs[i] = (struct vmx_msr_entry){.index = area_msrs[i], .value = 0};
	asm volatile("sidt %0" : "=m"(idtr));
	ok &= vmwrite_ok(HOST_IDTR_BASE, idtr.base);
	return ok;
}

static void vmx_vcpu_destroy(struct vcpu *v);

static int vmx_vcpu_init(struct vcpu *v)
{
	struct vmx_vcpu *x = kzalloc(sizeof(*x));
	uint32_t *vmcs;

	if (!x)
		return -1;
	v->arch = x;
	x->cpu = -1;
	x->last_cpu = -1;
	vmcs = page_alloc_zeroed(0);
	x->msrs = page_alloc_zeroed(0);
	if (!vmcs || !x->msrs) {
		if (vmcs)
			page_free(vmcs, 0);
		vmx_vcpu_destroy(v);
		return -1;
	}
	vmcs[0] = VMX_BASIC_REVISION(vmx_caps.basic);
	x->vmcs_pa = (uint64_t)vmcs;
	x->eptp = ((struct vmx_vm *)v->vm->arch)->eptp;
	if (vmx_caps.vpid)
		x->vpid = vpid_alloc();
	vmclear(x->vmcs_pa); /* launch state "clear" */
	bool temporary = vmcs_acquire(x);
	bool ok = vmcs_setup(x);
	vmcs_release(x, temporary);
	if (!ok) {
		klog("vmx: the CPU refused the VMCS of vm %s vCPU %u", v->vm->name, v->id);
		vmx_vcpu_destroy(v);
		return -1;
	}
	return 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;

	if (!x)
		return;
	if (x->cpu >= 0)
		panic("vmx: destroying the VMCS of a vCPU active on CPU %d", x->cpu);
	if (x->vmcs_pa)
		page_free((void *)x->vmcs_pa, 0);
	if (x->msrs)
		page_free(x->msrs, 0);
	if (x->vpid)
		vpid_free(x->vpid);
	kfree(x);
	v->arch = NULL;
}

/* Make the VMCS of the vCPU about to run current on this CPU. On its first
 * load here since it was cleared, host state that differs per CPU is
 * written, and TLB entries this CPU may hold for the vCPU's tags from an
 * earlier visit (or an earlier owner) are flushed. */
void vmcs_load(struct vmx_vcpu *x, struct cpu *c)
{
	if (vmx_cpu[c->id].current == x->vmcs_pa)
		return;
	vmcs_acquire(x);
	x->cpu = (int)c->id;
	if (x->last_cpu == (int)c->id)
		return;
	x->last_cpu = (int)c->id;
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_GS_BASE, (uint64_t)c);
	vmwrite(HOST_TR_BASE, (uint64_t)&c->arch.tss);
	vmwrite(HOST_GDTR_BASE, (uint64_t)c->arch.gdt);
	invept(vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE ? INVEPT_SINGLE : INVEPT_ALL, x->eptp);
	vmx_flush_guest_tlb(x);
}

static void vmx_vcpu_put(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;

	if (x->cpu < 0)
		return;
	vmclear(x->vmcs_pa);
	vmx_cpu[x->cpu].current = 0;
	x->cpu = -1;
	x->launched = false;
}

const struct backend_ops vmx_ops = {
    .name = "vmx",
    .describe = vmx_describe,
    .cpu_enable = vmx_cpu_enable,
    .vm_init = vmx_vm_init,
    .vm_destroy = vmx_vm_destroy,
    .vm_map = vmx_vm_map,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_destroy = vmx_vcpu_destroy,
    .vcpu_put = vmx_vcpu_put,
    .set_sregs = vmx_set_sregs,
    .get_sregs = vmx_get_sregs,
    .get_cr4 = vmx_get_cr4,
    .vcpu_run = vmx_vcpu_run,
    .inject_exception = vmx_inject_exception,
    .interrupt_allowed = vmx_interrupt_allowed,
    .inject_interrupt = vmx_inject_interrupt,
    .request_interrupt_window = vmx_request_interrupt_window,
    .nmi_allowed = vmx_nmi_allowed,
    .inject_nmi = vmx_inject_nmi,
    .request_nmi_window = vmx_request_nmi_window,
    .cancel_events = vmx_cancel_events,
};
