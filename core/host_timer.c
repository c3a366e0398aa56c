/* The per-CPU host timer: the local APIC timer in one-shot mode, re-armed
 * on every expiry for the next scheduler tick and, between expiries,
 * brought forward by host_timer_want() to a guest timer, a slice end or a
 * sleeping vCPU's deadline. The periodic tick stays for what it always
 * did (slices, the shell's polling); guest timers no longer wait for it. */
#include <arch/lapic.h>
#include <arch/time.h>
#include <arch/trap.h>
#include <keel/host_timer.h>
#include <keel/sched.h>

#define TICK_NS (1000000000ULL / HZ)
/* Never arm closer than this: a deadline that is due (or nearly) would
 * otherwise interrupt the very entry meant to deliver it. */
#define MIN_ARM_NS 20000

static void arm(struct cpu *c, uint64_t at, uint64_t now)
{
	c->timer_at = at;
	lapic_timer_arm(at > now ? at - now : 0);
}

void host_timer_start(struct cpu *c)
{
	uint64_t now = time_ns();

	lapic_timer_oneshot(VEC_TIMER);
	c->next_tick_ns = now + TICK_NS;
	arm(c, c->next_tick_ns, now);
}

void host_timer_interrupt(struct cpu *c)
{
	uint64_t now = time_ns();

	if (now >= c->next_tick_ns) {
		c->ticks++;
		c->next_tick_ns += TICK_NS;
		if (c->next_tick_ns <= now) /* ticks missed (an emulator's pause) */
			c->next_tick_ns = now + TICK_NS;
	}
	if (c->current && now >= c->slice_end)
		c->need_resched = true;
	c->timer_fired = true;
	arm(c, c->next_tick_ns, now);
}

void host_timer_want(struct cpu *c, uint64_t at)
{
	if (at >= c->timer_at)
		return;
	uint64_t now = time_ns();
	if (at < now + MIN_ARM_NS)
		at = now + MIN_ARM_NS;
	if (at < c->timer_at)
		arm(c, at, now);
}
