/* The host's local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode, whichever
 * firmware left enabled. Its timer drives preemption. */
#include <arch/lapic.h>
#include <arch/time.h>
#include <arch/x86.h>
#include <keel/console.h>
#include <stdbool.h>

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)
#define LVT_MASKED (1u << 16)

static volatile uint32_t *mmio;
static bool x2apic;
static uint32_t timer_ticks_per_sec;

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return mmio[reg / 4];
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio[reg / 4] = v;
}

void lapic_init(uint64_t base)
{
	uint64_t msr = rdmsr(MSR_APIC_BASE);

	x2apic = msr & APIC_BASE_X2APIC;
	if (!x2apic) {
		if (!base)
			base = msr & ~0xFFFULL;
		mmio = (volatile uint32_t *)base;
		wrmsr(MSR_APIC_BASE, msr | APIC_BASE_ENABLE);
	}
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | 0xFF); /* enabled, spurious vector 0xFF */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	/* The boot CPU keeps ExtINT/NMI wiring as firmware set it; the legacy
	 * PIC is masked separately. */
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (x2apic) {
		wrmsr(0x830, ((uint64_t)apic_id << 32) | icr_low);
		return;
	}
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	for (unsigned i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++)
		cpu_relax();
}

void lapic_send_nmi_all_but_self(void)
{
	/* destination shorthand "all excluding self", delivery mode NMI */
	if (x2apic)
		wrmsr(0x830, (3u << 18) | (4u << 8));
	else
		lapic_write(LAPIC_ICR_LO, (3u << 18) | (4u << 8));
}

void lapic_timer_calibrate(void)
{
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	pit_wait_us(10000);
	uint32_t elapsed = 0xFFFFFFFF - lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	timer_ticks_per_sec = elapsed * 100;
	if (!timer_ticks_per_sec)
		timer_ticks_per_sec = 1000000;
}

void lapic_timer_oneshot(uint8_t vector)
{
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, vector); /* one-shot */
}

void lapic_timer_arm(uint64_t ns)
{
	/* Rounded up: the interrupt must not come before the time asked for. */
	uint64_t count = (ns * timer_ticks_per_sec + 999999999ULL) / 1000000000ULL;

	if (ns > 30000000000ULL) /* no overflow above; ~30 s is far enough */
		count = 0xFFFFFFFF;
	lapic_write(LAPIC_TIMER_INIT, count == 0           ? 1
				      : count > 0xFFFFFFFF ? 0xFFFFFFFF
							   : (uint32_t)count);
}
