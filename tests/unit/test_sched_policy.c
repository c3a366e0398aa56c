/* Unit tests for the scheduling policy (core/sched_policy.c), driven by a
 * simulated clock. sim_cpu() plays the part of core/sched.c for one CPU: pick,
 * dequeue, run one slice, account, re-enqueue, and sleep until the earliest
 * unthrottle time when nothing may run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <keel/sched_policy.h>

#define MS 1000000ULL
#define SLICE (1 * MS)

/* An entity plus the CPU time the simulation gave it; se must come first. */
struct ent {
	struct sched_entity se;
	uint64_t got;
};

static void ent_init(struct ent *e, uint32_t weight, struct sched_group *g)
{
	memset(e, 0, sizeof(*e));
	e->se.weight = weight;
	e->se.group = g;
	e->se.cpu = -1;
}

/* The slice the simulated caller passes to rq_enqueue (the sleeper credit). */
static uint64_t clamp_slice = SLICE;

/* One scheduling step on RQ at *NOW; returns what ran (NULL: idled). */
static struct ent *sim_step(struct runqueue *rq, uint64_t *now)
{
	struct sched_entity *se = rq_pick(rq, *now), *it;
	uint64_t prev_min = rq->min_vruntime, wake = UINT64_MAX;

	if (!se) {
		/* Everything throttled: idle until the first group may run. */
		for (it = rq->head; it; it = it->next) {
			assert_non_null(it->group);
			assert_true(group_throttled(it->group, *now));
			if (group_unthrottle_time(it->group) < wake)
				wake = group_unthrottle_time(it->group);
		}
		assert_true(wake > *now);
		*now = wake;
		return NULL;
	}
	rq_dequeue(rq, se);
	*now += SLICE;
	se_account(se, SLICE, *now);
	((struct ent *)se)->got += SLICE;
	rq_enqueue(rq, se, clamp_slice);
	assert_true(rq->min_vruntime >= prev_min);
	return (struct ent *)se;
}

static void sim_cpu(struct runqueue *rq, uint64_t *now, uint64_t until)
{
	while (*now < until)
		sim_step(rq, now);
}

static void test_fairness_by_weight(void **state)
{
	struct runqueue rq;
	struct ent a, b;
	uint64_t now = 0;
	double ratio;

	(void)state;
	rq_init(&rq, 0);
	ent_init(&a, 256, NULL);
	ent_init(&b, 512, NULL);
	rq_enqueue(&rq, &a.se, SLICE);
	rq_enqueue(&rq, &b.se, SLICE);
	sim_cpu(&rq, &now, 3000 * MS);
	ratio = (double)b.got / (double)a.got;
	assert_true(ratio > 2.0 * 0.95 && ratio < 2.0 * 1.05);
	assert_int_equal(a.got + b.got, 3000 * MS);
}

static void test_equal_weights_alternate(void **state)
{
	struct runqueue rq;
	struct ent e[3];
	uint64_t now = 0;
	int i;

	(void)state;
	rq_init(&rq, 0);
	for (i = 0; i < 3; i++) {
		ent_init(&e[i], SCHED_DEFAULT_WEIGHT, NULL);
		rq_enqueue(&rq, &e[i].se, SLICE);
	}
	/* Equal vruntimes: ties go to the earliest queued, i.e. round robin. */
	for (i = 0; i < 9; i++)
		assert_ptr_equal(sim_step(&rq, &now), &e[i % 3]);
	for (i = 0; i < 3; i++)
		assert_int_equal(e[i].got, 3 * MS);
}

static void test_account_scaling(void **state)
{
	struct ent e;

	(void)state;
	ent_init(&e, 512, NULL);
	se_account(&e.se, 1000, 0);
	assert_int_equal(e.se.vruntime, 500);
	ent_init(&e, 3, NULL);
	se_account(&e.se, 1000, 0);
	assert_int_equal(e.se.vruntime, 1000ULL * 256 / 3);
	ent_init(&e, 0, NULL); /* treated as weight 1 */
	se_account(&e.se, 1000, 0);
	assert_int_equal(e.se.vruntime, 256000);
	se_account(&e.se, UINT64_MAX, 0); /* saturates instead of wrapping */
	assert_int_equal(e.se.vruntime, UINT64_MAX);
}

