/* Unit tests for the 8259A pair (vdev/i8259.c), driven through its ports
 * the way Linux and a BIOS drive a PC's interrupt controllers, with devices
 * played by i8259_set_irq() and the CPU by i8259_acknowledge(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/i8259.h>

#define M_CMD 0x20
#define M_IMR 0x21
#define S_CMD 0xA0
#define S_IMR 0xA1
#define ELCR0 0x4D0
#define ELCR1 0x4D1
#define VEC0 0x30 /* Linux's ISA_IRQ_VECTOR(0) */
#define VEC8 0x38
#define READ_IRR 0x0A
#define READ_ISR 0x0B
#define EOI 0x20
#define SEOI(irq) (0x60 | ((irq)&7))

static struct i8259_pair pic;

static int setup(void **state)
{
	(void)state;
	i8259_init(&pic);
	return 0;
}

static void out(uint16_t port, uint8_t v)
{
	i8259_write(&pic, port, v);
}

static uint8_t in(uint16_t port)
{
	return i8259_read(&pic, port);
}

static void irq(unsigned n, bool level)
{
	i8259_set_irq(&pic, n, level);
}

static void pulse(unsigned n)
{
	irq(n, true);
	irq(n, false);
}

static uint8_t isr(uint16_t cmd)
{
	uint8_t v;

	out(cmd, READ_ISR);
	v = in(cmd);
	out(cmd, READ_IRR);
	return v;
}

/* arch/x86/kernel/i8259.c: init_8259A(), with the probe before it. */
static void linux_init(bool auto_eoi)
{
	out(S_IMR, 0xFF);
	out(M_IMR, 0xFB);
	assert_int_equal(in(M_IMR), 0xFB); /* probe_8259A: a PIC is there */
	out(M_IMR, 0xFF);
	out(S_IMR, 0xFF);
	out(M_CMD, 0x11); /* ICW1: edge, cascade, ICW4 needed */
	out(M_IMR, VEC0); /* ICW2 */
	out(M_IMR, 1 << 2); /* ICW3: slave on IR2 */
	out(M_IMR, auto_eoi ? 0x03 : 0x01); /* ICW4: 8086 (+ auto-EOI) */
	out(S_CMD, 0x11);
	out(S_IMR, VEC8);
	out(S_IMR, 2); /* ICW3: cascade identity */
	out(S_IMR, 0x01);
	out(M_IMR, 0xFB); /* cached masks: all but the cascade */
	out(S_IMR, 0xFF);
}

/* Linux's mask_and_ack_8259A() for IRQ N, then the unmask after the
 * handler (the IRQ stays unmasked in the cached mask here). */
static void linux_eoi(unsigned n)
{
	if (n & 8) {
		out(S_CMD, SEOI(n));
		out(M_CMD, SEOI(2));
	} else {
		out(M_CMD, SEOI(n));
	}
}

static void unmask(unsigned n)
{
	uint16_t port = n & 8 ? S_IMR : M_IMR;

	out(port, in(port) & ~(1 << (n & 7)));
}

static void expect_ack(int vector)
{
	assert_true(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), vector);
}

/* The CPU takes VECTOR and Linux's handler for IRQ N ends it. */
static void serve(int vector, unsigned n)
{
	expect_ack(vector);
	linux_eoi(n);
}

static void test_power_on(void **state)
{
	(void)state;
	assert_int_equal(in(M_IMR), 0);
	assert_int_equal(in(S_IMR), 0);
	assert_int_equal(in(M_CMD), 0); /* IRR */
	assert_int_equal(in(ELCR0), 0);
	assert_int_equal(in(ELCR1), 0);
	assert_int_equal(in(0x22), 0xFF);
	assert_int_equal(in(0x4D2), 0xFF);
	assert_false(i8259_pending(&pic));
	out(0x22, 0x11); /* not ours: ignored */
	assert_int_equal(in(M_IMR), 0);
	assert_true(i8259_state_valid(&pic));
}

static void test_linux_init_and_timer(void **state)
{
	(void)state;
	linux_init(false);
	assert_int_equal(in(M_IMR), 0xFB);
	assert_int_equal(in(S_IMR), 0xFF);
	assert_false(i8259_pending(&pic));
	irq(0, true); /* PIT OUT0 rises while masked: latched */
	assert_false(i8259_pending(&pic));
	assert_int_equal(in(M_CMD), 0x01);
	unmask(0);
	expect_ack(VEC0);
	assert_int_equal(in(M_CMD), 0x00); /* IRR to ISR */
	assert_int_equal(isr(M_CMD), 0x01);
	irq(0, false);
	irq(0, true); /* the next tick, before the EOI: waits */
	assert_false(i8259_pending(&pic));
	linux_eoi(0);
	assert_int_equal(isr(M_CMD), 0x00);
	expect_ack(VEC0);
	out(M_CMD, EOI); /* non-specific works the same */
	assert_int_equal(isr(M_CMD), 0x00);
	assert_false(i8259_pending(&pic));
}

static void test_masking(void **state)
{
	(void)state;
	linux_init(false);
	pulse(1);
	pulse(4);
	assert_false(i8259_pending(&pic));
	assert_int_equal(in(M_CMD), 0x12);
	unmask(4);
	expect_ack(VEC0 + 4);
	unmask(1);
	expect_ack(VEC0 + 1); /* nests: IRQ 1 outranks IRQ 4 in service */
	assert_int_equal(isr(M_CMD), 0x12);
	out(M_IMR, 0xFF); /* masking does not end service */
	out(M_CMD, EOI); /* ends the highest: IRQ 1 */
	assert_int_equal(isr(M_CMD), 0x10);
	out(M_CMD, EOI);
	assert_int_equal(isr(M_CMD), 0x00);
	/* The mask of the slave's input on the master hides all slave IRQs. */
	out(M_IMR, 0xFF);
	out(S_IMR, 0x00);
	irq(9, true);
	assert_false(i8259_pending(&pic));
	out(M_IMR, 0xFB);
	expect_ack(VEC8 + 1);
}

static void test_edge_latch(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	irq(3, true);
	irq(3, true); /* still high: no new edge */
	expect_ack(VEC0 + 3);
	assert_false(i8259_pending(&pic));
	linux_eoi(3);
	assert_false(i8259_pending(&pic)); /* held high: one interrupt only */
	irq(3, false);
	irq(3, true);
	expect_ack(VEC0 + 3);
	irq(3, false);
	pulse(3); /* while in service: latched for later */
	assert_int_equal(in(M_CMD), 0x08);
	linux_eoi(3);
	serve(VEC0 + 3, 3);
	assert_false(i8259_pending(&pic));
	/* Two edges before an acknowledge are one interrupt. */
	pulse(5);
	pulse(5);
	serve(VEC0 + 5, 5);
	assert_false(i8259_pending(&pic));
}

static void test_priority(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	pulse(5);
	pulse(3);
	pulse(6);
	expect_ack(VEC0 + 3);
	assert_false(i8259_pending(&pic)); /* 5 and 6 wait for 3's EOI */
	pulse(1);
	expect_ack(VEC0 + 1); /* a higher level nests */
	assert_int_equal(isr(M_CMD), 0x0A);
	out(M_CMD, SEOI(3)); /* a specific EOI out of order */
	assert_int_equal(isr(M_CMD), 0x02);
	assert_false(i8259_pending(&pic)); /* 1 still blocks 5 */
	out(M_CMD, EOI);
	serve(VEC0 + 5, 5);
	serve(VEC0 + 6, 6);
	assert_false(i8259_pending(&pic));
	/* An EOI with nothing in service is harmless. */
	out(M_CMD, EOI);
	out(M_CMD, SEOI(7));
	assert_int_equal(isr(M_CMD), 0);
}

static void test_cascade(void **state)
{
	(void)state;
	linux_init(false);
	unmask(12);
	unmask(14);
	unmask(8);
	unmask(3);
	unmask(1);
	pulse(12);
	assert_int_equal(in(M_CMD), 0x04); /* IR2 follows the slave */
	assert_int_equal(in(S_CMD), 0x10);
	expect_ack(VEC8 + 4);
	assert_int_equal(isr(M_CMD), 0x04);
	assert_int_equal(isr(S_CMD), 0x10);
	assert_int_equal(in(M_CMD), 0x00);
	/* While the slave's level is in service on the master, IRQ 3 waits
	 * and IRQ 1 nests. */
	pulse(3);
	assert_false(i8259_pending(&pic));
	pulse(1);
	serve(VEC0 + 1, 1);
	/* A higher slave IRQ waits behind the master's ISR2 (fully nested). */
	pulse(8);
	assert_int_equal(in(M_CMD), 0x0C);
	assert_false(i8259_pending(&pic));
	linux_eoi(12); /* slave first, then master, as Linux does */
	expect_ack(VEC8 + 0);
	pulse(14);
	linux_eoi(8);
	serve(VEC8 + 6, 14);
	serve(VEC0 + 3, 3); /* last: the lowest level */
	assert_false(i8259_pending(&pic));
	assert_int_equal(isr(M_CMD) | isr(S_CMD), 0);
	/* Both at once: IRQ 8 before 14 (and the master's 0 and 1 first). */
	pulse(14);
	pulse(8);
	pulse(0);
	unmask(0);
	serve(VEC0 + 0, 0);
	serve(VEC8 + 0, 8);
	serve(VEC8 + 6, 14);
	assert_false(i8259_pending(&pic));
	irq(2, true); /* the cascade is no device's line */
	assert_int_equal(in(M_CMD), 0x00);
}

static void test_special_fully_nested(void **state)
{
	(void)state;
	linux_init(false);
	out(M_CMD, 0x11);
	out(M_IMR, VEC0);
	out(M_IMR, 0x04);
	out(M_IMR, 0x11); /* ICW4: 8086, special fully nested */
	out(S_IMR, 0x00);
	pulse(12);
	expect_ack(VEC8 + 4);
	pulse(8); /* higher slave level: through the master's ISR2 */
	expect_ack(VEC8 + 0);
	pulse(13); /* lower than 12 on the slave: waits */
	assert_false(i8259_pending(&pic));
	out(S_CMD, EOI);
	out(S_CMD, EOI);
	expect_ack(VEC8 + 5); /* still without a master EOI */
	out(S_CMD, EOI);
	out(M_CMD, EOI);
	assert_int_equal(isr(M_CMD) | isr(S_CMD), 0);
}

static void test_level_elcr(void **state)
{
	(void)state;
	linux_init(false);
	out(ELCR0, 0xFF);
	out(ELCR1, 0xFF);
	assert_int_equal(in(ELCR0), 0xF8); /* IRQ 0-2, 8 and 13 are edge */
	assert_int_equal(in(ELCR1), 0xDE);
	out(ELCR0, 0x00);
	out(ELCR1, 0x0C); /* IRQ 10 and 11 level, as a BIOS sets for PCI */
	unmask(10);
	unmask(11);
	irq(10, true);
	expect_ack(VEC8 + 2);
	assert_int_equal(in(S_CMD), 0x04); /* IRR follows the line */
	linux_eoi(10);
	expect_ack(VEC8 + 2); /* still asserted: again */
	irq(10, false); /* the handler quiets the device */
	linux_eoi(10);
	assert_false(i8259_pending(&pic));
	assert_int_equal(in(S_CMD), 0x00);
	/* Shared line, two devices: IRR follows the wire-OR the caller gives. */
	irq(11, true);
	irq(10, true);
	expect_ack(VEC8 + 2);
	irq(10, false);
	linux_eoi(10);
	expect_ack(VEC8 + 3);
	irq(11, false);
	linux_eoi(11);
	assert_false(i8259_pending(&pic));
	/* A pulse on a level input is gone before anyone sees it. */
	pulse(11);
	assert_false(i8259_pending(&pic));
	/* Switching to edge keeps the request already in IRR... */
	irq(11, true);
	out(ELCR1, 0x00);
	assert_int_equal(in(S_CMD), 0x08);
	serve(VEC8 + 3, 11);
	assert_false(i8259_pending(&pic)); /* ...but a held line is one edge */
	/* Edge to level with the line high: pending at once. */
	out(ELCR1, 0x08);
	serve(VEC8 + 3, 11);
}

static void test_ltim(void **state)
{
	(void)state;
	out(M_CMD, 0x19); /* ICW1: level for the whole chip, ICW4 */
	out(M_IMR, 0x08);
	out(M_IMR, 0x04);
	out(M_IMR, 0x01);
	irq(5, true);
	expect_ack(0x08 + 5);
	out(M_CMD, EOI);
	expect_ack(0x08 + 5);
	irq(5, false);
	out(M_CMD, EOI);
	assert_false(i8259_pending(&pic));
}

static void test_spurious(void **state)
{
	(void)state;
	linux_init(false);
	assert_int_equal(i8259_acknowledge(&pic), VEC0 + 7); /* nothing at all */
	assert_int_equal(isr(M_CMD), 0);
	/* A level IRQ that goes away between INT and INTA. */
	out(ELCR0, 0x20);
	unmask(5);
	irq(5, true);
	assert_true(i8259_pending(&pic));
	irq(5, false);
	assert_int_equal(i8259_acknowledge(&pic), VEC0 + 7);
	assert_int_equal(isr(M_CMD), 0); /* no EOI owed */
	/* Masked between INT and INTA. */
	pulse(1);
	unmask(1);
	assert_true(i8259_pending(&pic));
	out(M_IMR, 0xFF);
	assert_int_equal(i8259_acknowledge(&pic), VEC0 + 7);
	out(M_IMR, 0xFB);
	assert_int_equal(in(M_CMD), 0x02); /* the request itself is kept */
	/* A slave level IRQ that goes away: spurious too, nothing in service. */
	out(ELCR1, 0x10);
	unmask(12);
	irq(12, true);
	assert_true(i8259_pending(&pic));
	irq(12, false);
	assert_false(i8259_pending(&pic));
	assert_int_equal(i8259_acknowledge(&pic), VEC0 + 7);
	assert_int_equal(isr(M_CMD) | isr(S_CMD), 0);
	/* A real IRQ 7 is not spurious: it is in service (Linux's check). */
	unmask(7);
	pulse(7);
	expect_ack(VEC0 + 7);
	assert_int_equal(isr(M_CMD), 0x80);
	linux_eoi(7);
}

static void test_auto_eoi(void **state)
{
	(void)state;
	linux_init(true);
	out(M_IMR, 0x00);
	pulse(4);
	expect_ack(VEC0 + 4);
	assert_int_equal(isr(M_CMD), 0);
	pulse(4);
	expect_ack(VEC0 + 4); /* no EOI needed */
	pulse(6);
	pulse(3);
	expect_ack(VEC0 + 3);
	expect_ack(VEC0 + 6);
	/* Rotate in auto-EOI: the served IRQ becomes the lowest. */
	out(M_CMD, 0x80);
	pulse(1);
	expect_ack(VEC0 + 1);
	pulse(1);
	pulse(3);
	expect_ack(VEC0 + 3);
	expect_ack(VEC0 + 1);
	out(M_CMD, 0x00); /* rotation off: IRQ 1 stays the lowest */
	for (unsigned i = 0; i < 2; i++) {
		pulse(1);
		pulse(3);
		expect_ack(VEC0 + 3);
		expect_ack(VEC0 + 1);
	}
	/* Slave in auto-EOI: the master still needs none either. */
	out(S_CMD, 0x11);
	out(S_IMR, VEC8);
	out(S_IMR, 2);
	out(S_IMR, 0x03);
	pulse(15);
	pulse(9);
	expect_ack(VEC8 + 1);
	expect_ack(VEC8 + 7);
	assert_int_equal(isr(M_CMD) | isr(S_CMD), 0);
	assert_false(i8259_pending(&pic));
}

