/* Unit tests for the 8042 keyboard controller (vdev/i8042.c), driven through
 * its ports the way Linux's i8042, atkbd and psmouse drivers and its reboot
 * code drive a PC's controller, with nothing plugged into either port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <keel/i8042.h>

#define DATA I8042_PORT_DATA
#define CMD I8042_PORT_CMD

static struct i8042 kbc;

static int setup(void **state)
{
	(void)state;
	i8042_init(&kbc);
	return 0;
}

static void out(uint16_t port, uint8_t v)
{
	i8042_write(&kbc, port, v);
}

static uint8_t in(uint16_t port)
{
	return i8042_read(&kbc, port);
}

/* drivers/input/serio/i8042.c: i8042_command() with one result byte, which
 * must come from the controller side (not the aux device) unless LOOP. */
static uint8_t command(uint8_t cmd, bool aux)
{
	uint8_t str;

	out(CMD, cmd);
	str = in(CMD);
	assert_true(str & I8042_STR_OBF);
	assert_false(str & I8042_STR_IBF);
	assert_int_equal(!!(str & I8042_STR_AUXDATA), aux);
	assert_false(str & I8042_STR_TIMEOUT);
	return in(DATA);
}

static uint8_t command_arg(uint8_t cmd, uint8_t arg, bool aux)
{
	out(CMD, cmd);
	out(DATA, arg);
	assert_true(in(CMD)&I8042_STR_OBF);
	assert_int_equal(!!(in(CMD)&I8042_STR_AUXDATA), aux);
	return in(DATA);
}

static void write_ctr(uint8_t ctr)
{
	out(CMD, 0x60);
	out(DATA, ctr);
}

static void test_power_on(void **state)
{
	(void)state;
	assert_int_equal(in(CMD), I8042_STR_SYS | I8042_STR_UNLOCKED);
	assert_false(i8042_irq1_level(&kbc));
	assert_false(i8042_irq12_level(&kbc));
	assert_false(i8042_take_reset(&kbc));
	assert_true(i8042_a20(&kbc));
	assert_true(i8042_state_valid(&kbc));
	assert_int_equal(command(0x20, false), 0x45);
	/* The last write was a command, and the reply has been read. */
	assert_int_equal(in(CMD), I8042_STR_SYS | I8042_STR_CMD | I8042_STR_UNLOCKED);
	assert_int_equal(command(0xC0, false), 0x80);
	assert_int_equal(command(0xD0, false), 0xCF);
}