static void test_cap_with_competitor(void **state)
{
	struct sched_group g = {.cap_pct = 30};
	struct runqueue rq;
	struct ent capped, free_ent;
	uint64_t now = 0;

	(void)state;
	rq_init(&rq, 0);
	ent_init(&capped, SCHED_DEFAULT_WEIGHT, &g);
	ent_init(&free_ent, SCHED_DEFAULT_WEIGHT, NULL);
	rq_enqueue(&rq, &capped.se, SLICE);
	rq_enqueue(&rq, &free_ent.se, SLICE);
	sim_cpu(&rq, &now, 1000 * MS);
	/* 30% of one second, give or take a slice per window. */
	assert_true(capped.got >= 290 * MS && capped.got <= 310 * MS);
	assert_int_equal(capped.got + free_ent.got, 1000 * MS);
}

static void test_cap_alone_throttled_until_window_end(void **state)
{
	struct sched_group g = {.cap_pct = 30};
	struct runqueue rq;
	struct ent e;
	uint64_t now = 0;
	int i;

	(void)state;
	rq_init(&rq, 0);
	ent_init(&e, SCHED_DEFAULT_WEIGHT, &g);
	rq_enqueue(&rq, &e.se, SLICE);
	for (i = 0; i < 30; i++)
		assert_ptr_equal(sim_step(&rq, &now), &e);
	assert_int_equal(now, 30 * MS);
	assert_true(group_throttled(&g, now));
	assert_null(rq_pick(&rq, now));
	assert_null(rq_pick(&rq, 99 * MS));
	assert_int_equal(group_unthrottle_time(&g), 100 * MS);
	/* The idle step sleeps exactly until the window ends. */
	assert_null(sim_step(&rq, &now));
	assert_int_equal(now, 100 * MS);
	assert_false(group_throttled(&g, now));
	assert_ptr_equal(sim_step(&rq, &now), &e);
	assert_int_equal(g.window_start, 100 * MS);
	assert_int_equal(g.used, SLICE);
	/* Over a longer run it keeps getting exactly its 30%. */
	e.got = 0;
	now = 100 * MS;
	g.used = 0;
	sim_cpu(&rq, &now, 1100 * MS);
	assert_int_equal(e.got, 300 * MS);
}

/* A cap above 100% spans CPUs: two vCPUs of a 150% group on two CPUs. */
static void test_cap_across_cpus(void **state)
{
	struct sched_group g = {.cap_pct = 150};
	struct runqueue rq0, rq1;
	struct ent v0, v1;
	uint64_t now0 = 0, now1 = 0;

	(void)state;
	rq_init(&rq0, 0);
	rq_init(&rq1, 1);
	ent_init(&v0, SCHED_DEFAULT_WEIGHT, &g);
	ent_init(&v1, SCHED_DEFAULT_WEIGHT, &g);
	rq_enqueue(&rq0, &v0.se, SLICE);
	rq_enqueue(&rq1, &v1.se, SLICE);
	while (now0 < 1000 * MS || now1 < 1000 * MS) {
		/* Keep the two CPUs' clocks in step. */
		if (now0 <= now1)
			sim_step(&rq0, &now0);
		else
			sim_step(&rq1, &now1);
	}
	assert_int_equal(v0.got + v1.got, 1500 * MS);
}

static void test_group_throttled_rules(void **state)
{
	struct sched_group g = {.cap_pct = 0, .window_start = 0, .used = 500 * MS};

	(void)state;
	assert_false(group_throttled(NULL, 0));
	assert_false(group_throttled(&g, 10 * MS)); /* no cap */
	g.cap_pct = 50;
	g.used = 50 * MS - 1;
	assert_false(group_throttled(&g, 10 * MS));
	g.used = 50 * MS;
	assert_true(group_throttled(&g, 10 * MS));
	assert_true(group_throttled(&g, 100 * MS - 1));
	assert_false(group_throttled(&g, 100 * MS)); /* window expired */
	/* Accounting after a long pause starts a fresh, period-aligned window. */
	se_account(&(struct sched_entity){.weight = 256, .group = &g}, 2 * MS, 350 * MS);
	assert_int_equal(g.window_start, 300 * MS);
	assert_int_equal(g.used, 2 * MS);
	assert_false(group_throttled(&g, 351 * MS));
}

