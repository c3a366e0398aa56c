/*
 * strio: string port I/O. Prints a line with REP OUTSB, reads the UART's
 * line status with REP INSB, writes backwards (DF=1), and does a REP OUTSB
 * long enough that the hypervisor must resume it in pieces: RSI and ECX
 * must end exactly where the CPU would leave them.
 */
#include "guest.h"

static uint8_t big[3000];

static void rep_outsb(uint16_t port, const void *src, uint32_t n, const void **end_src,
		      uint32_t *end_n)
{
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(port) : "memory");
	*end_src = src;
	*end_n = n;
}

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	static const char line[] = "strio: hello through rep outsb\n";
	static const char rev[] = "\nsdrawkcab gnitirw :oirts";
	uint8_t lsr[8];
	const void *end;
	uint32_t left;

	puts("strio: INS/OUTS with and without REP");
	xtf_check_boot(magic, mbi);
	rep_outsb(0x3F8, line, sizeof(line) - 1, &end, &left);
	if (end != line + sizeof(line) - 1 || left)
		xtf_failure("rep outsb left esi/ecx at %p/%u", end, left);

	void *dst = lsr;
	uint32_t n = sizeof(lsr);
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(0x3FD) : "memory");
	for (unsigned i = 0; i < sizeof(lsr); i++)
		if ((lsr[i] & 0x60) != 0x60)
			xtf_failure("rep insb from LSR read %#x at %u", lsr[i], i);

	/* Backwards: DF=1 walks from the last byte down. */
	const char *src = rev + sizeof(rev) - 2;
	n = sizeof(rev) - 1;
	__asm__ volatile("std; rep outsb; cld" : "+S"(src), "+c"(n) : "d"(0x3F8) : "memory");
	/* It ends one byte below the string: compare addresses as numbers. */
	if ((uintptr_t)src + 1 != (uintptr_t)rev || n)
		xtf_failure("backwards rep outsb ended at %p/%u", src, n);

	/* 3000 bytes to an unclaimed port: done in pieces, finished exactly. */
	memset(big, 0x5A, sizeof(big));
	rep_outsb(0x80, big, sizeof(big), &end, &left);
	if (end != big + sizeof(big) || left)
		xtf_failure("long rep outsb stopped at +%u with %u left",
			    (uint32_t)((const uint8_t *)end - big), left);
	xtf_success("string I/O");
}
