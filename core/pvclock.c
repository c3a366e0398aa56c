/* A paravirtual clock in the KVM clock ABI ("kvmclock", version 2 MSRs),
 * which Linux and other guests already speak. Why: a guest calibrates its
 * TSC against the PIT or the PM timer, and through port-I/O exits that
 * calibration fails or drifts (it does under emulation, and it is fragile
 * under any hypervisor); Linux then falls back to the ACPI PM timer, and
 * every clock read becomes an exit. With this clock the guest learns the
 * TSC rate and reads time with RDTSC alone.
 *
 * The leaves sit at 0x40000100, a second hypervisor range: 0x40000000
 * stays Keel's own (hypercalls). Only the clock features are offered, so
 * a guest uses nothing else of the KVM ABI.
 *
 * Guest-controlled: the addresses written to the MSRs. Each structure must
 * lie inside the VM's RAM, or the write is refused (#GP). */
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/platform.h>
#include <keel/pvclock.h>
#include <keel/string.h>
#include <keel/vm.h>

#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define PVCLOCK_TSC_STABLE 0x01
#define INVARIANT_TSC (1u << 8) /* CPUID 0x80000007 EDX */

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "the ABI's layout");

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
};
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "the ABI's layout");

bool pvclock_cpuid(uint32_t leaf, uint32_t out[4])
{
	if (leaf == PVCLOCK_CPUID_BASE) {
		out[0] = PVCLOCK_CPUID_BASE + 1;
		memcpy(&out[1], "KVMKVMKVM\0\0\0", 12);
		return true;
	}
	if (leaf == PVCLOCK_CPUID_BASE + 1) {
		out[0] = KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
		out[1] = out[2] = out[3] = 0;
		return true;
	}
	return false;
}

/* MUL and SHIFT with ns = ((tsc << shift) or (tsc >> -shift)) * mul >> 32
 * for a TSC of HZ ticks per second, MUL as large as fits (precision). */
static void time_scale(uint64_t hz, uint32_t *mul, int8_t *shift)
{
	uint64_t m = (1000000000ull << 32) / hz;
	int s = 0;

	while (m >= (1ull << 32)) {
		m >>= 1;
		s++;
	}
	while (m < (1ull << 31) && s > -31) {
		m <<= 1;
		s--;
	}
	*mul = (uint32_t)m;
	*shift = (int8_t)s;
}

static bool host_tsc_invariant(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000007)
		return false;
	cpuid(0x80000007, 0, &a, &b, &c, &d);
	return d & INVARIANT_TSC;
}

/* Wall-clock time at the VM's system time 0 (its start). */
static void wall_at_start(const struct vm *vm, uint32_t *sec, uint32_t *nsec)
{
	static uint64_t wall, wall_ns; /* the host's, read once */

	if (!wall_ns) {
		wall = host_wallclock();
		wall_ns = time_ns();
	}
	/* The VM started at vm->started_ns: go back from the host's reading. */
	uint64_t at = wall * 1000000000ull + vm->started_ns - wall_ns;
	*sec = (uint32_t)(at / 1000000000ull);
	*nsec = (uint32_t)(at % 1000000000ull);
}

int pvclock_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vm *vm = v->vm;

	if (msr == PVCLOCK_MSR_WALL_CLOCK) {
		struct pvclock_wall_clock w = {.version = 2};
		wall_at_start(vm, &w.sec, &w.nsec);
		if (copy_to_guest(vm, val, &w, sizeof(w)))
			return -1;
		v->pvclock_wall_msr = val;
		return 0;
	}
	/* PVCLOCK_MSR_SYSTEM_TIME: bit 0 enables, the rest is the address. */
	if (val & 1) {
		uint64_t tsc = rdtsc(), now = tsc_to_ns(tsc);
		struct pvclock_vcpu_time_info t = {
		    .version = 2, /* even: the guest may read it */
		    .tsc_timestamp = tsc,
		    .system_time = now - vm->started_ns,
		    .flags = host_tsc_invariant() ? PVCLOCK_TSC_STABLE : 0,
		};
		time_scale(tsc_khz() * 1000, &t.tsc_to_system_mul, &t.tsc_shift);
		if (copy_to_guest(vm, val & ~1ull, &t, sizeof(t)))
			return -1;
	}
	v->pvclock_msr = val;
	return 0;
}

uint64_t pvclock_msr_read(const struct vcpu *v, uint32_t msr)
{
	return msr == PVCLOCK_MSR_WALL_CLOCK ? v->pvclock_wall_msr : v->pvclock_msr;
}