static void test_sleeper_clamp(void **state)
{
	struct runqueue rq;
	struct ent runner, sleeper, ahead, early;
	uint64_t now = 0, min;

	(void)state;
	rq_init(&rq, 0);
	ent_init(&runner, SCHED_DEFAULT_WEIGHT, NULL);
	ent_init(&early, SCHED_DEFAULT_WEIGHT, NULL);
	/* While min_vruntime <= slice the floor would be negative: no clamp. */
	rq_enqueue(&rq, &early.se, 3 * MS);
	assert_int_equal(early.se.vruntime, 0);
	rq_dequeue(&rq, &early.se);

	rq_enqueue(&rq, &runner.se, SLICE);
	sim_cpu(&rq, &now, 1000 * MS);
	min = rq.min_vruntime;
	assert_int_equal(min, runner.se.vruntime);
	assert_int_equal(min, 1000 * MS);

	ent_init(&sleeper, SCHED_DEFAULT_WEIGHT, NULL);
	rq_enqueue(&rq, &sleeper.se, 3 * MS);
	assert_int_equal(sleeper.se.vruntime, min - 3 * MS);
	assert_int_equal(rq.min_vruntime, min); /* never decreases */

	ent_init(&ahead, SCHED_DEFAULT_WEIGHT, NULL);
	ahead.se.vruntime = min + 7;
	rq_enqueue(&rq, &ahead.se, 3 * MS);
	assert_int_equal(ahead.se.vruntime, min + 7);
	assert_int_equal(rq.nr_queued, 3);

	/* The woken sleeper has only its 3 ms of credit: it runs for three
	 * slices, then all three share again. */
	clamp_slice = 3 * MS;
	runner.got = sleeper.got = 0;
	sim_cpu(&rq, &now, now + 3 * MS);
	assert_int_equal(sleeper.got, 3 * MS);
	sim_cpu(&rq, &now, now + 30 * MS);
	clamp_slice = SLICE;
	assert_true(runner.got >= 9 * MS && runner.got <= 11 * MS);
	assert_true(sleeper.got >= 12 * MS && sleeper.got <= 14 * MS);
}

static void test_pick_and_queue_basics(void **state)
{
	struct sched_group g = {.cap_pct = 10, .used = 10 * MS};
	struct runqueue rq;
	struct ent a, b, c;

	(void)state;
	rq_init(&rq, 5);
	assert_null(rq_pick(&rq, 0));
	ent_init(&a, 256, &g);
	ent_init(&b, 256, &g);
	ent_init(&c, 256, NULL);
	a.se.vruntime = 5;
	b.se.vruntime = 9;
	c.se.vruntime = 20;
	rq_enqueue(&rq, &a.se, SLICE);
	rq_enqueue(&rq, &a.se, SLICE); /* already queued: no change */
	rq_enqueue(&rq, &b.se, SLICE);
	assert_int_equal(rq.nr_queued, 2);
	/* Both in a throttled group: nothing may run. */
	assert_null(rq_pick(&rq, 1 * MS));
	rq_enqueue(&rq, &c.se, SLICE);
	assert_ptr_equal(rq_pick(&rq, 1 * MS), &c.se);
	assert_true(c.se.queued); /* pick does not dequeue */
	assert_ptr_equal(rq_pick(&rq, 100 * MS), &a.se); /* window over */
	rq_dequeue(&rq, &a.se);
	assert_false(a.se.queued);
	assert_int_equal(rq.nr_queued, 2);
	rq_dequeue(&rq, &a.se); /* not queued: no change */
	assert_int_equal(rq.nr_queued, 2);
	assert_ptr_equal(rq_pick(&rq, 100 * MS), &b.se);
}

static void test_affinity(void **state)
{
	struct ent e;

	(void)state;
	ent_init(&e, 256, NULL);
	assert_true(se_allowed_on(&e.se, 0));
	assert_true(se_allowed_on(&e.se, SCHED_MAX_CPUS - 1));
	assert_false(se_allowed_on(&e.se, -1));
	assert_false(se_allowed_on(&e.se, SCHED_MAX_CPUS));
	e.se.affinity[1] = 1ULL << 6; /* CPU 70 only */
	assert_true(se_allowed_on(&e.se, 70));
	assert_false(se_allowed_on(&e.se, 6));
	assert_false(se_allowed_on(&e.se, 0));
}

