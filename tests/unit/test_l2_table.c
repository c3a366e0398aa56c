/* The virtual switch's forwarding decisions: learning, flooding, moves,
 * detaching, a full table; VLANs on access and trunk ports; 802.1Q tags
 * inserted and stripped. */
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

/* FRAME (from eth()) with an 802.1Q tag for VID, in T (LEN + 4 bytes). */
static const uint8_t *tag(const uint8_t *f, uint32_t len, uint16_t tci, uint8_t *out)
{
	memcpy(out, f, 12);
	out[12] = 0x81, out[13] = 0x00;
	out[14] = (uint8_t)(tci >> 8), out[15] = (uint8_t)tci;
	memcpy(out + 16, f + 12, len - 12);
	return out;
}

/* Ports: 0 and 1 in VLAN 10, 2 in VLAN 20, 3 untagged, 4 a trunk. */
static int setup_vlans(void **state)
{
	(void)state;
	l2_init(&t);
	assert_int_equal(l2_attach_access(&t, 10), 0);
	assert_int_equal(l2_attach_access(&t, 10), 1);
	assert_int_equal(l2_attach_access(&t, 20), 2);
	assert_int_equal(l2_attach(&t), 3);
	assert_int_equal(l2_attach_trunk(&t), 4);
	return 0;
}

static void test_vlans_keep_access_ports_apart(void **state)
{
	(void)state;
	uint16_t vlan = 99;
	/* A broadcast reaches its VLAN's ports and the trunk only. */
	assert_int_equal(l2_forward_vlan(&t, 0, eth(0xFF, 1), 60, &vlan), 0x2 | 0x10);
	assert_int_equal(vlan, 10);
	assert_int_equal(l2_forward_vlan(&t, 2, eth(0xFF, 2), 60, &vlan), 0x10);
	assert_int_equal(vlan, 20);
	assert_int_equal(l2_forward_vlan(&t, 3, eth(0xFF, 3), 60, &vlan), 0x10);
	assert_int_equal(vlan, 0);
	/* A MAC known in VLAN 10 is unknown in VLAN 20: flooded there, never
	 * sent across. */
	assert_int_equal(l2_forward(&t, 2, eth(1, 2), 60), 0x10);
	assert_int_equal(l2_forward(&t, 1, eth(1, 5), 60), 0x1);
	/* Unicast to a port of another VLAN learned there: still not across. */
	assert_int_equal(l2_forward(&t, 0, eth(2, 1), 60), 0x2 | 0x10);
	/* Bad VLANs cannot be attached. */
	assert_int_equal(l2_attach_access(&t, 4095), -1);
	assert_int_equal(l2_attach_access(&t, 4094), 5);
}

static void test_trunk_frames_map_to_vlans(void **state)
{
	(void)state;
	uint8_t tagged[64];
	uint16_t vlan = 99;
	/* Tagged VLAN 10 from the trunk: to VLAN 10 ports. */
	assert_int_equal(l2_forward_vlan(&t, 4, tag(eth(0xFF, 9), 60, 10, tagged), 64, &vlan), 0x3);
	assert_int_equal(vlan, 10);
	/* Priority bits do not change the VLAN. */
	assert_int_equal(l2_forward(&t, 4, tag(eth(0xFF, 9), 60, 0xE000 | 20, tagged), 64), 0x4);
	/* Untagged, or priority-tagged (VID 0): VLAN 0 ports. */
	assert_int_equal(l2_forward_vlan(&t, 4, eth(0xFF, 9), 60, &vlan), 0x8);
	assert_int_equal(vlan, 0);
	assert_int_equal(l2_forward(&t, 4, tag(eth(0xFF, 9), 60, 0x2000, tagged), 64), 0x8);
	/* VID 4095 is reserved; a cut-short tag is a runt. */
	assert_int_equal(l2_forward(&t, 4, tag(eth(0xFF, 9), 60, 0xFFF, tagged), 64), 0);
	assert_int_equal(l2_forward(&t, 4, tag(eth(0xFF, 9), 60, 10, tagged), 16), 0);
	/* Learned per VLAN: ..:09 answers in VLAN 10 go back to the trunk. */
	assert_int_equal(l2_forward(&t, 0, eth(9, 1), 60), 0x10);
	/* An unknown VLAN on the trunk reaches no one else. */
	assert_int_equal(l2_forward(&t, 4, tag(eth(0xFF, 9), 60, 30, tagged), 64), 0);
}

static void test_access_ports_cannot_send_tags(void **state)
{
	(void)state;
	uint8_t f[64];
	/* A VM smuggling a tag (802.1Q, 802.1ad, old QinQ) is dropped. */
	assert_int_equal(l2_forward(&t, 0, tag(eth(0xFF, 1), 60, 20, f), 64), 0);
	assert_int_equal(l2_forward(&t, 3, tag(eth(0xFF, 3), 60, 20, f), 64), 0);
	f[12] = 0x88, f[13] = 0xA8;
	assert_int_equal(l2_forward(&t, 3, f, 64), 0);
	f[12] = 0x91, f[13] = 0x00;
	assert_int_equal(l2_forward(&t, 3, f, 64), 0);
}

static void test_tag_and_untag(void **state)
{
	(void)state;
	uint8_t plain[60], tagged[64], out[64], back[64];
	memcpy(plain, eth(2, 1), 60);
	for (int i = 14; i < 60; i++)
		plain[i] = (uint8_t)i;
	assert_false(l2_frame_tagged(plain, 60));
	assert_int_equal(l2_vlan_tag(plain, 60, 4094, out, sizeof(out)), 64);
	assert_memory_equal(out, tag(plain, 60, 4094, tagged), 64);
	assert_true(l2_frame_tagged(out, 64));
	assert_false(l2_frame_tagged(out, 17)); /* too short to hold the tag */
	assert_int_equal(l2_vlan_untag(out, 64, back), 60);
	assert_memory_equal(back, plain, 60);
	/* Retagging replaces the tag; untagging a plain frame copies it. */
	assert_int_equal(l2_vlan_tag(tagged, 64, 7, out, sizeof(out)), 64);
	assert_memory_equal(out, tag(plain, 60, 7, back), 64);
	assert_int_equal(l2_vlan_untag(plain, 60, back), 60);
	assert_memory_equal(back, plain, 60);
	/* In place works for untagging. */
	memcpy(back, tagged, 64);
	assert_int_equal(l2_vlan_untag(back, 64, back), 60);
	assert_memory_equal(back, plain, 60);
	/* No room, a runt, a bad VLAN: nothing. */
	assert_int_equal(l2_vlan_tag(plain, 60, 7, out, 63), 0);
	assert_int_equal(l2_vlan_tag(plain, 13, 7, out, 64), 0);
	assert_int_equal(l2_vlan_tag(plain, 60, 4095, out, 64), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_flood_then_learn, setup),
	    cmocka_unit_test_setup(test_own_port_and_runts, setup),
	    cmocka_unit_test_setup(test_move_and_detach, setup),
	    cmocka_unit_test_setup(test_full_table_replaces_the_oldest, setup),
	    cmocka_unit_test_setup(test_ports_run_out, setup),
	    cmocka_unit_test_setup(test_vlans_keep_access_ports_apart, setup_vlans),
	    cmocka_unit_test_setup(test_trunk_frames_map_to_vlans, setup_vlans),
	    cmocka_unit_test_setup(test_access_ports_cannot_send_tags, setup_vlans),
	    cmocka_unit_test_setup(test_tag_and_untag, setup_vlans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
