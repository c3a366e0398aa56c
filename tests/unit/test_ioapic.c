/* Unit tests for the virtual I/O APIC (vdev/ioapic.c), driven the way
 * Linux drives one: IOREGSEL/IOWIN pairs, entries written high half first
 * and unmasked by the low-half write, level EOIs through the local APIC
 * (ioapic_eoi) or the version 0x20 EOI register. Devices are played by
 * ioapic_set_irq() and the local APICs by ioapic_take_msg(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/ioapic.h>

#define EDGE 0u
#define LEVEL ((uint32_t)IOAPIC_RTE_LEVEL)
#define MASKED ((uint32_t)IOAPIC_RTE_MASKED)
#define LOW ((uint32_t)IOAPIC_RTE_ACTIVE_LOW)
#define RIRR ((uint32_t)IOAPIC_RTE_REMOTE_IRR)
#define LOGICAL ((uint32_t)IOAPIC_RTE_LOGICAL)
#define DM(m) ((uint32_t)(m) << 8)

static struct ioapic s;

static int setup(void **state)
{
	(void)state;
	ioapic_init(&s, 2);
	return 0;
}

static uint32_t rd(uint32_t idx)
{
	ioapic_write(&s, IOAPIC_IOREGSEL, idx);
	return ioapic_read(&s, IOAPIC_IOWIN);
}

static void wr(uint32_t idx, uint32_t v)
{
	ioapic_write(&s, IOAPIC_IOREGSEL, idx);
	ioapic_write(&s, IOAPIC_IOWIN, v);
}

static uint32_t rd_lo(unsigned pin)
{
	return rd(IOAPIC_REG_REDTBL + 2 * pin);
}

/* As Linux's ioapic_write_entry(): destination first, then the low half. */
static void program(unsigned pin, uint32_t low, uint8_t dest)
{
	wr(IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)dest << 24);
	wr(IOAPIC_REG_REDTBL + 2 * pin, low);
}

static void expect_msg(unsigned pin, uint8_t vector, uint8_t delivery, uint32_t dest, bool logical,
		       bool level)
{
	struct ioapic_msg m;

	assert_true(ioapic_take_msg(&s, &m));
	assert_int_equal(m.pin, pin);
	assert_int_equal(m.vector, vector);
	assert_int_equal(m.delivery, delivery);
	assert_int_equal(m.dest, dest);
	assert_int_equal(m.logical, logical);
	assert_int_equal(m.trigger_level, level);
}

static void expect_none(void)
{
	struct ioapic_msg m;

	assert_false(ioapic_take_msg(&s, &m));
}

/* Field by field: struct copies need not copy padding. */
static void assert_same(const struct ioapic *a, const struct ioapic *b)
{
	assert_memory_equal(a->redir, b->redir, sizeof(a->redir));
	assert_int_equal(a->lines, b->lines);
	assert_int_equal(a->id, b->id);
	assert_int_equal(a->ioregsel, b->ioregsel);
	assert_int_equal(a->msg_head, b->msg_head);
	assert_int_equal(a->msg_count, b->msg_count);
	assert_int_equal(a->msg_dropped, b->msg_dropped);
}

static void pulse(unsigned pin)
{
	ioapic_set_irq(&s, pin, true);
	ioapic_set_irq(&s, pin, false);
}

static void test_reset_values(void **state)
{
	(void)state;
	assert_int_equal(rd(IOAPIC_REG_ID), 0x02000000);
	assert_int_equal(rd(IOAPIC_REG_VER), 0x00170020);
	assert_int_equal(rd(IOAPIC_REG_ARB), 0x02000000);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		assert_int_equal(rd_lo(pin), MASKED);
		assert_int_equal(rd(IOAPIC_REG_REDTBL + 2 * pin + 1), 0);
		assert_false(ioapic_pin_routed(&s, pin));
	}
	assert_int_equal(s.lines, 0);
	assert_int_equal(s.msg_count, 0);
	assert_int_equal(s.msg_dropped, 0);
	assert_true(ioapic_state_valid(&s));
	ioapic_init(&s, 0x25); /* only 4 ID bits exist */
	assert_int_equal(ioapic_read(&s, IOAPIC_IOREGSEL), 0);
	assert_int_equal(ioapic_read(&s, IOAPIC_IOWIN), 0x05000000);
	assert_true(ioapic_state_valid(&s));
	expect_none();
}

