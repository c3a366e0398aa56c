/* Unit tests for the 8254 PIT and port 0x61 (vdev/i8254.c), on a simulated
 * nanosecond clock. Expected times come from the datasheet's rules worked
 * out here independently: the input clock's edge k is at
 * T0 + ceil(k * 1e9 / 1193182), and a count written between edges loads on
 * the next edge, which does not decrement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/i8254.h>

#define F 1193182u
#define NS 1000000000ULL
#define T0 7000000123ULL /* when the PIT was created */
#define CH0 0x40
#define CH2 0x42
#define CTRL 0x43
#define PORTB 0x61

static struct i8254 pit;
static uint64_t now;

static int setup(void **state)
{
	(void)state;
	now = T0;
	i8254_init(&pit, T0);
	return 0;
}

/* Time of clock edge K, and the last edge at or before time T. */
static uint64_t edge_ns(uint64_t k)
{
	return T0 + (uint64_t)(((unsigned __int128)k * NS + F - 1) / F);
}

static uint64_t edge_at(uint64_t t)
{
	return (uint64_t)((unsigned __int128)(t - T0) * F / NS);
}

static void out(uint16_t port, uint8_t v)
{
	i8254_write(&pit, port, v, now);
}

static uint8_t in(uint16_t port)
{
	return i8254_read(&pit, port, now);
}

/* Control word CW, then count N (LSB, MSB) at `now`; returns the load edge. */
static uint64_t program(uint8_t cw, uint16_t n)
{
	out(CTRL, cw);
	out(CH0 + (cw >> 6), (uint8_t)n);
	out(CH0 + (cw >> 6), (uint8_t)(n >> 8));
	return edge_at(now) + 1;
}

/* Counter latch command, then LSB and MSB. */
static uint16_t latched(unsigned ch)
{
	uint16_t v;

	out(CTRL, (uint8_t)(ch << 6));
	v = in((uint16_t)(CH0 + ch));
	return (uint16_t)(v | in((uint16_t)(CH0 + ch)) << 8);
}

static uint16_t count_at_edge(unsigned ch, uint64_t k)
{
	now = edge_ns(k);
	return latched(ch);
}

/* Collect IRQ 0 ticks at T, which becomes the current time. */
static unsigned ticks_at(uint64_t t)
{
	now = t;
	return i8254_irq0_ticks(&pit, t);
}

static bool out2(void)
{
	return in(PORTB)&0x20;
}

static void test_rates(void **state)
{
	static const unsigned hz[] = {100, 250, 1000};

	(void)state;
	for (unsigned h = 0; h < 3; h++) {
		uint16_t latch = (uint16_t)((F + hz[h] / 2) / hz[h]); /* Linux's PIT_LATCH */
		uint64_t load, total = 0, end;

		setup(NULL);
		now = T0 + 12345;
		load = program(0x34, latch); /* channel 0, LSB then MSB, mode 2 */
		assert_int_equal(i8254_irq0_ticks(&pit, now), 0);
		/* Each deadline is exact: nothing a nanosecond before, one tick at it. */
		for (uint64_t j = 1; j <= 3 * hz[h]; j++) {
			uint64_t d = i8254_irq0_deadline(&pit, now);

			assert_int_equal(d, edge_ns(load + j * latch));
			assert_int_equal(i8254_irq0_ticks(&pit, d - 1), 0);
			assert_int_equal(i8254_irq0_ticks(&pit, d), 1);
			now = d;
		}
		/* Ten more simulated seconds at uneven steps. */
		end = now + 10 * NS;
		srand(h);
		while (now < end) {
			uint64_t step = 1 + (uint64_t)rand() % 3000000;

			total += ticks_at(now + step < end ? now + step : end);
		}
		assert_int_equal(total, (edge_at(end) - load) / latch - 3 * hz[h]);
		assert_in_range(total, 10 * hz[h] - 2, 10 * hz[h] + 2);
	}
}

