/* Time: the TSC, calibrated against the 8254 PIT at boot. Keel assumes an
 * invariant TSC synchronised across CPUs, as every server CPU of the last
 * decade has; it logs when CPUID says otherwise. */
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/console.h>

#define PIT_HZ 1193182u

static uint64_t khz;
static uint64_t ns_mult; /* ns = (tsc * ns_mult) >> 32 */
static uint64_t tsc_mult; /* tsc = (ns * tsc_mult) >> 32 */

void pit_wait_us(uint32_t us)
{
	uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000);
	uint8_t gate = inb(0x61);

	if (count > 0xFFFF)
		count = 0xFFFF;
	outb(0x61, (uint8_t)((gate & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(0x43, 0xB0); /* channel 2, lo/hi, mode 0 */
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
	for (uint32_t spins = 0; !(inb(0x61) & 0x20) && spins < 100000000; spins++)
		cpu_relax();
	outb(0x61, gate);
}

void tsc_calibrate(void)
{
	uint64_t best = ~0ULL;
	uint32_t a, b, c, d;

	/* Take the smallest of a few runs: interruptions only make a run longer. */
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = rdtsc();
		pit_wait_us(10000);
		uint64_t dt = rdtsc() - t0;
		if (dt < best)
			best = dt;
	}
	khz = best / 10;
	if (!khz)
		khz = 1000000;
	ns_mult = (1000000ULL << 32) / khz;
	tsc_mult = (khz << 32) / 1000000ULL;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a >= 0x80000007) {
		cpuid(0x80000007, 0, &a, &b, &c, &d);
		if (!(d & (1u << 8)))
			klog(
			    "warning: TSC is not invariant on this CPU; CPU time figures may drift");
	}
}

uint64_t tsc_khz(void)
{
	return khz;
}

uint64_t time_ns(void)
{
	return tsc_to_ns(rdtsc());
}

uint64_t tsc_to_ns(uint64_t tsc)
{
	return (uint64_t)(((unsigned __int128)tsc * ns_mult) >> 32);
}

uint64_t ns_to_tsc(uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * tsc_mult) >> 32);
}
