/* Scheduling policy (see include/keel/sched_policy.h): pure decisions over
 * run queues, entities and cap groups; the caller provides locking and time.
 *
 * Run queues are singly linked lists kept in enqueue order. They hold a few
 * vCPUs at most, so every operation is a plain O(n) walk; being in enqueue
 * order makes "ties go to the entity queued earliest" fall out of a strict
 * less-than comparison.
 *
 * min_vruntime: se_account only knows the entity, not its queue, so the queue's
 * min_vruntime is advanced when an entity is (re)enqueued after running: it
 * becomes the least vruntime on the queue if that is larger than before, so it
 * never decreases and never passes a queued entity. The caller re-enqueues an
 * entity after it ran with the same slice_ns it uses for wake-ups, so an
 * entity keeps the (at most one slice of) credit it woke up with. */
#include <keel/sched_policy.h>
#include <stddef.h>

static uint32_t effective_weight(uint32_t weight)
{
	return weight ? weight : 1; /* weight 0 would divide by zero */
}

void rq_init(struct runqueue *rq, int cpu)
{
	rq->cpu = cpu;
	rq->nr_queued = 0;
	rq->load = 0;
	rq->min_vruntime = 0;
	rq->head = NULL;
}

static void update_min_vruntime(struct runqueue *rq)
{
	const struct sched_entity *se;
	uint64_t least = UINT64_MAX;

	for (se = rq->head; se; se = se->next)
		if (se->vruntime < least)
			least = se->vruntime;
	if (rq->head && least > rq->min_vruntime)
		rq->min_vruntime = least;
}

void rq_enqueue(struct runqueue *rq, struct sched_entity *se, uint64_t slice_ns)
{
	struct sched_entity **link;

	if (se->queued)
		return;
	/* A sleeper keeps at most one slice of credit below the queue's minimum.
	 * When min_vruntime <= slice_ns the floor would be <= 0: nothing to do. */
	if (rq->min_vruntime > slice_ns && se->vruntime < rq->min_vruntime - slice_ns)
		se->vruntime = rq->min_vruntime - slice_ns;

	for (link = &rq->head; *link; link = &(*link)->next)
		;
	se->next = NULL;
	*link = se;
	se->queued = true;
	rq->nr_queued++;
	update_min_vruntime(rq);
}

void rq_dequeue(struct runqueue *rq, struct sched_entity *se)
{
	struct sched_entity **link;

	for (link = &rq->head; *link; link = &(*link)->next) {
		if (*link == se) {
			*link = se->next;
			se->next = NULL;
			se->queued = false;
			rq->nr_queued--;
			return;
		}
	}
}

struct sched_entity *rq_pick(struct runqueue *rq, uint64_t now)
{
	struct sched_entity *se, *best = NULL;

	for (se = rq->head; se; se = se->next) {
		if (se->group && group_throttled(se->group, now))
			continue;
		if (!best || se->vruntime < best->vruntime)
			best = se;
	}
	return best;
}

/* RAN * SCHED_DEFAULT_WEIGHT / WEIGHT without a 128-bit intermediate (which
 * would need libgcc in the freestanding build), saturating on overflow. */
static uint64_t scale_runtime(uint64_t ran, uint32_t weight)
{
	uint64_t whole = ran / weight, rest = ran % weight;

	if (whole > UINT64_MAX / SCHED_DEFAULT_WEIGHT)
		return UINT64_MAX;
	/* rest < weight <= 2^32, so rest * 256 cannot overflow. */
	whole *= SCHED_DEFAULT_WEIGHT;
	return whole + rest * SCHED_DEFAULT_WEIGHT / weight;
}

static uint64_t saturating_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t group_budget(const struct sched_group *g)
{
	return (uint64_t)g->cap_pct * SCHED_CAP_PERIOD_NS / 100;
}

/* Usage carried into the period containing NOW. A slice can only be ended
 * at a timer tick, so a capped group may overrun its budget a little; the
 * overrun is paid back from the following periods rather than forgotten,
 * so over time the group gets exactly its cap. Idle periods repay it. */