static void test_mode2_counts(void **state)
{
	uint64_t load;

	(void)state;
	now += 5000;
	load = program(0x34, 1000);
	for (uint64_t k = 0; k < 3000; k += 37) {
		uint16_t want = (uint16_t)(1000 - k % 1000);

		assert_int_equal(count_at_edge(0, load + k), want);
		now = edge_ns(load + k + 1) - 1; /* steady between edges */
		assert_int_equal(latched(0), want);
	}
	/* OUT is low for the one clock at count 1. */
	assert_true(i8254_out(&pit, 0, edge_ns(load + 3998)));
	assert_false(i8254_out(&pit, 0, edge_ns(load + 3999)));
	assert_false(i8254_out(&pit, 0, edge_ns(load + 4000) - 1));
	assert_true(i8254_out(&pit, 0, edge_ns(load + 4000)));
	/* Read-back: count of channel 0, then status and count together. */
	now = edge_ns(load + 4234);
	out(CTRL, 0xD2);
	now += 100000; /* the latch holds */
	assert_int_equal(in(CH0), (1000 - 234) & 0xFF);
	assert_int_equal(in(CH0), (1000 - 234) >> 8);
	now = edge_ns(load + 5234);
	out(CTRL, 0xC2);
	now += 100000;
	assert_int_equal(in(CH0), 0x80 | 0x34); /* OUT high, LSB-MSB, mode 2 */
	assert_int_equal(in(CH0), (1000 - 234) & 0xFF);
	assert_int_equal(in(CH0), (1000 - 234) >> 8);
	/* Null count: set by a write, cleared by the load on the next edge. */
	program(0x34, 500);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0xC0 | 0x34);
	now = edge_ns(edge_at(now) + 1);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0x80 | 0x34);
}

static void test_mode0_oneshot(void **state)
{
	uint64_t load, d;

	(void)state;
	now += 777;
	out(CTRL, 0x30);
	assert_false(i8254_out(&pit, 0, now)); /* OUT low from the control word */
	load = program(0x30, 5000);
	d = i8254_irq0_deadline(&pit, now);
	assert_int_equal(d, edge_ns(load + 5000));
	assert_int_equal(count_at_edge(0, load + 4999), 1);
	assert_false(i8254_out(&pit, 0, d - 1));
	assert_int_equal(ticks_at(d - 1), 0);
	assert_int_equal(ticks_at(d), 1);
	assert_true(i8254_out(&pit, 0, d));
	assert_int_equal(i8254_irq0_deadline(&pit, d), UINT64_MAX);
	/* The counter wraps on after terminal count; OUT stays high. */
	assert_int_equal(count_at_edge(0, load + 5000), 0);
	assert_int_equal(count_at_edge(0, load + 5001), 0xFFFF);
	assert_int_equal(count_at_edge(0, load + 5000 + 65536), 0);
	assert_int_equal(ticks_at(now + 10 * NS), 0);
	assert_true(i8254_out(&pit, 0, now));
	/* A new count alone re-arms it. */
	out(CH0, 10);
	assert_false(i8254_out(&pit, 0, now));
	out(CH0, 0);
	load = edge_at(now) + 1;
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 10));
	assert_int_equal(ticks_at(edge_ns(load + 10)), 1);
	/* The first byte of a two-byte count stops the counter, OUT low. */
	now = edge_ns(load + 50);
	out(CH0, 0x34);
	assert_false(i8254_out(&pit, 0, now));
	now += 1000000;
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
	out(CH0, 0x12);
	load = edge_at(now) + 1;
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 0x1234));
}

