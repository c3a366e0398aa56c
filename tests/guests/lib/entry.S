/*
 * Multiboot v1 entry for the test guests. The loader enters in 32-bit
 * protected mode, paging off, with EAX = boot magic and EBX = info pointer.
 */
#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* bit 0: page-align modules, bit 1: memory info */
#define STACK_SIZE	16384

	.section .multiboot, "a"
	.balign 4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	movl	%eax, %esi		/* rep stosb below needs EAX */
	movl	%ebx, %ebp
	/* Zero .bss ourselves: do not trust the loader to (that is what memcheck tests). */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	movl	$stack_top, %esp
	pushl	%ebp			/* mbi */
	pushl	%esi			/* magic */
	call	guest_main
	pushl	$returned
	call	xtf_error		/* does not return */
1:	cli
	hlt
	jmp	1b
	.size	_start, . - _start

	.section .rodata
returned:
	.asciz	"guest_main returned"

	.section .bss
	.balign 16
	.globl	stack_bottom
stack_bottom:
	.skip	STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
