/* Per-CPU data. %gs points at the CPU's struct cpu; this_cpu() reads it. */
#ifndef KEEL_CPU_H
#define KEEL_CPU_H

#include <arch/cpu_arch.h>
#include <keel/sched_policy.h>
#include <keel/spinlock.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_CPUS 256
#define CPU_STACK_SIZE 16384

struct vcpu;

struct cpu {
	struct cpu *self; /* must stay first: this_cpu() loads %gs:0 */
	unsigned id; /* dense index, 0 = the boot CPU */
	bool online;
	struct vcpu *current; /* vCPU being run, NULL when idle */
	struct vcpu *fpu_owner; /* whose FPU state is in the registers */
	volatile bool need_resched; /* set by the timer interrupt */
	uint64_t slice_end; /* ns */
	uint64_t ticks;
	uint64_t next_tick_ns; /* the host timer (core/host_timer.c) */
	uint64_t timer_at; /* when it is armed to fire */
	volatile bool timer_fired; /* it fired since the scheduler last looked */
	spinlock_t rq_lock;
	struct runqueue rq;
	uint64_t busy_ns, idle_ns;
	uint64_t *mem_account; /* see mem_account_begin */
	uint64_t stack_top;
	struct cpu_arch arch;
};

extern struct cpu *cpus[MAX_CPUS];
extern unsigned ncpus;

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	asm volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

#endif