/* Linux's pit_calibrate_tsc() and quick_pit_calibrate() on channel 2. */
static void test_linux_tsc_calibration(void **state)
{
	uint64_t w, k, load;
	uint8_t b;

	(void)state;
	/* Gate high, speaker off; mode 0 with CAL_LATCH for 50 ms. */
	now = T0 + 2 * NS + 333;
	b = in(PORTB);
	out(PORTB, (uint8_t)((b & ~0x02) | 0x01));
	out(CTRL, 0xB0);
	out(CH2, 59659 & 0xFF);
	assert_false(out2());
	out(CH2, 59659 >> 8);
	w = now;
	k = edge_at(w) + 1 + 59659; /* N + 1 edges after the write */
	for (; !out2(); now += 97)
		assert_true(now < edge_ns(k));
	assert_in_range(now, edge_ns(k), edge_ns(k) + 96);
	assert_false(i8254_out(&pit, 2, edge_ns(k) - 1));
	assert_true(i8254_out(&pit, 2, edge_ns(k)));
	/* (N + 1) to (N + 2) clocks after the write, N clocks being 50 ms. */
	assert_in_range(edge_ns(k) - w, 50000000, 50002000);
	now += 5 * NS;
	assert_true(out2()); /* stays high */

	/* From a PIT created at 0 and programmed at 0: a fixed number. */
	i8254_init(&pit, 0);
	i8254_write(&pit, PORTB, 0x01, 0);
	i8254_write(&pit, CTRL, 0xB0, 0);
	i8254_write(&pit, CH2, 59659 & 0xFF, 0);
	i8254_write(&pit, CH2, 59659 >> 8, 0);
	assert_false(i8254_read(&pit, PORTB, 50000754) & 0x20);
	assert_true(i8254_read(&pit, PORTB, 50000755) & 0x20);

	/* quick_pit_calibrate: count 0xFFFF, watch the MSB step down every
	 * 256 clocks. */
	setup(NULL);
	now = T0 + 123456789;
	out(PORTB, 0x01);
	out(CTRL, 0xB0);
	out(CH2, 0xFF);
	out(CH2, 0xFF);
	load = edge_at(now) + 1;
	for (unsigned i = 1; i < 200; i++) {
		now = edge_ns(load + i * 256) - 1;
		(void)in(CH2);
		assert_int_equal(in(CH2), 0xFF - (i - 1));
		now++;
		assert_int_equal(in(CH2), 0xFF); /* LSB of 0x..FF */
		assert_int_equal(in(CH2), 0xFF - i);
	}
	assert_false(out2());
}

static void test_gate2(void **state)
{
	uint64_t load, g, h;

	(void)state;
	out(PORTB, 0x03);
	assert_int_equal(in(PORTB)&0x0F, 0x03);
	load = program(0xB0, 1000);
	now = edge_ns(load + 300);
	out(PORTB, 0x02); /* gate off: counting stops */
	g = edge_at(now);
	assert_int_equal(g, load + 300);
	for (unsigned i = 0; i < 5; i++) {
		now += 3000000;
		assert_int_equal(latched(2), 700);
		assert_false(out2());
	}
	now += 123;
	out(PORTB, 0x03); /* gate on: resumes from 700 */
	h = edge_at(now);
	assert_int_equal(count_at_edge(2, h + 1), 699);
	now = edge_ns(h + 700) - 1;
	assert_false(out2());
	now = edge_ns(h + 700);
	assert_true(out2());
	/* Gate off after terminal count: OUT stays high. */
	out(PORTB, 0x00);
	assert_true(out2());
	/* Mode 2 with the gate: low gate stops it with OUT high; a rising gate
	 * reloads at the next clock. */
	out(PORTB, 0x01);
	load = program(0xB4, 100);
	now = edge_ns(load + 99);
	assert_false(out2());
	out(PORTB, 0x00);
	assert_true(out2());
	assert_int_equal(latched(2), 1);
	now += NS;
	out(PORTB, 0x01);
	load = edge_at(now) + 1;
	assert_int_equal(count_at_edge(2, load), 100);
	assert_int_equal(count_at_edge(2, load + 40), 60);
	/* A count written with the gate low waits for it. */
	out(PORTB, 0x00);
	program(0xB0, 50);
	now += NS;
	assert_int_equal(latched(2), 50);
	assert_false(out2());
	out(PORTB, 0x01);
	h = edge_at(now);
	now = edge_ns(h + 50) - 1;
	assert_false(out2());
	now = edge_ns(h + 50);
	assert_true(out2());
}