static void test_id_version_arb(void **state)
{
	(void)state;
	wr(IOAPIC_REG_ID, 0xFFFFFFFF);
	assert_int_equal(rd(IOAPIC_REG_ID), 0x0F000000);
	assert_int_equal(rd(IOAPIC_REG_ARB), 0x0F000000);
	wr(IOAPIC_REG_ID, 0x07000000);
	assert_int_equal(rd(IOAPIC_REG_ID), 0x07000000);
	assert_int_equal(s.id, 7);
	/* Version and arbitration are read-only. */
	wr(IOAPIC_REG_VER, 0);
	wr(IOAPIC_REG_ARB, 0x0C000000);
	assert_int_equal(rd(IOAPIC_REG_VER), IOAPIC_VERSION);
	assert_int_equal(rd(IOAPIC_REG_VER) >> 16 & 0xFF, IOAPIC_PINS - 1);
	assert_int_equal(rd(IOAPIC_REG_ARB), 0x07000000);
	assert_int_equal(rd(IOAPIC_REG_ID), 0x07000000);
}

static void test_ioregsel_indices(void **state)
{
	struct ioapic before;

	(void)state;
	/* IOREGSEL keeps bits 7:0, so an index wraps at 256. */
	ioapic_write(&s, IOAPIC_IOREGSEL, 0x12345611);
	assert_int_equal(ioapic_read(&s, IOAPIC_IOREGSEL), 0x11);
	ioapic_write(&s, IOAPIC_IOREGSEL, 0x101);
	assert_int_equal(ioapic_read(&s, IOAPIC_IOREGSEL), 0x01);
	assert_int_equal(ioapic_read(&s, IOAPIC_IOWIN), IOAPIC_VERSION);
	/* Indices that name no register read all ones and ignore writes. */
	program(5, 0x35, 0x0A);
	before = s;
	for (uint32_t idx = 0x03; idx < 0x10; idx++) {
		wr(idx, 0);
		assert_int_equal(rd(idx), 0xFFFFFFFF);
	}
	for (uint32_t idx = 0x40; idx <= 0xFF; idx++) {
		wr(idx, 0);
		assert_int_equal(rd(idx), 0xFFFFFFFF);
	}
	s.ioregsel = before.ioregsel;
	assert_same(&s, &before);
	/* The last pin's halves are the last registers. */
	wr(0x3E, 0x1234);
	wr(0x3F, 0xAB000000);
	assert_int_equal(rd(0x3E), 0x1234 & 0xAFFF);
	assert_int_equal(rd(0x3F), 0xAB000000);
	assert_int_equal(s.redir[23], 0xAB00000000000234ull);
	assert_int_equal(rd_lo(5), 0x35);
	assert_int_equal(rd(IOAPIC_REG_REDTBL + 11), 0x0A000000);
}

static void test_entry_bits(void **state)
{
	(void)state;
	/* Reserved bits, delivery status and remote IRR are not writable. */
	wr(IOAPIC_REG_REDTBL, 0xFFFFFFFF);
	assert_int_equal(rd_lo(0), 0x0001AFFF);
	wr(IOAPIC_REG_REDTBL + 1, 0xFFFFFFFF);
	assert_int_equal(rd(IOAPIC_REG_REDTBL + 1), 0xFF000000);
	wr(IOAPIC_REG_REDTBL + 1, 0x00FFFFFF);
	assert_int_equal(rd(IOAPIC_REG_REDTBL + 1), 0);
	wr(IOAPIC_REG_REDTBL, 0);
	assert_int_equal(rd_lo(0), 0);
	/* Remote IRR, once set, survives writes of either value. */
	program(4, LEVEL | 0x44, 1);
	ioapic_set_irq(&s, 4, true);
	expect_msg(4, 0x44, IOAPIC_DM_FIXED, 1, false, true);
	assert_int_equal(rd_lo(4), LEVEL | RIRR | 0x44);
	wr(IOAPIC_REG_REDTBL + 8, LEVEL | 0x45);
	assert_int_equal(rd_lo(4), LEVEL | RIRR | 0x45);
	wr(IOAPIC_REG_REDTBL + 8, LEVEL | MASKED | RIRR | 0x45);
	assert_int_equal(rd_lo(4), LEVEL | MASKED | RIRR | 0x45);
	/* Writing the high half leaves the low half (and remote IRR) alone. */
	wr(IOAPIC_REG_REDTBL + 9, 0x03000000);
	assert_int_equal(rd_lo(4), LEVEL | MASKED | RIRR | 0x45);
	expect_none();
	assert_true(ioapic_state_valid(&s));
}