/* i8042_controller_check/selftest/init and i8042_check_aux, in order. */
static void test_linux_probe(void **state)
{
	uint8_t ctr, p;

	(void)state;
	assert_false(in(CMD)&I8042_STR_OBF); /* i8042_flush: nothing queued */
	assert_int_equal(command(0xAA, false), 0x55);
	ctr = command(0x20, false);
	assert_int_equal(command(0x20, false), ctr); /* read until stable */
	ctr = (uint8_t)((ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT);
	write_ctr(ctr);
	assert_int_equal(command(0x20, false), ctr);
	/* Aux loopback, then the MUX probe: three echoes mean no MUX. */
	assert_int_equal(command_arg(0xD3, 0x5A, true), 0x5A);
	assert_int_equal(command_arg(0xD3, 0xF0, true), 0xF0);
	assert_int_equal(command_arg(0xD3, 0x56, true), 0x56);
	assert_int_equal(command_arg(0xD3, 0xA4, true), 0xA4);
	/* i8042_toggle_aux: the disable bit must follow 0xA7/0xA8. */
	out(CMD, 0xA7);
	assert_true(command(0x20, false) & I8042_CTR_AUXDIS);
	out(CMD, 0xA8);
	assert_false(command(0x20, false) & I8042_CTR_AUXDIS);
	/* The IRQ 12 delivery test: a looped byte left in the buffer. */
	write_ctr(ctr | I8042_CTR_AUXINT);
	out(CMD, 0xD3);
	out(DATA, 0xA5);
	assert_true(i8042_irq12_level(&kbc));
	assert_false(i8042_irq1_level(&kbc));
	p = in(CMD);
	assert_int_equal(p & (I8042_STR_OBF | I8042_STR_AUXDATA),
			 I8042_STR_OBF | I8042_STR_AUXDATA);
	assert_int_equal(in(DATA), 0xA5);
	assert_false(i8042_irq12_level(&kbc));
	/* Port tests, as other drivers and BIOSes run them. */
	assert_int_equal(command(0xAB, false), 0x00);
	assert_int_equal(command(0xA9, false), 0x00);
	/* Enable the keyboard port, as i8042_enable_kbd_port does. */
	ctr = (uint8_t)((ctr & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT);
	write_ctr(ctr);
	assert_int_equal(command(0x20, false), ctr);
	assert_false(i8042_take_reset(&kbc));
	assert_true(i8042_state_valid(&kbc));
}

/* atkbd and psmouse probing: every byte to a device times out at once. */
static void test_no_device(void **state)
{
	(void)state;
	write_ctr(I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYS);
	assert_false(in(CMD)&I8042_STR_CMD);
	out(DATA, 0xF2); /* ATKBD_CMD_GETID */
	assert_int_equal(in(CMD),
			 I8042_STR_OBF | I8042_STR_SYS | I8042_STR_UNLOCKED | I8042_STR_TIMEOUT);
	assert_true(i8042_irq1_level(&kbc));
	assert_false(i8042_irq12_level(&kbc));
	assert_int_equal(in(DATA), I8042_NO_DEVICE);
	assert_false(i8042_irq1_level(&kbc));
	assert_int_equal(in(CMD), I8042_STR_SYS | I8042_STR_UNLOCKED);

	out(CMD, 0xD4); /* PSMOUSE_CMD_GETID through the aux port */
	out(DATA, 0xF2);
	assert_int_equal(in(CMD), I8042_STR_OBF | I8042_STR_SYS | I8042_STR_UNLOCKED |
				      I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
	assert_true(i8042_irq12_level(&kbc));
	assert_false(i8042_irq1_level(&kbc));
	assert_int_equal(in(DATA), I8042_NO_DEVICE);
	assert_false(i8042_irq12_level(&kbc));

	/* The timeout goes with its byte: a command reply replaces both. */
	out(DATA, 0xFF);
	assert_true(in(CMD)&I8042_STR_TIMEOUT);
	assert_int_equal(command(0x20, false), I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYS);
	/* Reading an empty buffer repeats the last byte and changes nothing. */
	assert_int_equal(in(DATA), I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYS);
	assert_false(in(CMD)&I8042_STR_OBF);
	assert_true(i8042_state_valid(&kbc));
}

static void test_pending_cancelled(void **state)
{
	(void)state;
	out(CMD, 0x60);
	out(CMD, 0xAD); /* abandons the command-byte write */
	out(DATA, 0x00); /* so this goes to the (absent) keyboard */
	assert_true(in(CMD)&I8042_STR_TIMEOUT);
	assert_int_equal(in(DATA), I8042_NO_DEVICE);
	assert_int_equal(command(0x20, false), 0x45 | I8042_CTR_KBDDIS);
	out(CMD, 0xAE);
	assert_int_equal(command(0x20, false), 0x45);
	/* The reserved bit of the command byte stays clear. */
	write_ctr(0xFF);
	assert_int_equal(command(0x20, false), 0x7F);
	assert_int_equal(in(CMD)&I8042_STR_SYS, I8042_STR_SYS);
	write_ctr(0x00);
	assert_false(in(CMD)&I8042_STR_SYS);
	assert_int_equal(command(0xAA, false), 0x55); /* self-test sets it again */
	assert_true(in(CMD)&I8042_STR_SYS);
}

static void test_irq1_level(void **state)
{
	(void)state;
	out(CMD, 0x20); /* KBDINT is on at power-on: the reply raises IRQ 1 */
	assert_true(i8042_irq1_level(&kbc));
	assert_int_equal(in(DATA), 0x45);
	assert_false(i8042_irq1_level(&kbc));

	write_ctr(0x44);
	out(CMD, 0x20);
	assert_true(in(CMD)&I8042_STR_OBF);
	assert_false(i8042_irq1_level(&kbc));
	write_ctr(0x45); /* the unread byte stays: the level follows bit 0 */
	assert_true(i8042_irq1_level(&kbc));
	assert_false(i8042_irq12_level(&kbc));
	assert_int_equal(in(DATA), 0x44);
	assert_false(i8042_irq1_level(&kbc));

	/* 0xD2: a byte "from the keyboard"; the output port shows IRQ 1. */
	out(CMD, 0xD2);
	out(DATA, 0x1C);
	assert_true(i8042_irq1_level(&kbc));
	assert_int_equal(in(CMD)&I8042_STR_AUXDATA, 0);
	out(CMD, 0xD0);
	assert_int_equal(in(DATA), 0xCF | I8042_OUT_IRQ1);
	/* An aux byte raises IRQ 12 only with the aux interrupt enabled. */
	out(CMD, 0xD3);
	out(DATA, 0x08);
	assert_false(i8042_irq1_level(&kbc));
	assert_false(i8042_irq12_level(&kbc));
	write_ctr(0x47);
	out(CMD, 0xD3);
	out(DATA, 0x08);
	assert_true(i8042_irq12_level(&kbc));
	out(CMD, 0xD0);
	assert_int_equal(in(DATA), 0xCF | I8042_OUT_IRQ12);
}

/* Linux's reboot=k: 0xFE to port 0x64; other pulses by their low nibble. */
static void test_reset_pulse(void **state)
{
	(void)state;
	out(CMD, 0xFE);
	assert_true(i8042_take_reset(&kbc));
	assert_false(i8042_take_reset(&kbc));
	out(CMD, 0xFF);
	assert_false(i8042_take_reset(&kbc));
	out(CMD, 0xFD); /* an A20 pulse: nothing lasting */
	assert_false(i8042_take_reset(&kbc));
	assert_true(i8042_a20(&kbc));
	out(CMD, 0xF0);
	assert_true(i8042_take_reset(&kbc));
	out(CMD, 0xFC);
	assert_true(i8042_take_reset(&kbc));
	assert_false(in(CMD)&I8042_STR_OBF); /* pulses reply nothing */
	assert_true(i8042_state_valid(&kbc));
}

static void test_reset_outport(void **state)
{
	(void)state;
	out(CMD, 0xD1);
	out(DATA, 0xDD); /* A20 off, reset released; bit 4 is read-only */
	assert_false(i8042_take_reset(&kbc));
	assert_false(i8042_a20(&kbc));
	assert_int_equal(command(0xD0, false), 0xCD);
	out(CMD, 0xD1);
	out(DATA, 0xDF); /* the classic A20 enable */
	assert_false(i8042_take_reset(&kbc));
	assert_true(i8042_a20(&kbc));
	out(CMD, 0xD1);
	out(DATA, 0xFE); /* reset line low */
	assert_true(i8042_take_reset(&kbc));
	assert_false(i8042_take_reset(&kbc));
	assert_int_equal(command(0xD0, false) & I8042_OUT_RESET, I8042_OUT_RESET);
	assert_true(i8042_state_valid(&kbc));
}

static void test_other_ports(void **state)
{
	struct i8042 before;

	(void)state;
	before = kbc;
	assert_int_equal(in(0x61), 0xFF);
	assert_int_equal(in(0x65), 0xFF);
	i8042_write(&kbc, 0x61, 0xFE);
	i8042_write(&kbc, 0x62, 0x00);
	assert_memory_equal(&kbc, &before, sizeof(kbc));
	out(CMD, 0x21); /* RAM read: not modelled, no reply */
	out(CMD, 0xA4); /* password check */
	assert_false(in(CMD)&I8042_STR_OBF);
	assert_false(i8042_take_reset(&kbc));
}

static void test_state_valid(void **state)
{
	struct i8042 saved;

	(void)state;
	out(CMD, 0xD4); /* a command waiting for its byte */
	assert_true(i8042_state_valid(&kbc));
	saved = kbc;
#define REFUSED(field, value)                          \
	do {                                           \
		struct i8042 bad = saved;              \
		bad.field = (value);                   \
		assert_false(i8042_state_valid(&bad)); \
	} while (0)
	REFUSED(ctr, 0x80);
	REFUSED(outport, 0xCE);
	REFUSED(outport, 0xDF);
	REFUSED(status, I8042_STR_AUXDATA);
	REFUSED(status, I8042_STR_TIMEOUT | I8042_STR_CMD);
	REFUSED(status, I8042_STR_OBF | I8042_STR_SYS);
	REFUSED(status, I8042_STR_OBF | I8042_STR_IBF);
	REFUSED(pending, 0x20);
	REFUSED(pending, 0xD5);
	REFUSED(reset, 2);
#undef REFUSED
	saved.pending = 0x60;
	saved.reset = 1;
	saved.status = I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT;
	assert_true(i8042_state_valid(&saved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_power_on, setup),
	    cmocka_unit_test_setup(test_linux_probe, setup),
	    cmocka_unit_test_setup(test_no_device, setup),
	    cmocka_unit_test_setup(test_pending_cancelled, setup),
	    cmocka_unit_test_setup(test_irq1_level, setup),
	    cmocka_unit_test_setup(test_reset_pulse, setup),
	    cmocka_unit_test_setup(test_reset_outport, setup),
	    cmocka_unit_test_setup(test_other_ports, setup),
	    cmocka_unit_test_setup(test_state_valid, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