static void test_count_zero(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x34, 0);
	assert_int_equal(count_at_edge(0, load), 0);
	assert_int_equal(count_at_edge(0, load + 1), 0xFFFF);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 65536));
	assert_int_equal(ticks_at(edge_ns(load + 3 * 65536)), 3);
	load = program(0x30, 0);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 65536));
	/* BCD: count 0 is 10000. */
	load = program(0x35, 0);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 10000));
	assert_int_equal(count_at_edge(0, load + 1), 0x9999);
}

static void test_mode3(void **state)
{
	static const uint8_t even[] = {10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10};
	static const uint8_t odd[] = {8, 6, 4, 2, 0, 8, 6, 4, 2, 8};
	uint64_t load;

	(void)state;
	out(PORTB, 0x01);
	load = program(0xB6, 10);
	for (unsigned k = 0; k < 11; k++) {
		assert_int_equal(count_at_edge(2, load + k), even[k]);
		assert_int_equal(out2(), k < 5 || k == 10);
	}
	load = program(0xB6, 9);
	for (unsigned k = 0; k < 10; k++) {
		assert_int_equal(count_at_edge(2, load + k), odd[k]);
		assert_int_equal(out2(), k < 5 || k == 9);
	}
	/* Channel 0 in mode 3 ticks once per period, like mode 2. */
	load = program(0x36, 11932);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 11932));
	assert_int_equal(ticks_at(edge_ns(load + 100 * 11932)), 100);
	assert_int_equal(ticks_at(edge_ns(load + 100 * 11932 + 11931)), 0);
	/* Mode 7 is mode 3; the status shows the mode as written. */
	load = program(0x3E, 4);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0)&0x3F, 0x3E);
	assert_int_equal(ticks_at(edge_ns(load + 40)), 10);
}

static void test_mode4_and_linux_oneshot(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x38, 100); /* Linux's PIT oneshot clockevent */
	assert_true(i8254_out(&pit, 0, now));
	assert_true(i8254_out(&pit, 0, edge_ns(load + 99)));
	assert_false(i8254_out(&pit, 0, edge_ns(load + 100)));
	assert_true(i8254_out(&pit, 0, edge_ns(load + 101)));
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 101));
	assert_int_equal(ticks_at(edge_ns(load + 101) - 1), 0);
	assert_int_equal(ticks_at(edge_ns(load + 101)), 1);
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
	/* set_next_event: a new count without a control word. */
	now = edge_ns(load + 5000) + 17;
	out(CH0, 200 & 0xFF);
	out(CH0, 0);
	load = edge_at(now) + 1;
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 201));
	assert_int_equal(ticks_at(now + NS), 1);
	/* Linux's shutdown: mode 0, count 0 (one last tick 55 ms later). */
	load = program(0x30, 0);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 65536));
	assert_int_equal(ticks_at(now + NS), 1);
	assert_int_equal(i8254_irq0_deadline(&pit, now + NS), UINT64_MAX);
}

