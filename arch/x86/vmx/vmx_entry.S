/* int vmx_enter(struct vcpu_regs *regs, int launched)
 *
 * The VT-x world switch. RSP, RIP and RFLAGS of the guest live in the VMCS
 * (vmx.c syncs them); the other fifteen general registers are loaded from
 * REGS here and saved back at vmx_exit_entry, which is the VMCS host RIP.
 * The host RSP field is written on every entry, so the VM exit lands on
 * this frame with REGS on top. An interrupt ends the guest's run by
 * external-interrupt exiting (not acknowledged), and vmx.c lets the host
 * take it after the exit, whose RFLAGS has IF clear. Returns 0 after a VM exit, 1 if the entry
 * failed with VMfailInvalid (CF), 2 with VMfailValid (ZF). */

#define HOST_RSP 0x6c14

#include <arch/guest_regs.inc>

	.text
	.globl vmx_enter
vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi /* regs: on top of the stack when the VM exit arrives */

	movl $HOST_RSP, %eax
	vmwrite %rsp, %rax
	testl %esi, %esi /* ZF survives the MOVs below */

	movq GR_RAX(%rdi), %rax
	GUEST_GPRS_LOAD %rdi
	movq GR_RSI(%rdi), %rsi
	movq GR_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* Still here: the entry failed. The guest values in the registers are
	 * dropped; REGS is unchanged. */
	movl $2, %eax
	movl $1, %ecx
	cmovcl %ecx, %eax
	jmp 3f

	.globl vmx_exit_entry
vmx_exit_entry:
	pushq %rdi
	movq 8(%rsp), %rdi /* regs */
	movq %rax, GR_RAX(%rdi)
	GUEST_GPRS_STORE %rdi
	movq %rsi, GR_RSI(%rdi)
	popq GR_RDI(%rdi)
	xorl %eax, %eax
3:
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
