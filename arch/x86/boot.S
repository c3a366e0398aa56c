/* Keel's first instructions. Both boot protocols hand over in 32-bit
 * protected mode with paging off: Multiboot v1 (QEMU -kernel) and
 * Multiboot2 (GRUB, BIOS or UEFI). We check for long mode, identity-map the
 * first 4 GiB with 2 MiB pages, enter 64-bit mode and call kmain(magic, info).
 * C code maps the rest of RAM later. */

#define MB1_MAGIC 0x1BADB002
#define MB1_FLAGS 0x00000003 /* page-align modules, give memory info */
#define MB2_MAGIC 0xE85250D6
#define STACK_SIZE 16384

	.section .multiboot, "a"
	.align 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)

	.align 8
mb2_header:
	.long MB2_MAGIC
	.long 0 /* i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + (mb2_header_end - mb2_header))
	/* module alignment tag: page-aligned modules */
	.word 6, 0
	.long 8
	/* end tag */
	.word 0, 0
	.long 8
mb2_header_end:

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, boot_magic
	movl %ebx, boot_info
	/* Loaders zero .bss, but the page tables below must be zero: be sure. */
	movl $__bss_start, %edi
	movl $__image_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $boot_stack_top, %esp

	/* Long mode present? CPUID 0x80000001 EDX bit 29. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PDn: 512 x 2 MiB. */
	movl $boot_pdpt, %eax
	orl $0x3, %eax
	movl %eax, boot_pml4
	movl $boot_pd, %edi
	movl $boot_pdpt, %esi
	xorl %ecx, %ecx
1:	movl %edi, %eax
	orl $0x3, %eax
	movl %eax, (%esi, %ecx, 8)
	addl $4096, %edi
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	movl $boot_pd, %edi
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax /* present, writable, 2 MiB */
	movl %eax, (%edi, %ecx, 8)
	movl $0, 4(%edi, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	movl %cr4, %eax
	orl $(1 << 5), %eax /* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx /* EFER: LME, NXE */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax /* PG, WP, PE */
	movl %eax, %cr0
	lgdt boot_gdt_desc
	ljmp $0x08, $long_mode_entry

no_long_mode:
	movl $no_lm_msg, %esi
3:	lodsb
	testb %al, %al
	jz 4f
	movw $0x3F8, %dx
	outb %al, %dx
	jmp 3b
4:	hlt
	jmp 4b

	.code64
long_mode_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorq %rbp, %rbp
	movl boot_magic, %edi
	movl boot_info, %esi
	call kmain
5:	cli
	hlt
	jmp 5b

	.section .rodata
no_lm_msg:
	.asciz "Keel: this CPU has no 64-bit long mode; cannot start.\r\n"
	.align 16
boot_gdt:
	.quad 0
	.quad 0x00209A0000000000 /* 0x08: 64-bit code */
	.quad 0x0000920000000000 /* 0x10: data */
boot_gdt_desc:
	.word boot_gdt_desc - boot_gdt - 1
	.long boot_gdt

	.section .data
	.globl boot_magic, boot_info
boot_magic: .long 0
boot_info: .long 0

	.section .bss
	.align 4096
	.globl boot_pml4
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd: .skip 4096 * 4
	.globl boot_stack_top
boot_stack: .skip STACK_SIZE
boot_stack_top:
