/* Unit tests for the MC146818A RTC and CMOS RAM (vdev/rtc.c) and its
 * calendar arithmetic, on a simulated nanosecond clock, driven through
 * ports 0x70/0x71 as Linux and a BIOS drive them. Reference dates were
 * worked out independently (Python's datetime). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/rtc.h>

#define NS 1000000000ULL
#define MS 1000000ULL
#define T0 5000000000ULL /* now_ns when the RTC is created */
#define LEAP_DAY 1709214356 /* 2024-02-29 13:45:56, a Thursday */
#define SEC 0x00
#define MIN 0x02
#define HOUR 0x04
#define WDAY 0x06
#define MDAY 0x07
#define MON 0x08
#define YEAR 0x09
#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define REG_D 0x0D
#define CENTURY 0x32

static struct rtc rtc;
static uint64_t now;

static int setup(void **state)
{
	(void)state;
	now = T0;
	rtc_init(&rtc, LEAP_DAY, T0);
	return 0;
}

static uint8_t cmos_read(uint8_t idx)
{
	rtc_write(&rtc, 0x70, idx, now);
	return rtc_read(&rtc, 0x71, now);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
	rtc_write(&rtc, 0x70, idx, now);
	rtc_write(&rtc, 0x71, v, now);
}

/* The seven date/time registers, BCD as on a PC. */
static void expect_time(uint8_t year, uint8_t mon, uint8_t mday, uint8_t hour, uint8_t min,
			uint8_t sec)
{
	assert_int_equal(cmos_read(YEAR), year);
	assert_int_equal(cmos_read(MON), mon);
	assert_int_equal(cmos_read(MDAY), mday);
	assert_int_equal(cmos_read(HOUR), hour);
	assert_int_equal(cmos_read(MIN), min);
	assert_int_equal(cmos_read(SEC), sec);
}

static void test_days_from_civil(void **state)
{
	static const struct {
		int64_t y;
		unsigned m, d;
		int64_t days;
	} known[] = {
	    {1970, 1, 1, 0},      {1969, 12, 31, -1},      {2000, 1, 1, 10957},
	    {2000, 2, 29, 11016}, {2000, 3, 1, 11017},     {2100, 2, 28, 47540},
	    {2100, 3, 1, 47541},  {1600, 1, 1, -135140},   {1, 1, 1, -719162},
	    {0, 1, 1, -719528},   {9999, 12, 31, 2932896}, {2038, 1, 19, 24855},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_int_equal(rtc_days_from_civil(known[i].y, known[i].m, known[i].d),
				 known[i].days);
	/* Day 29 of February 2100 runs into March: 2100 is not a leap year. */
	assert_int_equal(rtc_days_from_civil(2100, 2, 29), 47541);
	assert_int_equal(rtc_days_from_civil(2000, 2, 30), 11017);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Walk day by day from 1900 to 2200, checking both directions against a
 * plain count. */
static void test_calendar_walk(void **state)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t day = rtc_days_from_civil(1900, 1, 1);
	unsigned wday = 1; /* 1900-01-01 was a Monday */

	(void)state;
	assert_int_equal(day, -25567);
	for (int64_t y = 1900; y < 2200; y++) {
		for (unsigned m = 1; m <= 12; m++) {
			unsigned n = mdays[m - 1] + (m == 2 && leap(y));

			for (unsigned d = 1; d <= n; d++, day++, wday = (wday + 1) % 7) {
				struct rtc_tm tm;
				int64_t t = day * 86400 + (day & 0xFFFF);

				assert_int_equal(rtc_days_from_civil(y, m, d), day);
				rtc_time_to_tm(t, &tm);
				assert_int_equal(tm.year, y);
				assert_int_equal(tm.mon, m);
				assert_int_equal(tm.mday, d);
				assert_int_equal(tm.wday, wday);
				assert_int_equal(tm.hour * 3600 + tm.min * 60 + tm.sec,
						 day & 0xFFFF);
				assert_int_equal(rtc_tm_to_time(&tm), t);
			}
		}
	}
}

static void test_calendar_edges(void **state)
{
	struct rtc_tm tm;

	(void)state;
	rtc_time_to_tm(LEAP_DAY, &tm);
	assert_int_equal(tm.year, 2024);
	assert_int_equal(tm.mon | tm.mday << 8, 2 | 29 << 8);
	assert_int_equal(tm.hour << 16 | tm.min << 8 | tm.sec, 13 << 16 | 45 << 8 | 56);
	assert_int_equal(tm.wday, 4);
	rtc_time_to_tm(-1, &tm); /* 1969-12-31 23:59:59, a Wednesday */
	assert_int_equal(tm.year, 1969);
	assert_int_equal(tm.mon | tm.mday << 8 | tm.sec << 16, 12 | 31 << 8 | 59 << 16);
	assert_int_equal(tm.wday, 3);
	rtc_time_to_tm(951782399 + 1, &tm); /* 2000-02-29: 2000 is a leap year */
	assert_int_equal(tm.mon | tm.mday << 8, 2 | 29 << 8);
	rtc_time_to_tm(4107542399 + 1, &tm); /* 2100-03-01: 2100 is not */
	assert_int_equal(tm.mon | tm.mday << 8, 3 | 1 << 8);
	rtc_time_to_tm(2147483648, &tm); /* past 32-bit time_t */
	assert_int_equal(tm.year, 2038);
	assert_int_equal(tm.mon | tm.mday << 8, 1 | 19 << 8);
	assert_int_equal(tm.hour << 16 | tm.min << 8 | tm.sec, 3 << 16 | 14 << 8 | 8);
	rtc_time_to_tm(253402300799, &tm);
	assert_int_equal(tm.year, 9999);
	assert_int_equal(tm.mon | tm.mday << 8, 12 | 31 << 8);
	rtc_time_to_tm(-62167219200, &tm);
	assert_int_equal(tm.year, 0);
	assert_int_equal(tm.mon | tm.mday << 8, 1 | 1 << 8);
}

static void test_read_bcd(void **state)
{
	(void)state;
	expect_time(0x24, 0x02, 0x29, 0x13, 0x45, 0x56);
	assert_int_equal(cmos_read(WDAY), 5); /* Sunday is 1 */
	assert_int_equal(cmos_read(CENTURY), 0x20);
	assert_int_equal(cmos_read(REG_A), 0x26);
	assert_int_equal(cmos_read(REG_B), 0x02);
	assert_int_equal(cmos_read(REG_C), 0x00);
	assert_int_equal(cmos_read(REG_D), 0x80);
	assert_int_equal(rtc_time(&rtc, now), LEAP_DAY);
}

static void test_binary_and_12h(void **state)
{
	(void)state;
	cmos_write(REG_B, 0x06); /* binary, 24 h */
	expect_time(24, 2, 29, 13, 45, 56);
	assert_int_equal(cmos_read(CENTURY), 20);
	cmos_write(REG_B, 0x04); /* binary, 12 h */
	assert_int_equal(cmos_read(HOUR), 0x80 | 1);
	cmos_write(REG_B, 0x00); /* BCD, 12 h */
	assert_int_equal(cmos_read(HOUR), 0x81);
	/* Midnight is 12 AM, noon 12 PM, 23h 11 PM. */
	rtc_init(&rtc, 1709164800, now); /* 2024-02-29 00:00:00 */
	cmos_write(REG_B, 0x00);
	assert_int_equal(cmos_read(HOUR), 0x12);
	now += 12 * 3600 * NS;
	assert_int_equal(cmos_read(HOUR), 0x92);
	now += 11 * 3600 * NS;
	assert_int_equal(cmos_read(HOUR), 0x91);
	cmos_write(REG_B, 0x04);
	assert_int_equal(cmos_read(HOUR), 0x8B);
	/* Setting 12 AM and 12 PM in 12-hour mode. */
	cmos_write(HOUR, 0x0C);
	cmos_write(REG_B, 0x06);
	assert_int_equal(cmos_read(HOUR), 0);
	cmos_write(REG_B, 0x04);
	cmos_write(HOUR, 0x8C);
	cmos_write(REG_B, 0x06);
	assert_int_equal(cmos_read(HOUR), 12);
	cmos_write(REG_B, 0x00);
	cmos_write(HOUR, 0x07); /* 7 AM */
	cmos_write(REG_B, 0x02);
	assert_int_equal(cmos_read(HOUR), 0x07);
}

static void test_time_advances(void **state)
{
	(void)state;
	now += 4 * NS + 500 * MS;
	expect_time(0x24, 0x02, 0x29, 0x13, 0x46, 0x00);
	now += 10 * 3600 * NS + 14 * 60 * NS; /* 2024-03-01 00:00:00.5 */
	expect_time(0x24, 0x03, 0x01, 0x00, 0x00, 0x00);
	assert_int_equal(cmos_read(WDAY), 6);
	/* New century: 1999-12-31 23:59:59 to 2000-01-01 00:00:00. */
	rtc_init(&rtc, 946684799, now);
	assert_int_equal(cmos_read(CENTURY), 0x19);
	expect_time(0x99, 0x12, 0x31, 0x23, 0x59, 0x59);
	now += NS;
	expect_time(0x00, 0x01, 0x01, 0x00, 0x00, 0x00);
	assert_int_equal(cmos_read(CENTURY), 0x20);
	assert_int_equal(cmos_read(WDAY), 7); /* a Saturday */
	/* 2100-02-28 23:59:59: no February 29. */
	rtc_init(&rtc, 4107542399, now);
	now += NS;
	expect_time(0x00, 0x03, 0x01, 0x00, 0x00, 0x00);
	assert_int_equal(cmos_read(CENTURY), 0x21);
	/* 2000-02-28 23:59:59: February 29. */
	rtc_init(&rtc, 951782399, now);
	now += NS;
	expect_time(0x00, 0x02, 0x29, 0x00, 0x00, 0x00);
	/* A year later, in one step. */
	now += 366ULL * 86400 * NS;
	expect_time(0x01, 0x03, 0x01, 0x00, 0x00, 0x00);
	/* Clamped at 9999. */
	rtc_init(&rtc, UINT64_MAX, now);
	assert_int_equal(cmos_read(CENTURY), 0x99);
	expect_time(0x99, 0x12, 0x31, 0x23, 0x59, 0x59);
}

static void test_uip(void **state)
{
	const uint64_t window = NS - 244141;
	unsigned reads = 0;

	(void)state;
	now = T0 + window - 1;
	assert_int_equal(cmos_read(REG_A), 0x26);
	now = T0 + window;
	assert_int_equal(cmos_read(REG_A), 0xA6);
	assert_int_equal(cmos_read(SEC), 0x56); /* still the old second */
	now = T0 + NS - 1;
	assert_int_equal(cmos_read(REG_A), 0xA6);
	now = T0 + NS;
	assert_int_equal(cmos_read(REG_A), 0x26);
	assert_int_equal(cmos_read(SEC), 0x57);
	/* Linux's mc146818_avoid_UIP: wait for UIP off, read, check again. */
	now = T0 + 5 * NS + window + 1000;
	while (cmos_read(REG_A) & 0x80) {
		now += 1000;
		reads++;
	}
	assert_in_range(reads, 240, 244);
	assert_int_equal(cmos_read(SEC), 0x02);
	/* The old way: wait for the rising then the falling edge of UIP to
	 * meet the start of a second. */
	now = T0 + 7 * NS + 123456;
	while (!(cmos_read(REG_A) & 0x80))
		now += 997;
	while (cmos_read(REG_A) & 0x80)
		now += 997;
	assert_in_range(now, T0 + 8 * NS, T0 + 8 * NS + 996);
	assert_int_equal(cmos_read(SEC), 0x04);
	/* No UIP while SET holds the clock. */
	now = T0 + 9 * NS + window;
	assert_int_equal(cmos_read(REG_A), 0xA6);
	cmos_write(REG_B, 0x82);
	assert_int_equal(cmos_read(REG_A), 0x26);
}

/* Linux's mc146818_set_time(): SET, the fields, SET off. */
static void test_set_time(void **state)
{
	(void)state;
	now += 300 * MS;
	cmos_write(REG_B, 0x82);
	cmos_write(SEC, 0x07);
	cmos_write(MIN, 0x08);
	cmos_write(HOUR, 0x09);
	cmos_write(MDAY, 0x31);
	cmos_write(MON, 0x12);
	cmos_write(YEAR, 0x99);
	cmos_write(CENTURY, 0x20);
	now += 10 * NS; /* the clock stands still under SET */
	expect_time(0x99, 0x12, 0x31, 0x09, 0x08, 0x07);
	assert_int_equal(rtc_time(&rtc, now), 4102391287); /* 2099-12-31 09:08:07 */
	cmos_write(REG_B, 0x02);
	assert_int_equal(rtc_time(&rtc, now), 4102391287);
	now += NS - 1;
	assert_int_equal(cmos_read(SEC), 0x07);
	now += 1;
	assert_int_equal(cmos_read(SEC), 0x08); /* a full second after SET off */
	assert_int_equal(cmos_read(WDAY), 5); /* a Thursday */

	/* Field order does not matter under SET: from the 15th of February
	 * to March 31 with the day written first. */
	rtc_init(&rtc, 1707955200, now); /* 2024-02-15 00:00:00 */
	cmos_write(REG_B, 0x82);
	cmos_write(MDAY, 0x31);
	assert_int_equal(cmos_read(MDAY), 0x31); /* "February 31" while held */
	cmos_write(MON, 0x03);
	cmos_write(REG_B, 0x02);
	expect_time(0x24, 0x03, 0x31, 0x00, 0x00, 0x00);

	/* A write with SET off takes effect at once and keeps the phase. */
	now += 250 * MS;
	cmos_write(MIN, 0x30);
	expect_time(0x24, 0x03, 0x31, 0x00, 0x30, 0x00);
	now += 750 * MS;
	assert_int_equal(cmos_read(SEC), 0x01);
	/* Out-of-range values are clamped, never used as they are. */
	cmos_write(REG_B, 0x82);
	cmos_write(SEC, 0x99);
	cmos_write(MIN, 0xFF);
	cmos_write(HOUR, 0x3F);
	cmos_write(MDAY, 0x00);
	cmos_write(MON, 0x13);
	cmos_write(WDAY, 0x03); /* ignored: derived from the date */
	expect_time(0x24, 0x12, 0x01, 0x00, 0x59, 0x59);
	cmos_write(REG_B, 0x06);
	cmos_write(CENTURY, 250);
	cmos_write(REG_B, 0x02);
	assert_int_equal(cmos_read(CENTURY), 0x99);
	assert_true(rtc_state_valid(&rtc));
}

static void test_register_c(void **state)
{
	(void)state;
	/* Flags are set whether enabled or not; IRQF only when enabled. */
	now += NS;
	assert_false(rtc_irq_level(&rtc, now));
	assert_int_equal(cmos_read(REG_C), 0x10 | 0x40); /* update, periodic */
	assert_int_equal(cmos_read(REG_C), 0x00); /* read clears */
	/* Update-ended interrupt. */
	cmos_write(REG_B, 0x12);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 2 * NS);
	now = T0 + 2 * NS - 1;
	assert_false(rtc_irq_level(&rtc, now));
	now++;
	assert_true(rtc_irq_level(&rtc, now));
	assert_int_equal(rtc_irq_deadline(&rtc, now), UINT64_MAX); /* high already */
	now += 5 * NS; /* more updates while IRQF is set: still one interrupt */
	assert_true(rtc_irq_level(&rtc, now));
	assert_int_equal(cmos_read(REG_C) & 0xB0, 0x90);
	assert_false(rtc_irq_level(&rtc, now));
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 8 * NS);
	/* SET clears UIE (and stops updates). */
	cmos_write(REG_B, 0x92);
	assert_int_equal(cmos_read(REG_B), 0x82);
	assert_int_equal(rtc_irq_deadline(&rtc, now), UINT64_MAX);
	/* Enabling with a flag already up raises IRQ 8 at once. */
	cmos_write(REG_B, 0x02);
	now += 2 * NS;
	cmos_write(REG_B, 0x12);
	assert_true(rtc_irq_level(&rtc, now));
	/* C and D are read-only. */
	cmos_write(REG_C, 0xFF);
	cmos_write(REG_D, 0x00);
	assert_int_equal(cmos_read(REG_D), 0x80);
	assert_int_equal(cmos_read(REG_C) & 0x80, 0x80);
}

/* The lead's loop: wait for the deadline, see the level, let the guest's
 * handler read C; count interrupts over a second. */
static unsigned count_irqs(uint64_t span)
{
	uint64_t end = now + span;
	unsigned n = 0;

	for (;;) {
		uint64_t d = rtc_irq_deadline(&rtc, now);

		if (d > end)
			return n;
		assert_true(d > now);
		now = d;
		assert_true(rtc_irq_level(&rtc, now));
		assert_int_equal(cmos_read(REG_C) & 0xC0, 0xC0);
		assert_false(rtc_irq_level(&rtc, now));
		n++;
	}
}

static void test_periodic(void **state)
{
	(void)state;
	assert_int_equal(cmos_read(REG_C), 0);
	cmos_write(REG_B, 0x42); /* PIE at 1024 Hz (rate 6) */
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 976563);
	assert_false(rtc_irq_level(&rtc, T0 + 976562));
	now = T0 + 976563;
	assert_true(rtc_irq_level(&rtc, now));
	assert_int_equal(cmos_read(REG_C), 0xC0);
	assert_int_equal(count_irqs(NS - 976563), 1023);
	cmos_write(REG_A, 0x2F); /* 2 Hz */
	assert_int_equal(count_irqs(10 * NS), 20);
	cmos_write(REG_A, 0x21); /* rate 1 is rate 8: 256 Hz */
	assert_int_equal(count_irqs(NS), 256);
	cmos_write(REG_A, 0x23); /* 8192 Hz */
	assert_int_equal(count_irqs(NS / 8), 1024);
	cmos_write(REG_A, 0x20); /* off */
	assert_int_equal(rtc_irq_deadline(&rtc, now), UINT64_MAX);
	/* The divider held: no periodic interrupt. */
	cmos_write(REG_A, 0x76);
	assert_int_equal(rtc_irq_deadline(&rtc, now), UINT64_MAX);
	assert_true(rtc_state_valid(&rtc));
}