static void test_mmio_offsets(void **state)
{
	static const uint32_t others[] = {0x01, 0x04, 0x08,  0x0C,  0x14,  0x18,  0x20, 0x30,
					  0x44, 0x50, 0x100, 0x110, 0x140, 0xFF0, 0xFFC};
	struct ioapic before;

	(void)state;
	program(1, LEVEL | 0x31, 0);
	ioapic_set_irq(&s, 1, true);
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 0, false, true);
	ioapic_write(&s, IOAPIC_IOREGSEL, IOAPIC_REG_ID);
	before = s;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_int_equal(ioapic_read(&s, others[i]), 0);
		ioapic_write(&s, others[i], 0x31); /* not an alias of EOI or IOWIN */
		ioapic_write(&s, others[i], 0xFFFFFFFF);
		assert_same(&s, &before);
	}
	/* The EOI register is write-only and clears remote IRR. */
	assert_int_equal(ioapic_read(&s, IOAPIC_EOI), 0);
	ioapic_set_irq(&s, 1, false);
	ioapic_write(&s, IOAPIC_EOI, 0xFFFFFF31); /* only bits 7:0 count */
	assert_int_equal(rd_lo(1), LEVEL | 0x31);
	expect_none();
}

static void test_edge_delivery(void **state)
{
	(void)state;
	program(1, EDGE | 0x31, 2);
	assert_true(ioapic_pin_routed(&s, 1));
	ioapic_set_irq(&s, 1, true);
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 2, false, false);
	expect_none();
	/* A line held high is not a new edge; falling edges send nothing. */
	ioapic_set_irq(&s, 1, true);
	ioapic_set_irq(&s, 1, false);
	ioapic_set_irq(&s, 1, false);
	expect_none();
	/* Each pulse is one message; they queue in order. */
	pulse(1);
	program(12, EDGE | LOGICAL | DM(IOAPIC_DM_LOWEST) | 0x3C, 0xFF);
	pulse(12);
	pulse(1);
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 2, false, false);
	expect_msg(12, 0x3C, IOAPIC_DM_LOWEST, 0xFF, true, false);
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 2, false, false);
	expect_none();
	/* Edge pins never see remote IRR, and an EOI does nothing to them. */
	assert_int_equal(rd_lo(1), 0x31);
	ioapic_eoi(&s, 0x31);
	expect_none();
	/* Out-of-range pins are ignored. */
	ioapic_set_irq(&s, IOAPIC_PINS, true);
	ioapic_set_irq(&s, 1000, true);
	assert_int_equal(s.lines, 0);
	expect_none();
	assert_false(ioapic_pin_routed(&s, IOAPIC_PINS));
}

static void test_edge_masked(void **state)
{
	(void)state;
	program(3, MASKED | 0x33, 0);
	pulse(3);
	expect_none();
	/* Unmasking with the line high: the edge was lost, nothing is sent. */
	ioapic_set_irq(&s, 3, true);
	program(3, 0x33, 0);
	expect_none();
	ioapic_set_irq(&s, 3, false);
	expect_none();
	ioapic_set_irq(&s, 3, true);
	expect_msg(3, 0x33, IOAPIC_DM_FIXED, 0, false, false);
	/* Masking again drops later edges; the entry keeps its fields. */
	program(3, MASKED | 0x33, 0);
	assert_false(ioapic_pin_routed(&s, 3));
	ioapic_set_irq(&s, 3, false);
	pulse(3);
	expect_none();
	assert_int_equal(rd_lo(3), MASKED | 0x33);
}