static void test_modes_1_and_5(void **state)
{
	uint64_t g;

	(void)state;
	/* Mode 1 on channel 0: the gate is tied high, no trigger ever. */
	program(0x32, 10);
	assert_true(i8254_out(&pit, 0, now));
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
	/* Channel 2: a rising gate starts the one-shot (OUT low next clock). */
	program(0xB2, 50);
	assert_true(out2());
	now += 1000000;
	assert_true(out2());
	out(PORTB, 0x01);
	g = edge_at(now);
	assert_true(out2());
	assert_false(i8254_out(&pit, 2, edge_ns(g + 1)));
	assert_int_equal(count_at_edge(2, g + 1), 50);
	assert_int_equal(count_at_edge(2, g + 21), 30);
	/* Retrigger at count 30: starts over. */
	out(PORTB, 0x00);
	out(PORTB, 0x01);
	g = edge_at(now);
	assert_false(i8254_out(&pit, 2, edge_ns(g + 50)));
	assert_true(i8254_out(&pit, 2, edge_ns(g + 51)));
	/* Mode 5: a one-clock strobe at terminal count after the trigger. */
	out(PORTB, 0x00);
	program(0xBA, 20);
	now += 5000;
	out(PORTB, 0x01);
	g = edge_at(now);
	assert_true(i8254_out(&pit, 2, edge_ns(g + 20)));
	assert_false(i8254_out(&pit, 2, edge_ns(g + 21)));
	assert_true(i8254_out(&pit, 2, edge_ns(g + 22)));
}

static void test_access_modes(void **state)
{
	uint64_t load;

	(void)state;
	/* LSB only. */
	out(CTRL, 0x14);
	out(CH0, 0x80);
	load = edge_at(now) + 1;
	now = edge_ns(load + 0x10);
	assert_int_equal(in(CH0), 0x70);
	assert_int_equal(in(CH0), 0x70); /* no flip-flop */
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 0x80));
	/* MSB only. */
	out(CTRL, 0x24);
	out(CH0, 0x02);
	load = edge_at(now) + 1;
	now = edge_ns(load + 1);
	assert_int_equal(in(CH0), 0x01); /* 0x01FF */
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 0x200));
	out(CTRL, 0x00);
	now = edge_ns(load + 0x180);
	assert_int_equal(in(CH0), 0x01); /* a latch of an MSB-only counter */
	assert_int_equal(in(CH0), 0x00); /* then live again */
	/* LSB then MSB, live reads through the flip-flop. */
	load = program(0x34, 0x1234);
	now = edge_ns(load + 0x34);
	assert_int_equal(in(CH0), 0x00);
	assert_int_equal(in(CH0), 0x12);
	assert_int_equal(in(CH0), 0x00); /* half-way through a pair... */
	load = program(0x34, 0x0100); /* ...a control word resets the flip-flop */
	now = edge_ns(load + 0x10);
	assert_int_equal(in(CH0), 0xF0);
	assert_int_equal(in(CH0), 0x00);
}

static void test_latch(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x34, 40000);
	now = edge_ns(load + 100);
	out(CTRL, 0x00);
	now = edge_ns(load + 200);
	out(CTRL, 0x00); /* ignored: the first latch still holds */
	assert_int_equal(in(CH0), (40000 - 100) & 0xFF);
	now = edge_ns(load + 300);
	assert_int_equal(in(CH0), (40000 - 100) >> 8);
	assert_int_equal(latched(0), 40000 - 300); /* read in full: released */
	/* Status before count when both are latched; a second status latch
	 * before the read is ignored too. */
	out(CTRL, 0xC2);
	now = edge_ns(load + 400);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0x80 | 0x34);
	assert_int_equal(in(CH0), (40000 - 300) & 0xFF);
	assert_int_equal(in(CH0), (40000 - 300) >> 8);
	/* Read-back of several channels at once. */
	out(PORTB, 0x01);
	program(0xB0, 3000);
	load = edge_at(now) + 1;
	out(CTRL, 0xDA); /* counts of channels 0 and 2, before channel 2 loads */
	now = edge_ns(load + 10);
	assert_int_equal(in(CH2), 3000 & 0xFF);
	assert_int_equal(in(CH2), 3000 >> 8);
	assert_int_equal(in(CH2), (3000 - 10) & 0xFF);
	assert_int_equal(in(CH0), (40000 - 400) & 0xFF); /* latched with channel 2 */
	assert_int_equal(in(CH0), (40000 - 400) >> 8);
}