static void test_alarm(void **state)
{
	(void)state;
	cmos_write(0x05, 0x13);
	cmos_write(0x03, 0x46);
	cmos_write(0x01, 0x00);
	cmos_write(REG_B, 0x22); /* AIE */
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 4 * NS);
	now = T0 + 4 * NS - 1;
	assert_false(rtc_irq_level(&rtc, now));
	now++;
	assert_true(rtc_irq_level(&rtc, now));
	assert_int_equal(cmos_read(REG_C), 0xF0); /* IRQF, PF (not enabled), AF, UF */
	/* The same alarm next day. */
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 4 * NS + 86400 * NS);
	/* "Don't care" seconds and minutes: every second of 14:xx. */
	cmos_write(0x01, 0xFF);
	cmos_write(0x03, 0xC0);
	cmos_write(0x05, 0x14);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 4 * NS + 14 * 60 * NS);
	/* Every minute at :30. */
	cmos_write(0x05, 0xC0);
	cmos_write(0x01, 0x30);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 34 * NS);
	/* Every second. */
	cmos_write(0x01, 0xC0);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 5 * NS);
	/* A missed alarm is caught when time jumps past it. */
	cmos_write(0x01, 0x30);
	cmos_write(0x03, 0x46);
	cmos_write(0x05, 0x13);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + 34 * NS);
	now += 3600 * NS;
	assert_true(rtc_irq_level(&rtc, now));
	assert_int_equal(cmos_read(REG_C), 0xF0);
	/* An impossible alarm never fires (binary 12 h, hour 13). */
	cmos_write(REG_B, 0x20 | 0x04);
	cmos_write(0x05, 13);
	assert_int_equal(rtc_irq_deadline(&rtc, now), UINT64_MAX);
	/* 12-hour alarm at 2 PM: 0x82 in BCD. */
	cmos_write(REG_B, 0x20);
	cmos_write(0x05, 0x82);
	cmos_write(0x03, 0x00);
	cmos_write(0x01, 0x00);
	assert_int_equal(rtc_irq_deadline(&rtc, now), T0 + (3604 + 83640) * NS); /* tomorrow */
}