static void test_level_remote_irr(void **state)
{
	(void)state;
	program(10, LEVEL | 0x41, 1);
	ioapic_set_irq(&s, 10, true);
	expect_msg(10, 0x41, IOAPIC_DM_FIXED, 1, false, true);
	assert_int_equal(rd_lo(10), LEVEL | RIRR | 0x41);
	/* Held or re-driven line: nothing until an EOI. */
	ioapic_set_irq(&s, 10, true);
	expect_none();
	ioapic_eoi(&s, 0x42);
	expect_none();
	assert_int_equal(rd_lo(10), LEVEL | RIRR | 0x41);
	/* EOI with the line still high: sent again. */
	ioapic_eoi(&s, 0x41);
	expect_msg(10, 0x41, IOAPIC_DM_FIXED, 1, false, true);
	assert_int_equal(rd_lo(10), LEVEL | RIRR | 0x41);
	/* The device deasserts, then the EOI: quiet, remote IRR clear. */
	ioapic_set_irq(&s, 10, false);
	expect_none();
	ioapic_eoi(&s, 0x41);
	expect_none();
	assert_int_equal(rd_lo(10), LEVEL | 0x41);
	/* A second EOI is harmless. */
	ioapic_eoi(&s, 0x41);
	expect_none();
	/* Reasserting sends; the EOI register works like ioapic_eoi(). */
	ioapic_set_irq(&s, 10, true);
	expect_msg(10, 0x41, IOAPIC_DM_FIXED, 1, false, true);
	ioapic_write(&s, IOAPIC_EOI, 0x41);
	expect_msg(10, 0x41, IOAPIC_DM_FIXED, 1, false, true);
	assert_true(ioapic_state_valid(&s));
}

static void test_level_unmask(void **state)
{
	(void)state;
	program(11, LEVEL | MASKED | 0x51, 0);
	ioapic_set_irq(&s, 11, true);
	expect_none();
	assert_int_equal(rd_lo(11), LEVEL | MASKED | 0x51);
	/* Unmasking an active level line sends at once. */
	program(11, LEVEL | 0x51, 3);
	expect_msg(11, 0x51, IOAPIC_DM_FIXED, 3, false, true);
	/* Masked with remote IRR set: the EOI clears it, nothing is sent. */
	program(11, LEVEL | MASKED | 0x51, 3);
	ioapic_eoi(&s, 0x51);
	expect_none();
	assert_int_equal(rd_lo(11), LEVEL | MASKED | 0x51);
	program(11, LEVEL | 0x51, 3);
	expect_msg(11, 0x51, IOAPIC_DM_FIXED, 3, false, true);
	/* Unmasking an inactive level line sends nothing. */
	program(11, LEVEL | MASKED | 0x51, 3);
	ioapic_set_irq(&s, 11, false);
	ioapic_eoi(&s, 0x51);
	program(11, LEVEL | 0x51, 3);
	expect_none();
}

static void test_trigger_change(void **state)
{
	(void)state;
	program(9, LEVEL | 0x61, 0);
	ioapic_set_irq(&s, 9, true);
	expect_msg(9, 0x61, IOAPIC_DM_FIXED, 0, false, true);
	/* Linux before version 0x20: mask + edge clears remote IRR... */
	program(9, EDGE | MASKED | 0x61, 0);
	assert_int_equal(rd_lo(9), MASKED | 0x61);
	expect_none();
	/* ...and restoring the level entry with the line high sends again. */
	program(9, LEVEL | 0x61, 0);
	expect_msg(9, 0x61, IOAPIC_DM_FIXED, 0, false, true);
	assert_int_equal(rd_lo(9), LEVEL | RIRR | 0x61);
	/* An unmasked switch to edge is not an edge: nothing is sent. */
	program(9, EDGE | 0x61, 0);
	expect_none();
	assert_int_equal(rd_lo(9), 0x61);
	ioapic_eoi(&s, 0x61);
	expect_none();
}

