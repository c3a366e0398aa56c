/*
 * Entry of the flat-binary guest: its first byte, at the load address. No
 * Multiboot here: EAX = EBX = 0 and nothing may be assumed beyond 32-bit
 * protected mode with flat segments.
 */
#define STACK_SIZE	8192
#define UART_THR	0x3F8
#define UART_LSR	0x3FD
#define DEBUG_EXIT	0xF4

	.section .text.entry, "ax"
	.code32
	.globl	flat_start
	.type	flat_start, @function
flat_start:
	cli
	cld
	movl	$stack_top, %esp
	/* Where are we really running? call/pop reads EIP without trusting the loader. */
	call	1f
1:	popl	%esi
	subl	$(1b - flat_start), %esi
	cmpl	$flat_start, %esi
	jne	misplaced
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb
	pushl	%esi
	call	flat_main		/* does not return */
	jmp	stop

	/*
	 * Loaded somewhere else: absolute addresses (strings, .bss) are wrong, so
	 * report with EIP-relative code only, then exit with "fail".
	 */
misplaced:
	leal	(misplaced_msg - flat_start)(%esi), %ebx
2:	movb	(%ebx), %cl
	testb	%cl, %cl
	jz	4f
	movw	$UART_LSR, %dx
3:	inb	%dx, %al
	testb	$0x20, %al
	jz	3b
	movw	$UART_THR, %dx
	movb	%cl, %al
	outb	%al, %dx
	incl	%ebx
	jmp	2b
4:	movl	$1, %eax
	outl	%eax, $DEBUG_EXIT
stop:	cli
	hlt
	jmp	stop
	.size	flat_start, . - flat_start

misplaced_msg:
	.asciz	"RESULT: FAIL flat not loaded at its link address 0x200000\n"

	.section .bss
	.balign 16
	.skip	STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