static void test_bcd(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x35, 0x1000); /* mode 2, BCD 1000 */
	assert_int_equal(count_at_edge(0, load + 1), 0x0999);
	assert_int_equal(count_at_edge(0, load + 991), 0x0009);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 1000));
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0x80 | 0x35);
	/* Mode 0 in BCD wraps from 0000 to 9999. */
	load = program(0x31, 0x0005);
	assert_int_equal(count_at_edge(0, load + 6), 0x9999);
	/* Digits above 9 are taken at face value, within range. */
	load = program(0x35, 0x00FF);
	assert_int_equal(ticks_at(now), 1); /* the mode 0 terminal count */
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 165));
	assert_true(i8254_state_valid(&pit));
}

static void test_new_count_midperiod(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x34, 1000);
	now = edge_ns(load + 250);
	out(CH0, 500 & 0xFF);
	out(CH0, 500 >> 8);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0xC0 | 0x34); /* null count until it loads */
	assert_int_equal(count_at_edge(0, load + 999), 1);
	assert_int_equal(count_at_edge(0, load + 1000), 500);
	assert_int_equal(count_at_edge(0, load + 1001), 499);
	out(CTRL, 0xE2);
	assert_int_equal(in(CH0), 0x80 | 0x34);
	now = edge_ns(load + 250);
	setup(NULL);
	load = program(0x34, 1000);
	now = edge_ns(load + 250);
	out(CH0, 500 & 0xFF);
	out(CH0, 500 >> 8);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 1000));
	assert_int_equal(ticks_at(edge_ns(load + 1000)), 1);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 1500));
	assert_int_equal(ticks_at(edge_ns(load + 3000)), 4);
	/* Counted across the switch in one go. */
	load = program(0x34, 100);
	now = edge_ns(load + 50);
	out(CH0, 10);
	out(CH0, 0);
	assert_int_equal(ticks_at(edge_ns(load + 200)), 1 + 10);
}

static void test_reprogram_backlog(void **state)
{
	uint64_t load;

	(void)state;
	load = program(0x34, 1000);
	now = edge_ns(load + 5500);
	load = program(0x34, 2000); /* five old ticks not yet collected */
	assert_int_equal(i8254_irq0_deadline(&pit, now), now);
	assert_int_equal(i8254_irq0_ticks(&pit, now), 5);
	assert_int_equal(i8254_irq0_deadline(&pit, now), edge_ns(load + 2000));
	/* Time that runs backwards counts nothing and breaks nothing. */
	assert_int_equal(i8254_irq0_ticks(&pit, now - NS), 0);
	assert_int_equal(i8254_irq0_ticks(&pit, edge_ns(load + 4000)), 2);
	assert_int_equal(i8254_irq0_ticks(&pit, T0 - 1), 0);
	/* Stopping channel 0 with a control word: no more edges. */
	out(CTRL, 0x34);
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
	assert_int_equal(i8254_irq0_ticks(&pit, now + NS), 0);
	/* Power-on: nothing programmed, nothing due. */
	setup(NULL);
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
	assert_false(i8254_out(&pit, 0, now));
	assert_false(i8254_out(&pit, 3, now));
}

static void test_port61_and_decoding(void **state)
{
	struct i8254 before;

	(void)state;
	assert_int_equal(in(PORTB), 0x00);
	out(PORTB, 0xFE); /* only bits 0-3 are writable */
	now = edge_ns(17);
	assert_int_equal(in(PORTB)&0xDF, 0x0E);
	now = edge_ns(18);
	assert_int_equal(in(PORTB)&0xDF, 0x1E);
	now = edge_ns(36);
	assert_int_equal(in(PORTB)&0xDF, 0x0E);
	assert_int_equal(in(PORTB)&0xC0, 0);
	assert_int_equal(in(CTRL), 0xFF);
	assert_int_equal(in(0x44), 0xFF);
	assert_int_equal(in(0x3F), 0xFF);
	before = pit;
	out(0x44, 0x34);
	out(0x60, 0x01);
	assert_memory_equal(&before, &pit, sizeof(pit));
	/* Channel 1 as a BIOS programs it: no effect on IRQ 0. */
	out(CTRL, 0x54); /* LSB only, mode 2 */
	out(0x41, 18);
	now += NS;
	out(CTRL, 0x40);
	assert_int_equal(in(0x41), 18 - (edge_at(now) - edge_at(now - NS) - 1) % 18);
	assert_int_equal(i8254_irq0_deadline(&pit, now), UINT64_MAX);
}