static void test_polarity(void **state)
{
	(void)state;
	/* Active-low edge: a falling line is the active edge. */
	ioapic_set_irq(&s, 16, true); /* deasserted electrically high */
	program(16, LOW | 0x71, 0);
	expect_none(); /* a polarity change is not an edge */
	ioapic_set_irq(&s, 16, true);
	expect_none();
	ioapic_set_irq(&s, 16, false);
	expect_msg(16, 0x71, IOAPIC_DM_FIXED, 0, false, false);
	ioapic_set_irq(&s, 16, true);
	expect_none();
	/* Active-low level: a low line is asserted. */
	ioapic_set_irq(&s, 17, true);
	program(17, LOW | LEVEL | 0x72, 0);
	expect_none();
	ioapic_set_irq(&s, 17, false);
	expect_msg(17, 0x72, IOAPIC_DM_FIXED, 0, false, true);
	ioapic_eoi(&s, 0x72);
	expect_msg(17, 0x72, IOAPIC_DM_FIXED, 0, false, true);
	ioapic_set_irq(&s, 17, true);
	ioapic_eoi(&s, 0x72);
	expect_none();
	assert_int_equal(rd_lo(17), LOW | LEVEL | 0x72);
	/* Unmasking an active-low level pin whose line is low sends. */
	program(18, LOW | LEVEL | MASKED | 0x73, 0);
	expect_none();
	program(18, LOW | LEVEL | 0x73, 0);
	expect_msg(18, 0x73, IOAPIC_DM_FIXED, 0, false, true);
	/* Flipping a level pin to active-high with the line low: inactive. */
	ioapic_eoi(&s, 0x73);
	expect_msg(18, 0x73, IOAPIC_DM_FIXED, 0, false, true);
	program(18, LEVEL | 0x73, 0);
	ioapic_eoi(&s, 0x73);
	expect_none();
}

static void test_eoi_two_pins(void **state)
{
	(void)state;
	program(3, LEVEL | 0x50, 0);
	program(7, LEVEL | 0x50, 1);
	program(8, LEVEL | 0x51, 2);
	program(4, EDGE | 0x50, 3);
	ioapic_set_irq(&s, 3, true);
	ioapic_set_irq(&s, 7, true);
	ioapic_set_irq(&s, 8, true);
	ioapic_set_irq(&s, 4, true);
	expect_msg(3, 0x50, IOAPIC_DM_FIXED, 0, false, true);
	expect_msg(7, 0x50, IOAPIC_DM_FIXED, 1, false, true);
	expect_msg(8, 0x51, IOAPIC_DM_FIXED, 2, false, true);
	expect_msg(4, 0x50, IOAPIC_DM_FIXED, 3, false, false);
	expect_none();
	/* Pin 7's device is done; one EOI clears both, pin 3 sends again. */
	ioapic_set_irq(&s, 7, false);
	ioapic_eoi(&s, 0x50);
	assert_int_equal(rd_lo(7), LEVEL | 0x50);
	assert_int_equal(rd_lo(3), LEVEL | RIRR | 0x50);
	assert_int_equal(rd_lo(8), LEVEL | RIRR | 0x51);
	assert_int_equal(rd_lo(4), 0x50);
	expect_msg(3, 0x50, IOAPIC_DM_FIXED, 0, false, true);
	expect_none();
	/* Both still active: one EOI, two messages, in pin order. */
	ioapic_set_irq(&s, 7, true);
	expect_msg(7, 0x50, IOAPIC_DM_FIXED, 1, false, true);
	ioapic_eoi(&s, 0x50);
	expect_msg(3, 0x50, IOAPIC_DM_FIXED, 0, false, true);
	expect_msg(7, 0x50, IOAPIC_DM_FIXED, 1, false, true);
	expect_none();
	ioapic_eoi(&s, 0x51);
	expect_msg(8, 0x51, IOAPIC_DM_FIXED, 2, false, true);
	expect_none();
}