static void test_rotation(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	for (unsigned n = 0; n < 8; n++)
		if (n != 2)
			pulse(n);
	/* Round robin with rotate on non-specific EOI. */
	expect_ack(VEC0 + 0);
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 1);
	out(M_CMD, 0xA0);
	pulse(0);
	expect_ack(VEC0 + 3); /* 0 now ranks after 7 */
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 4);
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 5);
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 6);
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 7);
	out(M_CMD, 0xA0);
	expect_ack(VEC0 + 0);
	out(M_CMD, 0xA0);
	assert_false(i8259_pending(&pic));
	/* Set priority: lowest = 4, so 5 comes first. */
	out(M_CMD, 0xC4);
	pulse(3);
	pulse(5);
	expect_ack(VEC0 + 5);
	assert_false(i8259_pending(&pic)); /* 3 ranks below 5 */
	/* Rotate on specific EOI: 5 becomes the lowest. */
	out(M_CMD, 0xE5);
	assert_int_equal(isr(M_CMD), 0);
	pulse(6);
	expect_ack(VEC0 + 6);
	out(M_CMD, EOI);
	assert_int_equal(isr(M_CMD), 0);
	expect_ack(VEC0 + 3);
	pulse(7);
	expect_ack(VEC0 + 7); /* 7 outranks 3 after rotation */
	out(M_CMD, EOI); /* non-specific EOI follows the rotated order */
	assert_int_equal(isr(M_CMD), 0x08);
	out(M_CMD, 0x40); /* OCW2 no-op */
	assert_int_equal(isr(M_CMD), 0x08);
	out(M_CMD, EOI);
	/* ICW1 puts IR7 back as the lowest. */
	linux_init(false);
	out(M_IMR, 0);
	pulse(7);
	pulse(0);
	expect_ack(VEC0);
}

static void test_poll(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0xFF); /* a polling guest masks, then polls */
	out(M_CMD, 0x0C);
	assert_int_equal(in(M_CMD), 0x00); /* nothing */
	pulse(5);
	out(M_IMR, 0x00);
	out(M_CMD, 0x0C);
	assert_int_equal(in(M_CMD), 0x85);
	assert_int_equal(isr(M_CMD), 0x20);
	assert_int_equal(in(M_CMD), 0x00); /* one-shot: back to IRR */
	out(M_CMD, EOI);
	/* Slave through the master: IR2, then poll the slave. */
	out(S_IMR, 0x00);
	pulse(13);
	out(M_CMD, 0x0C);
	assert_int_equal(in(M_CMD), 0x82);
	out(S_CMD, 0x0C);
	assert_int_equal(in(S_CMD), 0x85);
	assert_int_equal(isr(S_CMD), 0x20);
	assert_int_equal(isr(M_CMD), 0x04);
	out(S_CMD, EOI);
	out(M_CMD, EOI);
	assert_false(i8259_pending(&pic));
	/* Poll with OCW3 read-ISR in the same byte: the poll wins once. */
	pulse(6);
	out(M_IMR, 0xBF);
	out(M_CMD, 0x0F);
	assert_int_equal(in(M_CMD), 0x86);
	assert_int_equal(in(M_CMD), 0x40); /* then ISR */
}

static void test_special_mask(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	pulse(3);
	expect_ack(VEC0 + 3);
	pulse(5);
	assert_false(i8259_pending(&pic)); /* fully nested: 5 waits for 3 */
	/* The handler masks its own level and enters special mask mode. */
	out(M_IMR, 0x08);
	out(M_CMD, 0x68);
	expect_ack(VEC0 + 5);
	out(M_CMD, SEOI(5));
	pulse(3);
	assert_false(i8259_pending(&pic)); /* masked */
	out(M_CMD, 0x48); /* special mask mode off */
	out(M_CMD, SEOI(3));
	out(M_IMR, 0x00);
	expect_ack(VEC0 + 3);
	out(M_CMD, EOI);
	assert_int_equal(isr(M_CMD), 0);
	/* OCW3 without ESMM leaves the mode alone. */
	out(M_CMD, 0x68);
	out(M_CMD, 0x28);
	assert_int_equal(pic.chip[0].special_mask, 1);
}

static void test_read_select(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	pulse(1);
	pulse(4);
	expect_ack(VEC0 + 1);
	assert_int_equal(in(M_CMD), 0x10); /* IRR by default */
	out(M_CMD, READ_ISR);
	assert_int_equal(in(M_CMD), 0x02);
	out(M_CMD, 0x08); /* OCW3 without RR: selection kept */
	assert_int_equal(in(M_CMD), 0x02);
	assert_int_equal(in(M_IMR), 0x00); /* the data port is always IMR */
	out(M_CMD, READ_IRR);
	assert_int_equal(in(M_CMD), 0x10);
}

static void test_init_resets(void **state)
{
	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	out(S_IMR, 0x00);
	out(ELCR1, 0x20); /* IRQ 13 is edge-only; this writes 0 */
	assert_int_equal(in(ELCR1), 0);
	out(ELCR0, 0x08); /* IRQ 3 level */
	irq(3, true);
	irq(4, true);
	pulse(5);
	expect_ack(VEC0 + 3);
	out(M_CMD, READ_ISR);
	out(M_CMD, 0x68); /* special mask */
	/* Re-initialise: ISR, IMR, latches, modes cleared; level 3 stays. */
	out(M_CMD, 0x11);
	assert_int_equal(in(M_IMR), 0x00);
	assert_false(i8259_pending(&pic)); /* silent until ICW4 */
	out(M_IMR, 0x40);
	assert_false(i8259_pending(&pic));
	out(M_IMR, 0x04);
	assert_int_equal(in(M_CMD), 0x08); /* IRR again: 4 and 5 forgotten */
	out(M_IMR, 0x01);
	assert_int_equal(isr(M_CMD), 0x00);
	assert_int_equal(pic.chip[0].special_mask, 0);
	expect_ack(0x40 + 3);
	irq(3, false);
	out(M_CMD, EOI);
	assert_false(i8259_pending(&pic)); /* 4 is high but did not rise */
	irq(4, false);
	irq(4, true);
	expect_ack(0x40 + 4);
	/* Single mode: ICW2 then ICW4, no ICW3. */
	out(M_CMD, 0x13);
	out(M_IMR, 0x50);
	assert_int_equal(pic.chip[0].init_step, 4);
	out(M_IMR, 0x01);
	assert_int_equal(pic.chip[0].init_step, 0);
	irq(4, false);
	irq(4, true);
	expect_ack(0x50 + 4);
	/* No ICW4: auto-EOI off, done after ICW3. */
	out(M_CMD, 0x10);
	out(M_IMR, 0x60);
	out(M_IMR, 0x04);
	assert_int_equal(pic.chip[0].init_step, 0);
	assert_int_equal(pic.chip[0].auto_eoi, 0);
}

static void fuzz(unsigned seed, unsigned steps)
{
	static const uint16_t ports[] = {M_CMD, M_IMR, S_CMD, S_IMR, ELCR0, ELCR1, 0x22, 0xA2};

	srand(seed);
	for (unsigned i = 0; i < steps; i++) {
		unsigned r = (unsigned)rand();
		uint8_t v = (uint8_t)(r >> 8);
		int vec;

		switch (r % 5) {
		case 0:
		case 1:
			out(ports[(r >> 16) % 8], v);
			break;
		case 2:
			(void)in(ports[(r >> 16) % 8]);
			break;
		case 3:
			irq((r >> 16) % 20, v & 1);
			break;
		default:
			vec = i8259_acknowledge(&pic);
			assert_true(vec >= 0 && vec <= 255);
			break;
		}
		assert_true(i8259_state_valid(&pic));
	}
}

