/*
 * Test aid, not a guest of its own: flat.bin behind a Multiboot header using
 * the a.out kludge, so plain QEMU (-kernel) can load it at 0x200000 and enter
 * it at its first byte, much as Keel's `image =` does. EAX/EBX then hold
 * Multiboot values instead of 0, which flat does not look at anyway.
 */
#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00010003	/* page-align, memory info, addresses below */
#define FLAT_ADDR	0x200000
#define HEADER_SIZE	0x1000		/* this header page sits just below FLAT_ADDR */

	.section .flatmb, "a"
header:
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)
	.long	FLAT_ADDR - HEADER_SIZE		/* header_addr */
	.long	FLAT_ADDR - HEADER_SIZE		/* load_addr: the file starts here */
	.long	0				/* load_end_addr: the whole file */
	.long	0				/* bss_end_addr: flat zeroes its own */
	.long	FLAT_ADDR			/* entry_addr */
	.fill	HEADER_SIZE - (. - header), 1, 0
	.incbin	FLAT_BIN

	.section .note.GNU-stack, "", @progbits
