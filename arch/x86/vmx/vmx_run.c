/* VM entry and exit for the VT-x backend: sync the registers the VMCS
 * holds, enter the guest, and decode the exit into a vendor-neutral
 * vm_exit. This is the hot path: a CPUID round trip is a handful of VMREADs
 * and VMWRITEs around the world switch in vmx_entry.S. */
#include <arch/x86.h>
#include <keel/backend.h>
#include <keel/console.h>
#include <keel/cpu.h>
#include "vmx.h"

static void entry_failed(struct vcpu *v, int how, struct vm_exit *e)
{
	uint64_t err = how == 2 ? vmread(VMCS_INSN_ERROR) : 0;

	klog("vmx: vm %s vCPU %u: VM entry failed (%s, VM-instruction error %lu)", v->vm->name,
	     v->id, how == 2 ? "VMfailValid" : "VMfailInvalid: no current VMCS", err);
	e->kind = EXIT_INVALID;
	e->insn_len = 0;
	e->raw.code = err;
	e->raw.info1 = (uint64_t)how;
	e->raw.info2 = 0;
}

static void raw_exit(struct vm_exit *e, enum exit_kind kind, uint32_t reason)
{
	e->kind = kind;
	e->raw.code = reason;
	e->raw.info1 = vmread(VMCS_EXIT_QUAL);
	e->raw.info2 = vmread(VMCS_GUEST_PHYS_ADDR);
}

static void decode_exit(struct vcpu *v, uint32_t reason, struct vm_exit *e)
{
	uint64_t qual;

	e->insn_len = 0;
	if (reason & EXIT_REASON_FAILED_ENTRY) {
		klog("vmx: vm %s vCPU %u: VM entry failed (exit reason %#x, qualification %#lx)",
		     v->vm->name, v->id, reason, vmread(VMCS_EXIT_QUAL));
		raw_exit(e, EXIT_INVALID, reason);
		return;
	}
	switch (reason & 0xffff) {
	case EXIT_REASON_EXTINT:
	case EXIT_REASON_PREEMPT_TIMER:
		/* Not acknowledged on exit: the host takes it through its IDT. */
		asm volatile("sti; nop; cli" ::: "memory");
		e->kind = EXIT_NONE;
		return;
	case EXIT_REASON_EXCEPTION_NMI:
		if ((vmread(VMCS_EXIT_INTR_INFO) & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
			asm volatile("int $2" ::: "memory"); /* the host's NMI: hand it on */
			e->kind = EXIT_NONE;
			return;
		}
		break;
	case EXIT_REASON_CPUID:
		e->kind = EXIT_CPUID;
		e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
		return;
	case EXIT_REASON_IO:
		qual = vmread(VMCS_EXIT_QUAL);
		e->kind = EXIT_IO;
		e->io.size = (uint8_t)((qual & 7) + 1);
		e->io.in = (qual >> 3) & 1;
		e->io.string = (qual >> 4) & 1;
		e->io.rep = (qual >> 5) & 1;
		e->io.port = (uint16_t)(qual >> 16);
		e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
		return;
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
		e->kind = (reason & 0xffff) == EXIT_REASON_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
		return;
	case EXIT_REASON_HLT:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_XSETBV:
	case EXIT_REASON_INVD:
		e->kind = (reason & 0xffff) == EXIT_REASON_HLT      ? EXIT_HLT
			  : (reason & 0xffff) == EXIT_REASON_VMCALL ? EXIT_HYPERCALL
			  : (reason & 0xffff) == EXIT_REASON_XSETBV ? EXIT_XSETBV
								    : EXIT_SKIP;
		e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
		return;
	case EXIT_REASON_CR_ACCESS:
		e->insn_len = (uint8_t)vmread(VMCS_EXIT_INSN_LEN);
		vmx_cr_access(v, vmread(VMCS_EXIT_QUAL), e->insn_len);
		e->kind = EXIT_NONE;
		return;
	case EXIT_REASON_EPT_VIOLATION:
		qual = vmread(VMCS_EXIT_QUAL);
		e->kind = EXIT_NPF;
		e->npf.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
		e->npf.write = (qual >> 1) & 1;
		e->npf.fetch = (qual >> 2) & 1;
		return;
	case EXIT_REASON_EPT_MISCONFIG:
		klog("vmx: vm %s: EPT misconfiguration at guest-physical %#lx", v->vm->name,
		     vmread(VMCS_GUEST_PHYS_ADDR));
		raw_exit(e, EXIT_INVALID, reason);
		return;
	case EXIT_REASON_TRIPLE_FAULT:
		raw_exit(e, EXIT_SHUTDOWN, reason);
		return;
	case EXIT_REASON_INIT:
		e->kind = EXIT_INIT;
		return;
	case EXIT_REASON_INTR_WINDOW:
	case EXIT_REASON_NMI_WINDOW:
		e->kind = EXIT_INTR_WINDOW;
		return;
	case EXIT_REASON_GETSEC:
	case EXIT_REASON_VMCALL + 1 ... EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_MWAIT:
	case EXIT_REASON_MONITOR:
		e->kind = EXIT_UD;
		return;
	default:
		break;
	}
	raw_exit(e, EXIT_UNKNOWN, reason);
}

void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *x = v->arch;
	struct cpu *c = this_cpu();

	vmcs_load(x, c);
	if (v->regs.rip != x->exit_rip) {
		/* The exiting instruction was completed: its STI or MOV SS
		 * blocking has ended with it. */
		uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);
		if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
			vmwrite(GUEST_INTERRUPTIBILITY,
				intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	}
	vmwrite(GUEST_RSP, v->regs.rsp);
	vmwrite(GUEST_RIP, v->regs.rip);
	vmwrite(GUEST_RFLAGS, v->regs.rflags);
	if (read_cr2() != x->cr2)
		write_cr2(x->cr2);

	int failed = vmx_enter(&v->regs, x->launched);

	if (failed) {
		entry_failed(v, failed, e);
		return;
	}
	x->cr2 = read_cr2();
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	if (!(reason & EXIT_REASON_FAILED_ENTRY))
		x->launched = true;
	v->regs.rsp = vmread(GUEST_RSP);
	v->regs.rip = x->exit_rip = vmread(GUEST_RIP);
	v->regs.rflags = vmread(GUEST_RFLAGS);
	/* An event whose delivery the exit interrupted must be delivered again
	 * (the CPU cleared the entry field's valid bit on the exit). */
	uint32_t idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
	if (idt & INTR_INFO_VALID) {
		uint32_t type = idt & INTR_TYPE_MASK;
		vmwrite(VMCS_ENTRY_INTR_INFO,
			idt & (INTR_INFO_VALID | INTR_INFO_ERROR_VALID | INTR_TYPE_MASK | 0xff));
		if (idt & INTR_INFO_ERROR_VALID)
			vmwrite(VMCS_ENTRY_EXC_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
		if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
		    type == INTR_TYPE_SW_EXCEPTION)
			vmwrite(VMCS_ENTRY_INSN_LEN, vmread(VMCS_EXIT_INSN_LEN));
	}
	decode_exit(v, reason, e);
}