static uint64_t group_used_at(const struct sched_group *g, uint64_t now, uint64_t *window)
{
	uint64_t start = g->window_start, used = g->used;

	if (now >= start && now - start >= SCHED_CAP_PERIOD_NS) {
		uint64_t periods = (now - start) / SCHED_CAP_PERIOD_NS;
		uint64_t repaid = g->cap_pct ? periods * group_budget(g) : UINT64_MAX;

		if (g->cap_pct && periods > UINT64_MAX / group_budget(g))
			repaid = UINT64_MAX;
		used = used > repaid ? used - repaid : 0;
		start += periods * SCHED_CAP_PERIOD_NS;
	}
	if (window)
		*window = start;
	return used;
}

void se_account(struct sched_entity *se, uint64_t ran, uint64_t now)
{
	struct sched_group *g = se->group;

	se->vruntime =
	    saturating_add(se->vruntime, scale_runtime(ran, effective_weight(se->weight)));
	if (!g)
		return;
	/* Roll the window forward by whole periods, so period boundaries stay
	 * where they were even after a long idle stretch. */
	g->used = saturating_add(group_used_at(g, now, &g->window_start), ran);
}

bool group_throttled(struct sched_group *g, uint64_t now)
{
	if (!g || g->cap_pct == 0)
		return false;
	return group_used_at(g, now, NULL) >= group_budget(g);
}

uint64_t group_budget_left(const struct sched_group *g, uint64_t now)
{
	if (!g || g->cap_pct == 0)
		return UINT64_MAX;
	uint64_t used = group_used_at(g, now, NULL), budget = group_budget(g);
	return used < budget ? budget - used : 0;
}

uint64_t group_unthrottle_time(const struct sched_group *g)
{
	return g->window_start + SCHED_CAP_PERIOD_NS;
}

bool se_allowed_on(const struct sched_entity *se, int cpu)
{
	unsigned i;
	bool any = false;

	if (cpu < 0 || cpu >= SCHED_MAX_CPUS)
		return false;
	for (i = 0; i < SCHED_MAX_CPUS / 64; i++)
		any |= se->affinity[i] != 0;
	if (!any)
		return true;
	return (se->affinity[cpu / 64] >> (cpu % 64)) & 1;
}

/* rqs[i] is CPU i's queue; NULL entries (CPUs not brought up) are skipped. */
int sched_place(struct runqueue *const *rqs, int ncpus, const struct sched_entity *se)
{
	int cpu, best = -1;

	if (ncpus > SCHED_MAX_CPUS)
		ncpus = SCHED_MAX_CPUS;
	for (cpu = 0; cpu < ncpus; cpu++) {
		if (!rqs[cpu] || !se_allowed_on(se, cpu))
			continue;
		if (best < 0 || rqs[cpu]->load < rqs[best]->load)
			best = cpu;
	}
	return best;
}

void rq_attach(struct runqueue *rq, struct sched_entity *se)
{
	rq->load += effective_weight(se->weight);
	se->cpu = rq->cpu;
}

void rq_detach(struct runqueue *rq, struct sched_entity *se)
{
	uint32_t w = effective_weight(se->weight);

	/* An entity leaving its queue's load cannot stay on its list. */
	if (se->queued)
		rq_dequeue(rq, se);
	rq->load = rq->load >= w ? rq->load - w : 0;
	se->cpu = -1;
}

/* The least urgent eligible entity: largest vruntime, and among equals the one
 * queued last, since the victim would run it last anyway. */
struct sched_entity *rq_steal_candidate(struct runqueue *victim, int thief, uint64_t now)
{
	struct sched_entity *se, *best = NULL;

	for (se = victim->head; se; se = se->next) {
		if (!se_allowed_on(se, thief))
			continue;
		if (se->group && group_throttled(se->group, now))
			continue;
		if (!best || se->vruntime >= best->vruntime)
			best = se;
	}
	return best;
}