static void test_hostile(void **state)
{
	(void)state;
	irq(16, true);
	irq(1000, true);
	irq((unsigned)-1, true);
	assert_int_equal(in(M_CMD) | in(S_CMD), 0);
	fuzz(1, 20000);
	fuzz(2, 20000);
}

static void test_save_restore(void **state)
{
	struct i8259_pair saved, bad, before;
	int v1[6], v2[6];

	(void)state;
	linux_init(false);
	out(M_IMR, 0x00);
	out(S_IMR, 0x00);
	out(ELCR1, 0x08);
	pulse(4);
	irq(11, true);
	pulse(12);
	expect_ack(VEC8 + 3);
	saved = pic;
	for (unsigned i = 0; i < 6; i++) {
		v1[i] = i8259_acknowledge(&pic);
		out(S_CMD, EOI);
		out(M_CMD, EOI);
		irq(11, false);
	}
	assert_true(i8259_restore(&pic, &saved));
	for (unsigned i = 0; i < 6; i++) {
		v2[i] = i8259_acknowledge(&pic);
		out(S_CMD, EOI);
		out(M_CMD, EOI);
		irq(11, false);
	}
	assert_memory_equal(v1, v2, sizeof(v1));
	/* The cascade input is derived, never taken from the snapshot. */
	bad = saved;
	bad.chip[0].irr |= 0x04;
	bad.chip[1].irr = 0;
	bad.chip[1].lines = 0;
	assert_true(i8259_restore(&pic, &bad));
	assert_int_equal(in(M_CMD), 0x10);

#define REFUSED(field, value)                                    \
	do {                                                     \
		bad = saved;                                     \
		bad.field = value;                               \
		before = pic;                                    \
		assert_false(i8259_state_valid(&bad));           \
		assert_false(i8259_restore(&pic, &bad));         \
		assert_memory_equal(&pic, &before, sizeof(pic)); \
	} while (0)
	REFUSED(chip[0].init_step, 1);
	REFUSED(chip[1].init_step, 5);
	REFUSED(chip[0].lowest, 8);
	REFUSED(chip[1].vector_base, 0x39);
	REFUSED(chip[0].elcr, 0x04);
	REFUSED(chip[1].elcr, 0x01);
	REFUSED(chip[0].auto_eoi, 2);
	REFUSED(chip[1].special_mask, 0xFF);
	REFUSED(chip[0].poll, 7);
#undef REFUSED
	assert_true(i8259_state_valid(&saved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_power_on, setup),
	    cmocka_unit_test_setup(test_linux_init_and_timer, setup),
	    cmocka_unit_test_setup(test_masking, setup),
	    cmocka_unit_test_setup(test_edge_latch, setup),
	    cmocka_unit_test_setup(test_priority, setup),
	    cmocka_unit_test_setup(test_cascade, setup),
	    cmocka_unit_test_setup(test_special_fully_nested, setup),
	    cmocka_unit_test_setup(test_level_elcr, setup),
	    cmocka_unit_test_setup(test_ltim, setup),
	    cmocka_unit_test_setup(test_spurious, setup),
	    cmocka_unit_test_setup(test_auto_eoi, setup),
	    cmocka_unit_test_setup(test_rotation, setup),
	    cmocka_unit_test_setup(test_poll, setup),
	    cmocka_unit_test_setup(test_special_mask, setup),
	    cmocka_unit_test_setup(test_read_select, setup),
	    cmocka_unit_test_setup(test_init_resets, setup),
	    cmocka_unit_test_setup(test_hostile, setup),
	    cmocka_unit_test_setup(test_save_restore, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
