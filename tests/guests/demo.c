/*
 * demo: a guest with something to show for `make run`. It does a fixed amount
 * of deterministic work per step (about 300 ms under QEMU TCG) and prints the
 * running result, so several demo VMs visibly make progress side by side.
 */
#include "guest.h"

/* Work per step, sized for roughly 300 ms each under QEMU TCG. */
#define PRIMES_STEP 25000000 /* numbers sieved per step */
#define FIB_STEP 200000000 /* Fibonacci terms per step */
#define COLLATZ_STEP 600000 /* starting values per step */

#define SIEVE_SEG 65536
#define FIB_MOD 1000000007u

/*
 * Counts primes below an ever larger bound with a segmented sieve of
 * Eratosthenes: the cost per step stays about the same as the bound grows,
 * and the memory is one segment plus the primes below 2^16.
 */
static uint8_t seg[SIEVE_SEG];
static uint32_t base[6542]; /* all primes below 65536 cover bounds up to 2^32 */
static uint32_t nbase, base_next = 2;

/* Extends base[] with every prime p where p * p < hi. */
static void grow_base(uint64_t hi)
{
	for (; (uint64_t)base_next * base_next < hi && base_next < 65536; base_next++) {
		uint32_t i;

		for (i = 0; i < nbase && base[i] * base[i] <= base_next; i++)
			if (base_next % base[i] == 0)
				break;
		if (i == nbase || base[i] * base[i] > base_next)
			base[nbase++] = base_next;
	}
}

/* Counts the primes in [lo, lo + len), len <= SIEVE_SEG. */
static uint32_t sieve_segment(uint32_t lo, uint32_t len)
{
	uint64_t hi = (uint64_t)lo + len;
	uint32_t n = 0;

	grow_base(hi);
	memset(seg, 1, sizeof(seg));
	for (uint32_t i = 0; i < nbase && (uint64_t)base[i] * base[i] < hi; i++) {
		uint32_t p = base[i];
		uint64_t m = (uint64_t)p * p;

		if (m < lo)
			m = lo + (p - lo % p) % p; /* first multiple of p >= lo */
		for (; m < hi; m += p)
			seg[m - lo] = 0;
	}
	for (uint32_t i = lo < 2 ? 2 - lo : 0; i < len; i++)
		n += seg[i];
	return n;
}

static void step_primes(const char *name, uint32_t step, uint32_t count)
{
	static uint32_t found;
	uint64_t bound = (uint64_t)step * PRIMES_STEP;

	if (bound > 0xFFFFFFFFu)
		xtf_error("primes: step %u goes beyond 2^32", step);
	for (uint32_t lo = (uint32_t)bound - PRIMES_STEP; lo < bound; lo += SIEVE_SEG) {
		uint32_t len = bound - lo < SIEVE_SEG ? (uint32_t)(bound - lo) : SIEVE_SEG;

		found += sieve_segment(lo, len);
	}
	printf("%s: primes below %llu: %u (step %u/%u)\n", name, bound, found, step, count);
}

/* Walks the Fibonacci sequence modulo a prime; both terms stay below 2^31. */
static void step_fib(const char *name, uint32_t step, uint32_t count)
{
	static uint64_t n;
	static uint32_t a, b = 1; /* a = F(n), b = F(n + 1) */

	for (uint32_t i = 0; i < FIB_STEP; i++) {
		uint32_t c = a + b;

		a = b;
		b = c >= FIB_MOD ? c - FIB_MOD : c;
	}
	n += FIB_STEP;
	printf("%s: fib(%llu) mod %u = %u (step %u/%u)\n", name, n, FIB_MOD, a, step, count);
}

/* Longest Collatz chain from a start below an ever larger bound; values need 64 bits. */
static void step_collatz(const char *name, uint32_t step, uint32_t count)
{
	static uint32_t next = 1, best_start = 1, best_len;
	uint64_t bound = (uint64_t)step * COLLATZ_STEP;

	if (bound > 0xFFFFFFFFu)
		xtf_error("collatz: step %u goes beyond 2^32", step);
	for (; next < bound; next++) {
		uint64_t x = next;
		uint32_t len = 0;

		while (x != 1) {
			x = (x & 1) ? x + (x << 1) + 1 : x >> 1;
			len++;
		}
		if (len > best_len) {
			best_len = len;
			best_start = next;
		}
	}
	printf("%s: longest collatz chain below %llu: %u steps from %u (step %u/%u)\n", name, bound,
	       best_len, best_start, step, count);
}

static const struct {
	const char *name;
	void (*step)(const char *name, uint32_t step, uint32_t count);
} works[] = {
    {"primes", step_primes},
    {"fib", step_fib},
    {"collatz", step_collatz},
};

void guest_main(uint32_t magic, const struct mb_info *mbi)
{
	const char *name, *work;
	uint32_t count;
	unsigned int w;

	puts("demo: deterministic work with a progress line per step");
	xtf_check_boot(magic, mbi);
	name = cmdline_get(mbi, "name", "demo");
	work = cmdline_get(mbi, "work", "primes");
	count = cmdline_get_u32(mbi, "count", 20);

	for (w = 0; w < sizeof(works) / sizeof(works[0]); w++)
		if (!strcmp(work, works[w].name))
			break;
	if (w == sizeof(works) / sizeof(works[0]))
		xtf_error("work=%s: expected primes, fib or collatz", work);

	printf("%s: computing %s in %u steps\n", name, work, count);
	for (uint32_t i = 1; i <= count; i++)
		works[w].step(name, i, count);
	xtf_success("demo %s finished %u steps of %s", name, count, work);
}