static void test_placement(void **state)
{
	static struct runqueue rq[128];
	struct runqueue *rqs[128];
	struct ent e, load[4];
	static const uint32_t weights[4] = {512, 256, 256, 1024};
	int i;

	(void)state;
	for (i = 0; i < 128; i++) {
		rq_init(&rq[i], i);
		rqs[i] = &rq[i];
	}
	for (i = 0; i < 4; i++) {
		ent_init(&load[i], weights[i], NULL);
		rq_attach(&rq[i], &load[i].se);
		assert_int_equal(load[i].se.cpu, i);
	}
	ent_init(&e, 256, NULL);
	assert_int_equal(sched_place(rqs, 4, &e.se), 1); /* tie 1/2: lowest */
	e.se.affinity[0] = (1ULL << 0) | (1ULL << 3);
	assert_int_equal(sched_place(rqs, 4, &e.se), 0);
	e.se.affinity[0] = 1ULL << 3;
	assert_int_equal(sched_place(rqs, 4, &e.se), 3);
	e.se.affinity[0] = 0;
	e.se.affinity[1] = 1ULL << 6; /* CPU 70 */
	assert_int_equal(sched_place(rqs, 4, &e.se), -1);
	assert_int_equal(sched_place(rqs, 128, &e.se), 70);
	e.se.affinity[1] = 0;
	assert_int_equal(sched_place(rqs, 128, &e.se), 4); /* idle CPUs win */

	/* Attach and detach move load; detach also leaves the queue. */
	rq_attach(&rq[1], &e.se);
	assert_int_equal(rq[1].load, 512);
	assert_int_equal(e.se.cpu, 1);
	assert_int_equal(sched_place(rqs, 4, &load[0].se), 2);
	rq_enqueue(&rq[1], &e.se, SLICE);
	rq_detach(&rq[1], &e.se);
	assert_int_equal(rq[1].load, 256);
	assert_int_equal(e.se.cpu, -1);
	assert_false(e.se.queued);
	assert_int_equal(rq[1].nr_queued, 0);
	ent_init(&e, 0, NULL); /* weight 0 counts as 1 */
	rq_attach(&rq[9], &e.se);
	assert_int_equal(rq[9].load, 1);
	rq_detach(&rq[9], &e.se);
	assert_int_equal(rq[9].load, 0);
}

static void test_steal_candidate(void **state)
{
	struct sched_group g = {.cap_pct = 20, .used = 20 * MS};
	struct runqueue victim;
	struct ent e1, e2, e3, e4;

	(void)state;
	rq_init(&victim, 2);
	assert_null(rq_steal_candidate(&victim, 1, 0));
	ent_init(&e1, 256, NULL);
	ent_init(&e2, 256, NULL);
	ent_init(&e3, 256, &g);
	ent_init(&e4, 256, NULL);
	e1.se.vruntime = 10;
	e2.se.vruntime = 50;
	e2.se.affinity[0] = 1ULL << 0; /* CPU 0 only */
	e3.se.vruntime = 30;
	e4.se.vruntime = 20;
	rq_enqueue(&victim, &e1.se, SLICE);
	rq_enqueue(&victim, &e2.se, SLICE);
	rq_enqueue(&victim, &e3.se, SLICE);
	rq_enqueue(&victim, &e4.se, SLICE);
	/* CPU 1 may not take e2 (affinity) nor e3 (throttled): e4 is least urgent. */
	assert_ptr_equal(rq_steal_candidate(&victim, 1, 5 * MS), &e4.se);
	assert_ptr_equal(rq_steal_candidate(&victim, 0, 5 * MS), &e2.se);
	/* Once e3's window is over, it is eligible and the least urgent. */
	assert_ptr_equal(rq_steal_candidate(&victim, 1, 100 * MS), &e3.se);
	rq_dequeue(&victim, &e1.se);
	rq_dequeue(&victim, &e4.se);
	assert_null(rq_steal_candidate(&victim, 1, 5 * MS));
	assert_null(rq_steal_candidate(&victim, -1, 5 * MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fairness_by_weight),
	    cmocka_unit_test(test_equal_weights_alternate),
	    cmocka_unit_test(test_account_scaling),
	    cmocka_unit_test(test_cap_with_competitor),
	    cmocka_unit_test(test_cap_alone_throttled_until_window_end),
	    cmocka_unit_test(test_cap_across_cpus),
	    cmocka_unit_test(test_group_throttled_rules),
	    cmocka_unit_test(test_sleeper_clamp),
	    cmocka_unit_test(test_pick_and_queue_basics),
	    cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_placement),
	    cmocka_unit_test(test_steal_candidate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
