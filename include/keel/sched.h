/* The scheduler: runs vCPUs of all VMs on all physical CPUs. */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include <keel/cpu.h>
#include <keel/vm.h>

#define HZ 250 /* scheduler tick; time slices are whole ticks */

/* One lock for vCPU and VM states and the run queues. It is taken at slice
 * boundaries and state changes, never on the exit path between entries.
 * Take it with sched_lock_take(): code that may run with or without it
 * (interrupt delivery, reached from the shell's console input and from the
 * wake-up check) asks sched_lock_mine(). */
extern spinlock_t sched_lock;
extern volatile int sched_lock_cpu; /* the holder's CPU id, -1 if free */

static inline void sched_lock_take(void)
{
	spin_lock(&sched_lock);
	sched_lock_cpu = (int)this_cpu()->id;
}

static inline void sched_lock_drop(void)
{
	sched_lock_cpu = -1;
	spin_unlock(&sched_lock);
}

/* Only the holder can see its own id here: no race for the question. */
static inline bool sched_lock_mine(void)
{
	return sched_lock_cpu == (int)this_cpu()->id;
}
extern uint32_t sched_timeslice_ns;

/* Make V runnable (it must not be queued): place it on a CPU it may use. */
void sched_wake_locked(struct vcpu *v);
/* Take V off its run queue if it is on one. */
void sched_remove_locked(struct vcpu *v);
/* CPU time V has used, its current slice included (sched_lock held). */
uint64_t sched_vcpu_time_locked(const struct vcpu *v);
void sched_init(void); /* once, on the boot CPU */
/* The scheduling loop of one physical CPU; never returns. */
void sched_loop(struct cpu *c) __attribute__((noreturn));
/* Hooks for the boot CPU's loop (the shell) and VM end (core/vm.c). */
void shell_poll(void);
extern bool shell_debug_commands;
void vm_finish(struct vm *vm);

#endif