static void test_divider(void **state)
{
	(void)state;
	cmos_write(REG_A, 0x76); /* divider reset: the clock stops */
	now += 10 * NS;
	expect_time(0x24, 0x02, 0x29, 0x13, 0x45, 0x56);
	assert_int_equal(cmos_read(REG_A), 0x76);
	cmos_write(REG_A, 0x26); /* first update 500 ms later */
	now += 500 * MS - 1;
	assert_int_equal(cmos_read(SEC), 0x56);
	now++;
	assert_int_equal(cmos_read(SEC), 0x57);
	assert_int_equal(rtc_time(&rtc, now), LEAP_DAY + 1);
}

static void test_index_and_nmi(void **state)
{
	(void)state;
	rtc_write(&rtc, 0x70, 0x80 | REG_A, now); /* Linux's CMOS_READ with NMI off */
	assert_true(rtc_nmi_masked(&rtc));
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x26);
	rtc_write(&rtc, 0x70, 0x80 | SEC, now);
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x56);
	rtc_write(&rtc, 0x70, 0x80 | 0x32, now);
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x20);
	rtc_write(&rtc, 0x70, REG_D, now);
	assert_false(rtc_nmi_masked(&rtc));
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x80);
	/* 0xFF selects RAM byte 0x7F, with NMI masked. */
	rtc_write(&rtc, 0x70, 0xFF, now);
	rtc_write(&rtc, 0x71, 0x5A, now);
	assert_true(rtc_nmi_masked(&rtc));
	assert_int_equal(cmos_read(0x7F), 0x5A);
	assert_int_equal(rtc_read(&rtc, 0x70, now), 0xFF);
	assert_int_equal(rtc_read(&rtc, 0x72, now), 0xFF);
	rtc_write(&rtc, 0x72, 0x01, now);
	rtc_write(&rtc, 0x73, 0x01, now);
	assert_int_equal(cmos_read(0x01), 0);
	/* An index kept across accesses. */
	rtc_write(&rtc, 0x70, 0x40, now);
	rtc_write(&rtc, 0x71, 0x11, now);
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x11);
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x11);
	rtc.index = 0xC0; /* a corrupt index still stays in the array */
	assert_int_equal(rtc_read(&rtc, 0x71, now), 0x11);
}