static void test_hostile(void **state)
{
	static const uint16_t ports[] = {0x40, 0x41, 0x42, 0x43, 0x61};

	(void)state;
	srand(7);
	for (unsigned i = 0; i < 200000; i++) {
		unsigned r = (unsigned)rand();
		uint64_t d;

		now += (r & 1) ? (uint64_t)rand() % 100000 : (uint64_t)rand() % 64;
		if (r % 7 == 0)
			(void)in(ports[(r >> 8) % 5]);
		else
			out(ports[(r >> 8) % 5], (uint8_t)(r >> 16));
		assert_true(i8254_state_valid(&pit));
		if (r % 5 == 0) {
			(void)i8254_irq0_ticks(&pit, now);
			d = i8254_irq0_deadline(&pit, now);
			assert_true(d > now);
		}
	}
	/* A day later, then past any sane uptime. */
	now += 86400 * NS;
	(void)i8254_irq0_ticks(&pit, now);
	assert_true(i8254_irq0_deadline(&pit, now) > now);
	program(0x34, 2);
	(void)i8254_irq0_ticks(&pit, UINT64_MAX - 1);
	assert_true(i8254_irq0_deadline(&pit, UINT64_MAX - 1) >= UINT64_MAX - 1);
}

static void test_state_valid(void **state)
{
	struct i8254 good, bad;

	(void)state;
	program(0x34, 100);
	good = pit;
	assert_true(i8254_state_valid(&good));
#define REFUSED(field, value)                          \
	do {                                           \
		bad = good;                            \
		bad.field = value;                     \
		assert_false(i8254_state_valid(&bad)); \
	} while (0)
	REFUSED(ch[0].mode, 8);
	REFUSED(ch[0].rw, 0);
	REFUSED(ch[1].rw, 4);
	REFUSED(ch[2].phase, 4);
	REFUSED(ch[0].n, 0);
	REFUSED(ch[0].n, 65537);
	REFUSED(ch[0].next_n, 70000);
	REFUSED(ch[1].val, 65536);
	REFUSED(ch[2].dist, 65537);
	REFUSED(ch[0].gate, 2);
	REFUSED(ch[0].read_msb, 9);
	REFUSED(ch[0].base, UINT64_MAX);
	REFUSED(port_b, 0x10);
#undef REFUSED
	bad = good;
	bad.ch[1].bcd = 1; /* 65536 is not a BCD count */
	assert_false(i8254_state_valid(&bad));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_rates, setup),
	    cmocka_unit_test_setup(test_mode2_counts, setup),
	    cmocka_unit_test_setup(test_mode0_oneshot, setup),
	    cmocka_unit_test_setup(test_linux_tsc_calibration, setup),
	    cmocka_unit_test_setup(test_gate2, setup),
	    cmocka_unit_test_setup(test_count_zero, setup),
	    cmocka_unit_test_setup(test_mode3, setup),
	    cmocka_unit_test_setup(test_mode4_and_linux_oneshot, setup),
	    cmocka_unit_test_setup(test_modes_1_and_5, setup),
	    cmocka_unit_test_setup(test_access_modes, setup),
	    cmocka_unit_test_setup(test_latch, setup),
	    cmocka_unit_test_setup(test_bcd, setup),
	    cmocka_unit_test_setup(test_new_count_midperiod, setup),
	    cmocka_unit_test_setup(test_reprogram_backlog, setup),
	    cmocka_unit_test_setup(test_port61_and_decoding, setup),
	    cmocka_unit_test_setup(test_hostile, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
