/* Scheduling decisions, free of any hypervisor state so the unit tests can
 * drive them with made-up clocks. core/sched.c owns the locking, the vCPU
 * state machine and the timer; this file only decides.
 *
 * Model: every physical CPU has a run queue of entities (vCPUs). Each entity
 * has a weighted virtual runtime; the runnable entity with the least virtual
 * runtime runs next (weighted fair queuing). A VM's cap limits the CPU time
 * all its vCPUs together may use in each period. Pinning restricts which run
 * queues an entity may be placed on. All times are nanoseconds. */
#ifndef KEEL_SCHED_POLICY_H
#define KEEL_SCHED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_MAX_CPUS 256
#define SCHED_DEFAULT_WEIGHT 256
#define SCHED_CAP_PERIOD_NS 100000000ULL /* 100 ms */

/* Per-VM accounting for the cap; shared by the VM's vCPUs. */
struct sched_group {
	uint32_t cap_pct; /* 0: no cap; 50: half of one CPU; 200: two CPUs */
	uint64_t window_start; /* start of the current cap period */
	uint64_t used; /* CPU time used by the group in this period */
};

struct sched_entity {
	uint64_t vruntime;
	uint32_t weight; /* 1..65535 */
	uint64_t affinity[SCHED_MAX_CPUS / 64]; /* all zero: any CPU */
	struct sched_group *group;
	int cpu; /* run queue it belongs to, -1 if none yet */
	bool queued; /* on its run queue's list */
	struct sched_entity *next; /* run queue list link */
};

struct runqueue {
	int cpu;
	unsigned nr_queued;
	uint64_t load; /* sum of weights of the entities assigned here */
	uint64_t min_vruntime; /* never decreases */
	struct sched_entity *head;
};

void rq_init(struct runqueue *rq, int cpu);
/* Put SE on RQ's list; an entity that slept is not credited more than one
 * time slice below the queue's min_vruntime, so sleepers cannot hoard. */
void rq_enqueue(struct runqueue *rq, struct sched_entity *se, uint64_t slice_ns);
void rq_dequeue(struct runqueue *rq, struct sched_entity *se);
/* The queued entity with the least vruntime whose group is not throttled at
 * NOW; it stays queued (the caller dequeues it to run it). NULL if none. */
struct sched_entity *rq_pick(struct runqueue *rq, uint64_t now);
/* Charge RAN ns of CPU time to SE (vruntime by weight, group cap usage). */
void se_account(struct sched_entity *se, uint64_t ran, uint64_t now);
/* True if SE's group has used its cap for the period containing NOW. */
bool group_throttled(struct sched_group *g, uint64_t now);
/* CPU time the group may still use in the period containing NOW (UINT64_MAX
 * when uncapped): a slice is cut to it. */
uint64_t group_budget_left(const struct sched_group *g, uint64_t now);
/* When the throttled group may run again (the end of its current period). */
uint64_t group_unthrottle_time(const struct sched_group *g);
bool se_allowed_on(const struct sched_entity *se, int cpu);
/* The allowed CPU (of NCPUS queues) with the least load, ties to the lowest
 * number; -1 if the affinity names no existing CPU. */
int sched_place(struct runqueue *const *rqs, int ncpus, const struct sched_entity *se);
/* Assign SE to RQ's load (placement), or remove it (when the vCPU ends). */
void rq_attach(struct runqueue *rq, struct sched_entity *se);
void rq_detach(struct runqueue *rq, struct sched_entity *se);
/* An entity that an idle CPU THIEF may take from VICTIM: queued, allowed on
 * THIEF, not throttled at NOW. NULL if none. */
struct sched_entity *rq_steal_candidate(struct runqueue *victim, int thief, uint64_t now);

#endif
