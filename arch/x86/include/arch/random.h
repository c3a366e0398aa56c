/* The CPU's random number generator (RDRAND), for device models that hand
 * entropy to guests: they ask here, never for the instruction itself. */
#ifndef ARCH_RANDOM_H
#define ARCH_RANDOM_H

#include <arch/x86.h>
#include <stdbool.h>
#include <stdint.h>

static inline bool arch_has_random(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return c & (1u << 30); /* RDRAND */
}

/* 64 conditioned random bits; false if the source stayed empty. */
static inline bool arch_random64(uint64_t *v)
{
	for (int i = 0; i < 10; i++) { /* Intel: retry a few times on underflow */
		unsigned char ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return true;
	}
	return false;
}

#endif
