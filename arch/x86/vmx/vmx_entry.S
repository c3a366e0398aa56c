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
#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 64
#define R_R9 72
#define R_R10 80
#define R_R11 88
#define R_R12 96
#define R_R13 104
#define R_R14 112
#define R_R15 120

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

	movq R_RAX(%rdi), %rax
	movq R_RBX(%rdi), %rbx
	movq R_RCX(%rdi), %rcx
	movq R_RDX(%rdi), %rdx
	movq R_RSI(%rdi), %rsi
	movq R_RBP(%rdi), %rbp
	movq R_R8(%rdi), %r8
	movq R_R9(%rdi), %r9
	movq R_R10(%rdi), %r10
	movq R_R11(%rdi), %r11
	movq R_R12(%rdi), %r12
	movq R_R13(%rdi), %r13
	movq R_R14(%rdi), %r14
	movq R_R15(%rdi), %r15
	movq R_RDI(%rdi), %rdi
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
	movq %rax, R_RAX(%rdi)
	movq %rbx, R_RBX(%rdi)
	movq %rcx, R_RCX(%rdi)
	movq %rdx, R_RDX(%rdi)
	movq %rsi, R_RSI(%rdi)
	movq %rbp, R_RBP(%rdi)
	movq %r8, R_R8(%rdi)
	movq %r9, R_R9(%rdi)
	movq %r10, R_R10(%rdi)
	movq %r11, R_R11(%rdi)
	movq %r12, R_R12(%rdi)
	movq %r13, R_R13(%rdi)
	movq %r14, R_R14(%rdi)
	movq %r15, R_R15(%rdi)
	popq R_RDI(%rdi)
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
