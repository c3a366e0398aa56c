/* void svm_enter(uint64_t vmcb_pa, struct vcpu_regs *regs, uint64_t host_save_pa)
 *
 * Loads the guest's general registers (RAX, RSP, RIP and RFLAGS live in the
 * VMCB), runs it, and saves them back. GIF is cleared around the switch so no
 * interrupt sees half-switched state; host IF is set during VMRUN so physical
 * interrupts cause #VMEXIT (V_INTR_MASKING), and they are taken right after
 * STGI, through the host's IDT, before we return. */


#include <arch/guest_regs.inc>

	.text
	.globl svm_enter
svm_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx /* host save area */
	pushq %rsi /* regs */

	movq %rdi, %rax
	GUEST_GPRS_LOAD %rsi
	movq GR_RDI(%rsi), %rdi
	movq GR_RSI(%rsi), %rsi

	clgi
	sti
	vmload %rax
	vmrun %rax
	vmsave %rax

	movq (%rsp), %rax /* regs */
	GUEST_GPRS_STORE %rax
	movq %rsi, GR_RSI(%rax)
	movq %rdi, GR_RDI(%rax)

	movq 8(%rsp), %rax /* host save area: our FS/GS/TR/LDTR/syscall MSRs */
	vmload %rax
	stgi /* pending physical interrupts and NMIs are taken here */
	cli

	addq $16, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
