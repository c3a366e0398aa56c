/* The virtual switch's forwarding decisions: learning, flooding, moves,
 * detaching, a full table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <keel/l2_table.h>

static struct l2_table t;

static uint8_t frame[64];

/* A frame from SRC (last byte of 52:54:00:00:00:xx) to DST (0xFF: broadcast). */
static const uint8_t *eth(uint8_t dst, uint8_t src)
{
	static const uint8_t base[6] = {0x52, 0x54, 0, 0, 0, 0};

	memcpy(frame, base, 6);
	memcpy(frame + 6, base, 6);
	if (dst == 0xFF)
		memset(frame, 0xFF, 6);
	else
		frame[5] = dst;
	frame[11] = src;
	frame[12] = 0x08;
	return frame;
}

static int setup(void **state)
{
	(void)state;
	l2_init(&t);
	for (int i = 0; i < 3; i++)
		assert_int_equal(l2_attach(&t), i);
	return 0;
}

static void test_flood_then_learn(void **state)
{
	(void)state;
	/* Unknown destination: every other port. */
	assert_int_equal(l2_forward(&t, 0, eth(2, 1), 60), 0x6);
	/* Port 0 is now known for ..:01: a reply goes there only. */
	assert_int_equal(l2_forward(&t, 2, eth(1, 3), 60), 0x1);
	assert_int_equal(l2_forward(&t, 0, eth(3, 1), 60), 0x4);
	/* Broadcast and multicast always flood. */
	assert_int_equal(l2_forward(&t, 0, eth(0xFF, 1), 60), 0x6);
	uint8_t m[60];
	memcpy(m, eth(2, 1), 60);
	m[0] = 0x01;
	assert_int_equal(l2_forward(&t, 1, m, 60), 0x5);
}

static void test_own_port_and_runts(void **state)
{
	(void)state;
	l2_forward(&t, 0, eth(0xFF, 1), 60);
	/* To a MAC learned on the sending port: nowhere. */
	assert_int_equal(l2_forward(&t, 0, eth(1, 7), 60), 0);
	/* Runts and unattached or impossible ports are dropped. */
	assert_int_equal(l2_forward(&t, 1, eth(1, 2), 13), 0);
	assert_int_equal(l2_forward(&t, 5, eth(1, 2), 60), 0);
	assert_int_equal(l2_forward(&t, 99, eth(1, 2), 60), 0);
}

static void test_move_and_detach(void **state)
{
	(void)state;
	l2_forward(&t, 0, eth(0xFF, 1), 60);
	l2_forward(&t, 1, eth(0xFF, 1), 60); /* ..:01 moved to port 1 */
	assert_int_equal(l2_forward(&t, 2, eth(1, 3), 60), 0x2);
	l2_detach(&t, 1);
	/* Forgotten with its port: flooded to the ports left. */
	assert_int_equal(l2_forward(&t, 2, eth(1, 3), 60), 0x1);
	assert_int_equal(l2_attach(&t), 1); /* the port is free again */
	/* A multicast source is never learned. */
	uint8_t m[60];
	memcpy(m, eth(0xFF, 9), 60);
	m[6] = 0x01;
	l2_forward(&t, 0, m, 60);
	assert_int_equal(l2_forward(&t, 2, eth(9, 3), 60), 0x3);
}

static void test_full_table_replaces_the_oldest(void **state)
{
	(void)state;
	uint8_t f[60];

	for (unsigned i = 0; i < L2_TABLE_SIZE + 1; i++) {
		memcpy(f, eth(0xFF, 0), 60);
		f[10] = (uint8_t)(i >> 8);
		f[11] = (uint8_t)i;
		l2_forward(&t, i % 2, f, 60);
	}
	/* The first MAC (..:00:00, port 0) was replaced: unknown again. */
	memcpy(f, eth(0, 0), 60);
	f[11] = 0x55;
	assert_int_equal(l2_forward(&t, 2, f, 60), 0x3);
	/* The newest (..:01:00, port 0) is known. */
	memcpy(f, eth(0, 0x55), 60);
	f[4] = 0x01;
	f[5] = 0x00;
	assert_int_equal(l2_forward(&t, 2, f, 60), 0x1);
}

static void test_ports_run_out(void **state)
{
	(void)state;
	for (int i = 3; i < L2_MAX_PORTS; i++)
		assert_int_equal(l2_attach(&t), i);
	assert_int_equal(l2_attach(&t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_flood_then_learn, setup),
	    cmocka_unit_test_setup(test_own_port_and_runts, setup),
	    cmocka_unit_test_setup(test_move_and_detach, setup),
	    cmocka_unit_test_setup(test_full_table_replaces_the_oldest, setup),
	    cmocka_unit_test_setup(test_ports_run_out, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
