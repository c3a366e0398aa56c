/* Each physical CPU's timer (core/host_timer.c): one-shot, always armed
 * for the earliest of the scheduler tick (HZ), the end of the running
 * vCPU's slice and the guest timers that CPU must not miss. So a guest's
 * timer interrupt comes when it is due, not at the next tick. */
#ifndef KEEL_HOST_TIMER_H
#define KEEL_HOST_TIMER_H

#include <keel/cpu.h>

/* On each CPU once, with interrupts off: one-shot mode, first tick armed. */
void host_timer_start(struct cpu *c);
/* The timer interrupt (arch/x86/traps.c): counts ticks, ends slices,
 * re-arms for the next tick and sets c->timer_fired. */
void host_timer_interrupt(struct cpu *c);
/* Make the timer fire at AT (ns, time_ns() clock) at the latest. Called
 * with interrupts off; cheap when it is armed early enough already. */
void host_timer_want(struct cpu *c, uint64_t at);

#endif