static void test_cmos_ram(void **state)
{
	(void)state;
	for (unsigned i = 0x10; i < 0x40; i++)
		assert_int_equal(rtc_cmos_set(&rtc, (uint8_t)i, (uint8_t)(i * 3)), i != 0x32);
	assert_false(rtc_cmos_set(&rtc, 0x0D, 1));
	assert_false(rtc_cmos_set(&rtc, 0x00, 1));
	assert_false(rtc_cmos_set(&rtc, 0x80, 1));
	assert_true(rtc_cmos_set(&rtc, 0x0E, 0));
	assert_true(rtc_cmos_set(&rtc, 0x7F, 0xEE));
	for (unsigned i = 0x10; i < 0x40; i++)
		if (i != 0x32)
			assert_int_equal(cmos_read((uint8_t)i), (uint8_t)(i * 3));
	assert_int_equal(cmos_read(0x32), 0x20);
	assert_int_equal(cmos_read(0x7F), 0xEE);
	cmos_write(0x0F, 0x0A); /* the shutdown status byte */
	assert_int_equal(cmos_read(0x0F), 0x0A);
	cmos_write(0x01, 0x42); /* alarm seconds: stored as written */
	assert_int_equal(cmos_read(0x01), 0x42);
}

static void test_hostile(void **state)
{
	(void)state;
	srand(3);
	for (unsigned i = 0; i < 300000; i++) {
		unsigned r = (unsigned)rand();
		uint64_t d;

		now += (r & 1) ? (uint64_t)rand() % 50000000 : (uint64_t)rand() % 300000;
		if (r % 3 == 0)
			rtc_write(&rtc, 0x70, (uint8_t)(r >> 8), now);
		else if (r % 3 == 1)
			rtc_write(&rtc, 0x71, (uint8_t)(r >> 16), now);
		else
			(void)rtc_read(&rtc, 0x71, now);
		assert_true(rtc_state_valid(&rtc));
		if (!rtc_irq_level(&rtc, now)) {
			d = rtc_irq_deadline(&rtc, now);
			assert_true(d > now);
		}
	}
}

static void test_state_valid(void **state)
{
	struct rtc good, bad;

	(void)state;
	cmos_write(REG_B, 0x82);
	good = rtc;
	assert_true(rtc_state_valid(&good));
#define REFUSED(field, value)                        \
	do {                                         \
		bad = good;                          \
		bad.field = value;                   \
		assert_false(rtc_state_valid(&bad)); \
	} while (0)
	REFUSED(index, 0x80);
	REFUSED(nmi_masked, 2);
	REFUSED(frozen, 0); /* SET is on */
	REFUSED(flags, 0x81);
	REFUSED(cmos[REG_A], 0xA6);
	REFUSED(held.mon, 13);
	REFUSED(held.mday, 0);
	REFUSED(held.hour, 24);
	REFUSED(held.year, 10000);
	REFUSED(secs, INT64_MAX);
	REFUSED(seen_secs, INT64_MIN);
#undef REFUSED
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days_from_civil),
	    cmocka_unit_test(test_calendar_walk),
	    cmocka_unit_test(test_calendar_edges),
	    cmocka_unit_test_setup(test_read_bcd, setup),
	    cmocka_unit_test_setup(test_binary_and_12h, setup),
	    cmocka_unit_test_setup(test_time_advances, setup),
	    cmocka_unit_test_setup(test_uip, setup),
	    cmocka_unit_test_setup(test_set_time, setup),
	    cmocka_unit_test_setup(test_register_c, setup),
	    cmocka_unit_test_setup(test_periodic, setup),
	    cmocka_unit_test_setup(test_alarm, setup),
	    cmocka_unit_test_setup(test_divider, setup),
	    cmocka_unit_test_setup(test_index_and_nmi, setup),
	    cmocka_unit_test_setup(test_cmos_ram, setup),
	    cmocka_unit_test_setup(test_hostile, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
