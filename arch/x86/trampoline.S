/* Start-up code for the other CPUs. Copied to a page below 1 MiB; a CPU
 * receiving SIPI starts here in real mode at CS = page >> 4, IP = 0. It
 * enters long mode with the boot CPU's page tables and jumps to
 * ap_entry(cpu) on the stack the boot CPU prepared. Addresses that depend on
 * where the page is are computed from CS at run time. The boot CPU fills the
 * parameter block at the end before sending SIPI. */

#define OFF(x) ((x) - trampoline_start)

	.section .rodata
	.code16
	.globl trampoline_start, trampoline_end
	.globl tramp_cr3, tramp_stack, tramp_entry, tramp_cpu
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx /* ebx = linear base of this page, kept to the end */

	/* Patch the GDT descriptor's base and the far pointers, then go. */
	leal OFF(tramp_gdt)(%ebx), %eax
	movl %eax, OFF(tramp_gdt_desc) + 2
	leal OFF(tramp_pm32)(%ebx), %eax
	movl %eax, OFF(tramp_far32)
	leal OFF(tramp_lm64)(%ebx), %eax
	movl %eax, OFF(tramp_far64)
	lgdtl OFF(tramp_gdt_desc)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl *OFF(tramp_far32)

	.code32
tramp_pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(1 << 5), %eax /* PAE */
	movl %eax, %cr4
	movl OFF(tramp_cr3)(%ebx), %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
	wrmsr
	movl %cr0, %eax
	/* INIT leaves CR0.CD and NW set: clear them, or this CPU runs
	 * uncached (the BSP's firmware cleared them before Keel started). */
	andl $~0x60000000, %eax
	orl $0x80010000, %eax /* PG, WP */
	movl %eax, %cr0
	ljmpl *OFF(tramp_far64)(%ebx)

	.code64
tramp_lm64:
	movl %ebx, %ebx /* zero-extend: upper halves are undefined after the switch */
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movq OFF(tramp_stack)(%rbx), %rsp
	movq OFF(tramp_cpu)(%rbx), %rdi
	xorq %rbp, %rbp
	movq OFF(tramp_entry)(%rbx), %rax
	call *%rax
1:	cli
	hlt
	jmp 1b

	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF /* 0x08: 32-bit code */
	.quad 0x00CF92000000FFFF /* 0x10: data */
	.quad 0x00209A0000000000 /* 0x18: 64-bit code */
tramp_gdt_desc:
	.word tramp_gdt_desc - tramp_gdt - 1
	.long 0
tramp_far32:
	.long 0
	.word 0x08
tramp_far64:
	.long 0
	.word 0x18
	.align 8
tramp_cr3: .quad 0
tramp_stack: .quad 0
tramp_entry: .quad 0
tramp_cpu: .quad 0
trampoline_end:
