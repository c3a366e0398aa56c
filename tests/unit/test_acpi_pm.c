/* Unit tests for the ACPI PM block and the 0xCF9 reset register
 * (vdev/acpi_pm.c), driven through their ports as Linux's ACPI core and
 * reboot code drive them, on a simulated nanosecond clock. Expected timer
 * values come from an independent 128-bit computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/acpi_pm.h>

#define BASE 0x600
#define STS (BASE + 0)
#define EN (BASE + 2)
#define CNT (BASE + 4)
#define TMR (BASE + 8)
#define NS 1000000000ULL
#define T0 7000000123ULL /* now_ns when the block is created */
#define HZ 3579545ULL

static struct acpi_pm pm;

static int setup(void **state)
{
	(void)state;
	acpi_pm_init(&pm, BASE, T0);
	return 0;
}

/* The timer's value DT ns after init, the slow, obvious way. */
static uint32_t expect_tmr(uint64_t dt)
{
	return (uint32_t)((unsigned __int128)dt * HZ / NS & 0xFFFFFF);
}

/* When bit 23 of the timer changes for the Kth time, in ns after init. */
static uint64_t flip(uint64_t k)
{
	return (uint64_t)(((unsigned __int128)k << 23) * NS + HZ - 1) / HZ;
}

static uint32_t tmr(uint64_t dt)
{
	return acpi_pm_read(&pm, TMR, 4, T0 + dt);
}

static void test_timer_values(void **state)
{
	static const uint64_t dts[] = {
	    0,
	    1,
	    279,
	    280,
	    1000,
	    NS - 1,
	    NS,
	    4686968874ULL,
	    4686968875ULL,
	    3600 * NS + 12345,
	    86400 * NS,
	    10 * 365 * 86400 * NS + 999999999,
	    (1ULL << 62) + 7,
	    UINT64_MAX - T0,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(dts) / sizeof(dts[0]); i++)
		assert_int_equal(tmr(dts[i]), expect_tmr(dts[i]));
	assert_int_equal(tmr(NS), HZ); /* one second: 3579545 ticks */
	/* Before init (a clock that went backwards) reads 0, harmlessly. */
	assert_int_equal(acpi_pm_read(&pm, TMR, 4, 0), 0);
	/* Narrow reads see the same counter; bits 31:24 are 0. */
	assert_int_equal(acpi_pm_read(&pm, TMR, 2, T0 + NS), HZ & 0xFFFF);
	assert_int_equal(acpi_pm_read(&pm, TMR + 2, 1, T0 + NS), (HZ >> 16) & 0xFF);
	assert_int_equal(acpi_pm_read(&pm, TMR + 3, 1, T0 + NS), 0);
	/* Read-only. */
	acpi_pm_write(&pm, TMR, 4, 0, T0 + NS);
	assert_int_equal(tmr(NS), HZ);
}

/* Step through simulated time with uneven steps across many wraps: the
 * counter only moves forward (mod 2^24), and the total of its steps is
 * exactly the elapsed time times 3.579545 MHz. */
static void test_timer_monotonic_and_rate(void **state)
{
	uint64_t dt = 0, total = 0, wraps = 0;
	uint32_t prev = tmr(0);

	(void)state;
	srand(1);
	while (dt < 100 * NS) {
		uint32_t cur, step;

		dt += (uint64_t)(rand() % 50000000) + 1; /* up to 50 ms */
		cur = tmr(dt);
		assert_int_equal(cur, expect_tmr(dt));
		step = (cur - prev) & 0xFFFFFF;
		assert_true(step < 0x800000); /* forward, never a big jump */
		if (cur < prev)
			wraps++;
		total += step;
		prev = cur;
	}
	assert_true(total == (uint64_t)((unsigned __int128)dt * HZ / NS));
	/* 2^24 ticks is 4.687 s: 100+ s holds 21 wraps. */
	assert_int_equal(wraps, total >> 24);
	assert_int_equal(wraps, 21);
}

/* The wrap itself, at the exact nanosecond. */
static void test_timer_wrap(void **state)
{
	/* First ns with 2^24 ticks: ceil(2^24 * 1e9 / HZ). */
	const uint64_t wrap = (uint64_t)(((unsigned __int128)1 << 24) * NS + HZ - 1) / HZ;

	(void)state;
	assert_int_equal(wrap, 4686968875ULL);
	assert_int_equal(tmr(wrap - 1), 0xFFFFFF);
	assert_int_equal(tmr(wrap), 0);
	assert_int_equal(tmr(2 * wrap), expect_tmr(2 * wrap));
}

static void test_pm1_status_w1c(void **state)
{
	(void)state;
	assert_int_equal(flip(1), 2343484438ULL);
	assert_int_equal(flip(2), 4686968875ULL); /* not 2 * flip(1) */
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0), 0);
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1) - 1), 0);
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1)), ACPI_PM1_TMR_STS);
	acpi_pm_power_button(&pm);
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1)), 0x0101);
	/* Writing 0 clears nothing; writing 1 clears just that bit. */
	acpi_pm_write(&pm, STS, 2, 0, T0 + flip(1));
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1)), 0x0101);
	acpi_pm_write(&pm, STS, 2, ACPI_PM1_TMR_STS, T0 + flip(1));
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1)), ACPI_PM1_PWRBTN_STS);
	/* Byte write to the high byte. */
	acpi_pm_write(&pm, STS + 1, 1, 0x01, T0 + flip(1));
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(1)), 0);
	/* TMR_STS comes back only at the next bit-23 change. */
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(2) - 1), 0);
	assert_int_equal(acpi_pm_read(&pm, STS, 1, T0 + flip(2)), ACPI_PM1_TMR_STS);
	/* Many flips later it is one bit, cleared by one write. */
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(100)), ACPI_PM1_TMR_STS);
	acpi_pm_write(&pm, STS, 2, 0xFFFF, T0 + flip(100));
	assert_int_equal(acpi_pm_read(&pm, STS, 2, T0 + flip(100)), 0);
}

static void test_enable_and_sci(void **state)
{
	uint64_t at;

	(void)state;
	acpi_pm_write(&pm, EN, 2, 0xFFFF, T0);
	assert_int_equal(acpi_pm_read(&pm, EN, 2, T0), 0x0521);
	acpi_pm_write(&pm, EN + 1, 1, 0x00, T0);
	assert_int_equal(acpi_pm_read(&pm, EN, 2, T0), 0x0021);
	/* A dword at the base is STS | EN << 16. */
	assert_int_equal(acpi_pm_read(&pm, STS, 4, T0), 0x00210000);
	acpi_pm_write(&pm, EN, 2, 0, T0);
	assert_int_equal(acpi_pm_sci_deadline(&pm, T0), UINT64_MAX); /* nothing enabled */
	/* The timer's SCI, at the exact flip. */
	acpi_pm_write(&pm, EN, 2, ACPI_PM1_TMR_EN, T0);
	at = acpi_pm_sci_deadline(&pm, T0);
	assert_true(at == T0 + flip(1));
	assert_false(acpi_pm_sci_level(&pm, at - 1));
	assert_true(acpi_pm_sci_level(&pm, at));
	assert_int_equal(acpi_pm_sci_deadline(&pm, at), UINT64_MAX); /* high already */
	acpi_pm_write(&pm, STS, 2, ACPI_PM1_TMR_STS, at);
	assert_false(acpi_pm_sci_level(&pm, at));
	assert_true(acpi_pm_sci_deadline(&pm, at) == T0 + flip(2));
	/* A flip not looked at yet: the deadline is now. */
	assert_true(acpi_pm_sci_deadline(&pm, T0 + flip(5)) == T0 + flip(5));
	/* Status without enable raises nothing. */
	acpi_pm_write(&pm, EN, 2, 0, T0 + flip(5));
	assert_false(acpi_pm_sci_level(&pm, T0 + flip(5)));
	/* Power button with PWRBTN_EN. */
	acpi_pm_write(&pm, STS, 2, 0xFFFF, T0 + flip(5));
	acpi_pm_write(&pm, EN, 2, ACPI_PM1_PWRBTN_EN, T0 + flip(5));
	assert_false(acpi_pm_sci_level(&pm, T0 + flip(5)));
	acpi_pm_power_button(&pm);
	assert_true(acpi_pm_sci_level(&pm, T0 + flip(5)));
	acpi_pm_write(&pm, STS, 2, ACPI_PM1_PWRBTN_STS, T0 + flip(5));
	assert_false(acpi_pm_sci_level(&pm, T0 + flip(5)));
	/* A flip beyond the end of time never comes. */
	acpi_pm_init(&pm, BASE, UINT64_MAX - NS);
	acpi_pm_write(&pm, EN, 2, ACPI_PM1_TMR_EN, UINT64_MAX - NS);
	assert_int_equal(acpi_pm_sci_deadline(&pm, UINT64_MAX - NS), UINT64_MAX);
	assert_false(acpi_pm_sci_level(&pm, UINT64_MAX));
}

static void test_pm1_control(void **state)
{
	(void)state;
	assert_int_equal(acpi_pm_read(&pm, CNT, 2, T0), ACPI_PM1_SCI_EN); /* ACPI mode */
	acpi_pm_write(&pm, CNT, 2, 0, T0); /* SCI_EN cannot be cleared */
	assert_int_equal(acpi_pm_read(&pm, CNT, 2, T0), ACPI_PM1_SCI_EN);
	acpi_pm_write(&pm, CNT, 2, 0xDFFF, T0); /* all but SLP_EN */
	assert_int_equal(acpi_pm_read(&pm, CNT, 2, T0), 0x1C03);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	assert_int_equal(acpi_pm_read(&pm, CNT + 2, 2, T0), 0); /* reserved */
	assert_int_equal(acpi_pm_read(&pm, BASE + ACPI_PM_LEN, 1, T0), 0xFF);
	assert_int_equal(acpi_pm_read(&pm, BASE - 1, 2, T0), 0x00FF);
	assert_int_equal(acpi_pm_read(&pm, TMR + 2, 4, T0), 0xFFFF0000);
	assert_int_equal(acpi_pm_read(&pm, CNT, 3, T0), 0xFFFFFFFF);
}

/* Linux's acpi_enter_sleep_state(5): SLP_TYP first, then SLP_TYP|SLP_EN. */
static void test_poweroff_once(void **state)
{
	uint16_t typ = ACPI_PM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT;

	(void)state;
	acpi_pm_write(&pm, CNT, 2, typ | ACPI_PM1_SCI_EN, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	acpi_pm_write(&pm, CNT, 2, typ | ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_POWEROFF);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	/* SLP_EN reads 0; SLP_TYP stays. */
	assert_int_equal(acpi_pm_read(&pm, CNT, 2, T0), typ | ACPI_PM1_SCI_EN);
	/* A byte write of the high byte alone works too (SLP_TYP 5 | SLP_EN). */
	acpi_pm_init(&pm, BASE, T0);
	acpi_pm_write(&pm, CNT + 1, 1, (5 << 2) | 0x20, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_POWEROFF);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	/* SLP_EN alone uses the SLP_TYP written before. */
	acpi_pm_write(&pm, CNT + 1, 1, 0x20, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_SLEEP_OTHER); /* typ now 0 */
	acpi_pm_write(&pm, CNT, 2, typ, T0);
	acpi_pm_write(&pm, CNT + 1, 1, (uint8_t)(typ >> 8) | 0x20, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_POWEROFF);
}

static void test_sleep_other(void **state)
{
	(void)state;
	for (unsigned t = 0; t < 8; t++) {
		if (t == ACPI_PM_SLP_TYP_S5)
			continue;
		acpi_pm_write(&pm, CNT, 2, t << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, T0);
		assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_SLEEP_OTHER);
		assert_int_equal((pm.cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT, t);
		assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	}
	/* SLP_EN in a dword write at the base (STS | EN << 16) is not in
	 * PM1_CNT: no request. */
	acpi_pm_write(&pm, STS, 4, 0xFFFFFFFF, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
}

static void test_other_base(void **state)
{
	(void)state;
	acpi_pm_init(&pm, 0xB000, T0);
	assert_int_equal(acpi_pm_read(&pm, 0xB004, 2, T0), ACPI_PM1_SCI_EN);
	assert_int_equal(acpi_pm_read(&pm, 0xB008, 4, T0 + NS), HZ);
	assert_int_equal(acpi_pm_read(&pm, CNT, 2, T0), 0xFFFF);
	acpi_pm_write(&pm, CNT, 2, 0x3400, T0);
	assert_int_equal(acpi_pm_take_request(&pm), ACPI_PM_REQ_NONE);
	/* The last byte before 0x10000 does not wrap into the block. */
	acpi_pm_init(&pm, 0xFFF8, T0);
	assert_int_equal(acpi_pm_read(&pm, 0xFFFC, 2, T0), ACPI_PM1_SCI_EN);
	assert_int_equal(acpi_pm_read(&pm, 0xFFFF, 4, T0), 0xFFFFFF00);
}

static void test_state_valid(void **state)
{
	struct acpi_pm s;

	(void)state;
	acpi_pm_write(&pm, EN, 2, 0xFFFF, T0);
	acpi_pm_write(&pm, CNT, 2, 0xFFFF, T0);
	assert_true(acpi_pm_state_valid(&pm));
	s = pm;
	s.sts = 0x0002;
	assert_false(acpi_pm_state_valid(&s));
	s = pm;
	s.en = 0x8000;
	assert_false(acpi_pm_state_valid(&s));
	s = pm;
	s.cnt = ACPI_PM1_SLP_EN;
	assert_false(acpi_pm_state_valid(&s));
	s = pm;
	s.request = 9;
	assert_false(acpi_pm_state_valid(&s));
}

static void test_reset_cf9(void **state)
{
	struct reset_cf9 r;

	(void)state;
	reset_cf9_init(&r);
	assert_int_equal(reset_cf9_read(&r, RESET_CF9_PORT, 1), 0);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_NONE);
	/* Linux's reboot=pci: 0x02, then 0x06. */
	reset_cf9_write(&r, RESET_CF9_PORT, 1, 0x02);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_NONE);
	assert_int_equal(reset_cf9_read(&r, RESET_CF9_PORT, 1), 0x02);
	reset_cf9_write(&r, RESET_CF9_PORT, 1, 0x06);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_RESET);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_NONE);
	assert_int_equal(reset_cf9_read(&r, RESET_CF9_PORT, 1), 0x02); /* RCPU reads 0 */
	/* A soft reset and a full reset also reset. */
	reset_cf9_write(&r, RESET_CF9_PORT, 1, 0x04);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_RESET);
	reset_cf9_write(&r, RESET_CF9_PORT, 1, 0x0E);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_RESET);
	assert_int_equal(reset_cf9_read(&r, RESET_CF9_PORT, 1), 0x0A);
	/* Other sizes and ports: nothing. */
	reset_cf9_write(&r, RESET_CF9_PORT, 2, 0x0606);
	reset_cf9_write(&r, RESET_CF9_PORT, 4, 0x06060606);
	reset_cf9_write(&r, 0xCF8, 1, 0x06);
	assert_int_equal(reset_cf9_take_request(&r), ACPI_PM_REQ_NONE);
	assert_int_equal(reset_cf9_read(&r, RESET_CF9_PORT, 2), 0xFFFF);
	assert_int_equal(reset_cf9_read(&r, 0xCFA, 1), 0xFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_timer_values, setup),
	    cmocka_unit_test_setup(test_timer_monotonic_and_rate, setup),
	    cmocka_unit_test_setup(test_timer_wrap, setup),
	    cmocka_unit_test_setup(test_pm1_status_w1c, setup),
	    cmocka_unit_test_setup(test_enable_and_sci, setup),
	    cmocka_unit_test_setup(test_pm1_control, setup),
	    cmocka_unit_test_setup(test_poweroff_once, setup),
	    cmocka_unit_test_setup(test_sleep_other, setup),
	    cmocka_unit_test_setup(test_other_base, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	    cmocka_unit_test_setup(test_reset_cf9, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
