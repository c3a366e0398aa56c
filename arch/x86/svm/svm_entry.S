/* void svm_enter(uint64_t vmcb_pa, struct vcpu_regs *regs, uint64_t host_save_pa)
 *
 * Loads the guest's general registers (RAX, RSP, RIP and RFLAGS live in the
 * VMCB), runs it, and saves them back. GIF is cleared around the switch so no
 * interrupt sees half-switched state; host IF is set during VMRUN so physical
 * interrupts cause #VMEXIT (V_INTR_MASKING), and they are taken right after
 * STGI, through the host's IDT, before we return. */

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
	movq R_RBX(%rsi), %rbx
	movq R_RCX(%rsi), %rcx
	movq R_RDX(%rsi), %rdx
	movq R_RBP(%rsi), %rbp
	movq R_R8(%rsi), %r8
	movq R_R9(%rsi), %r9
	movq R_R10(%rsi), %r10
	movq R_R11(%rsi), %r11
	movq R_R12(%rsi), %r12
	movq R_R13(%rsi), %r13
	movq R_R14(%rsi), %r14
	movq R_R15(%rsi), %r15
	movq R_RDI(%rsi), %rdi
	movq R_RSI(%rsi), %rsi

	clgi
	sti
	vmload %rax
	vmrun %rax
	vmsave %rax

	movq (%rsp), %rax /* regs */
	movq %rbx, R_RBX(%rax)
	movq %rcx, R_RCX(%rax)
	movq %rdx, R_RDX(%rax)
	movq %rsi, R_RSI(%rax)
	movq %rdi, R_RDI(%rax)
	movq %rbp, R_RBP(%rax)
	movq %r8, R_R8(%rax)
	movq %r9, R_R9(%rax)
	movq %r10, R_R10(%rax)
	movq %r11, R_R11(%rax)
	movq %r12, R_R12(%rax)
	movq %r13, R_R13(%rax)
	movq %r14, R_R14(%rax)
	movq %r15, R_R15(%rax)

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