static void test_delivery_modes(void **state)
{
	(void)state;
	program(0, DM(IOAPIC_DM_EXTINT), 0);
	program(5, LOGICAL | DM(IOAPIC_DM_NMI), 0x0F);
	program(6, DM(IOAPIC_DM_SMI), 1);
	program(13, DM(IOAPIC_DM_INIT), 1);
	pulse(0);
	pulse(5);
	pulse(6);
	pulse(13);
	expect_msg(0, 0, IOAPIC_DM_EXTINT, 0, false, false);
	expect_msg(5, 0, IOAPIC_DM_NMI, 0x0F, true, false);
	expect_msg(6, 0, IOAPIC_DM_SMI, 1, false, false);
	expect_msg(13, 0, IOAPIC_DM_INIT, 1, false, false);
	expect_none();
	/* NMI "level": treated as edge, no remote IRR, no message per EOI. */
	program(5, LEVEL | DM(IOAPIC_DM_NMI) | 0x20, 0);
	ioapic_set_irq(&s, 5, true);
	expect_msg(5, 0x20, IOAPIC_DM_NMI, 0, false, false);
	ioapic_set_irq(&s, 5, true);
	ioapic_eoi(&s, 0x20);
	expect_none();
	assert_int_equal(rd_lo(5), LEVEL | DM(IOAPIC_DM_NMI) | 0x20);
	/* Lowest priority level keeps level semantics. */
	program(14, LEVEL | DM(IOAPIC_DM_LOWEST) | 0x90, 0x03);
	ioapic_set_irq(&s, 14, true);
	expect_msg(14, 0x90, IOAPIC_DM_LOWEST, 0x03, false, true);
	assert_int_equal(rd_lo(14), LEVEL | RIRR | DM(IOAPIC_DM_LOWEST) | 0x90);
	/* Reserved modes send nothing, edge or level. */
	program(15, DM(3) | 0x80, 0);
	pulse(15);
	program(15, LEVEL | DM(6) | 0x80, 0);
	ioapic_set_irq(&s, 15, true);
	expect_none();
	assert_int_equal(rd_lo(15), LEVEL | DM(6) | 0x80);
	assert_int_equal(s.msg_dropped, 0);
	assert_true(ioapic_state_valid(&s));
}

static void test_queue_overflow(void **state)
{
	struct ioapic_msg m;

	(void)state;
	program(2, 0x22, 0);
	for (unsigned i = 0; i < IOAPIC_MSG_QUEUE + 5; i++)
		pulse(2);
	assert_int_equal(s.msg_count, IOAPIC_MSG_QUEUE);
	assert_int_equal(s.msg_dropped, 5);
	/* A level message that finds the queue full waits for room. */
	program(20, LEVEL | 0xA0, 4);
	ioapic_set_irq(&s, 20, true);
	assert_int_equal(s.msg_dropped, 6);
	assert_int_equal(rd_lo(20), LEVEL | 0xA0);
	assert_true(ioapic_state_valid(&s));
	assert_true(ioapic_take_msg(&s, &m));
	assert_int_equal(m.pin, 2);
	assert_int_equal(rd_lo(20), LEVEL | RIRR | 0xA0);
	for (unsigned i = 1; i < IOAPIC_MSG_QUEUE; i++)
		expect_msg(2, 0x22, IOAPIC_DM_FIXED, 0, false, false);
	expect_msg(20, 0xA0, IOAPIC_DM_FIXED, 4, false, true);
	expect_none();
	assert_int_equal(s.msg_dropped, 6);
	/* The ring wraps cleanly. */
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 20; i++)
			pulse(2);
		for (unsigned i = 0; i < 20; i++)
			expect_msg(2, 0x22, IOAPIC_DM_FIXED, 0, false, false);
		expect_none();
	}
	assert_int_equal(s.msg_dropped, 6);
}

static void test_pin_routed(void **state)
{
	(void)state;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		assert_false(ioapic_pin_routed(&s, pin));
	program(0, DM(IOAPIC_DM_EXTINT), 0);
	program(23, LEVEL | LOW | 0xB3, 0);
	assert_true(ioapic_pin_routed(&s, 0));
	assert_true(ioapic_pin_routed(&s, 23));
	assert_false(ioapic_pin_routed(&s, 1));
	assert_false(ioapic_pin_routed(&s, 24));
	assert_false(ioapic_pin_routed(&s, ~0u));
	program(23, LEVEL | LOW | MASKED | 0xB3, 0);
	assert_false(ioapic_pin_routed(&s, 23));
}

static uint32_t rnd(void)
{
	return (uint32_t)rand() << 16 ^ (uint32_t)rand();
}

static void test_state_valid(void **state)
{
	struct ioapic t;
	struct ioapic_msg m;

	(void)state;
	/* Random guests and devices never leave a bad state. */
	srand(7);
	for (int i = 0; i < 50000; i++) {
		uint32_t off = (i & 3) ? (rnd() & 0x70) : rnd() & 0xFFF;

		ioapic_write(&s, off, rnd() % 4 ? rnd() & 0x7F : rnd());
		ioapic_write(&s, IOAPIC_IOWIN, rnd());
		(void)ioapic_read(&s, rnd() & 0xFF);
		ioapic_set_irq(&s, rnd() % 26, rnd() & 1);
		if (i % 3 == 0)
			ioapic_eoi(&s, (uint8_t)rnd());
		if (i % 5 == 0)
			(void)ioapic_take_msg(&s, &m);
		assert_true(ioapic_state_valid(&s));
	}
	while (ioapic_take_msg(&s, &m))
		assert_true(ioapic_state_valid(&s));
	/* Bad snapshots are refused. */
	ioapic_init(&s, 1);
	program(1, LEVEL | 0x31, 0);
	ioapic_set_irq(&s, 1, true);
	assert_true(ioapic_state_valid(&s));
	t = s;
	t.id = 0x10;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.lines = 1u << IOAPIC_PINS;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.redir[2] |= IOAPIC_RTE_DELIVS;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.redir[2] |= 1ull << 17; /* reserved */
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.redir[2] |= 1ull << 48; /* extended destination: not kept */
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.redir[2] |= IOAPIC_RTE_REMOTE_IRR; /* on an edge entry */
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg_head = IOAPIC_MSG_QUEUE;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg_count = IOAPIC_MSG_QUEUE + 1;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg[0].delivery = 3;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg[0].delivery = IOAPIC_DM_NMI; /* with trigger_level 1 */
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg[0].pin = IOAPIC_PINS;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg[0].dest = 0x100;
	assert_false(ioapic_state_valid(&t));
	t = s;
	t.msg[0].logical = 2;
	assert_false(ioapic_state_valid(&t));
	/* Slots outside the queue are not checked. */
	t = s;
	t.msg[1].delivery = 3;
	assert_true(ioapic_state_valid(&t));
	/* A valid snapshot copied whole runs on. */
	t = s;
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 0, false, true);
	s = t;
	expect_msg(1, 0x31, IOAPIC_DM_FIXED, 0, false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_reset_values, setup),
	    cmocka_unit_test_setup(test_id_version_arb, setup),
	    cmocka_unit_test_setup(test_ioregsel_indices, setup),
	    cmocka_unit_test_setup(test_entry_bits, setup),
	    cmocka_unit_test_setup(test_mmio_offsets, setup),
	    cmocka_unit_test_setup(test_edge_delivery, setup),
	    cmocka_unit_test_setup(test_edge_masked, setup),
	    cmocka_unit_test_setup(test_level_remote_irr, setup),
	    cmocka_unit_test_setup(test_level_unmask, setup),
	    cmocka_unit_test_setup(test_trigger_change, setup),
	    cmocka_unit_test_setup(test_polarity, setup),
	    cmocka_unit_test_setup(test_eoi_two_pins, setup),
	    cmocka_unit_test_setup(test_delivery_modes, setup),
	    cmocka_unit_test_setup(test_queue_overflow, setup),
	    cmocka_unit_test_setup(test_pin_routed, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
