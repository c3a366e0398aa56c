/* The forwarding decision of Keel's virtual L2 switch, as a pure table: no
 * locks, no heap. A switch has up to L2_MAX_PORTS ports: access ports (one
 * per VM NIC) and trunks (a host NIC uplink).
 *
 * VLANs (IEEE 802.1Q): an access port belongs to one VLAN, 1-4094, or to
 * VLAN 0, meaning untagged; its frames travel untagged. A trunk carries
 * every VLAN: a frame on it with an 802.1Q tag (TPID 0x8100) belongs to
 * the tag's VLAN, a frame without one (or with VID 0, priority-tagged) to
 * VLAN 0; VID 4095 is reserved and dropped. Frames an access port sends
 * must be untagged: one with an 802.1Q, 802.1ad (0x88A8) or old QinQ
 * (0x9100) header is dropped, so a VM cannot hop into another VLAN through
 * a trunk. A frame goes only to ports of its VLAN: access ports of that
 * VLAN and trunks; the switch (core/vswitch.c) tags it for a trunk when
 * the VLAN is not 0 and sends it untagged everywhere else (the helpers at
 * the end of this file).
 *
 * Each frame a port sends teaches the table its source MAC in the frame's
 * VLAN (unicast sources only; a MAC that moves follows the latest port);
 * its destination decides where it goes: a unicast MAC known in that VLAN
 * to that port only (nowhere if that is the sending port), anything else
 * (broadcast, multicast, unknown unicast) to every other port of the VLAN.
 * The table holds L2_TABLE_SIZE (VLAN, MAC) pairs; when full, the oldest
 * learned entry is replaced. Detaching a port forgets its MACs. */
#ifndef KEEL_L2_TABLE_H
#define KEEL_L2_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define L2_MAX_PORTS 32
#define L2_TABLE_SIZE 256
#define L2_ETH_MIN 14 /* destination, source, type */
#define L2_VLAN_MAX 4094
#define L2_VLAN_TAG_LEN 4 /* TPID, TCI */
#define L2_TPID_8021Q 0x8100

struct l2_entry {
	uint8_t mac[6];
	uint8_t port;
	uint8_t used;
	uint16_t vlan;
	uint32_t age; /* learn order: the smallest is replaced first */
};

struct l2_table {
	uint32_t attached; /* bitmap of ports in use */
	uint32_t trunks; /* bitmap of the attached ports that are trunks */
	uint32_t clock;
	uint16_t vlan[L2_MAX_PORTS]; /* an access port's VLAN */
	struct l2_entry e[L2_TABLE_SIZE];
};

void l2_init(struct l2_table *t);
/* A free port number, marked attached: an untagged access port (VLAN 0);
 * -1 if all are taken. */
int l2_attach(struct l2_table *t);
/* The same for an access port of VLAN (0-4094); -1 also for a bad VLAN. */
int l2_attach_access(struct l2_table *t, uint16_t vlan);
/* A trunk port (every VLAN, tagged); -1 if all are taken. */
int l2_attach_trunk(struct l2_table *t);
void l2_detach(struct l2_table *t, unsigned port);
/* Learn from FRAME (LEN bytes) sent by PORT and return the bitmap of ports
 * it goes to (0: dropped, e.g. a runt, a detached sender, a tagged frame
 * from an access port); *VLAN (if not NULL) is the frame's VLAN. */
uint32_t l2_forward_vlan(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len,
			 uint16_t *vlan);
uint32_t l2_forward(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len);

/* Frame encodings. A frame is tagged when its type field is 0x8100 and it
 * is long enough to hold the tag and the type after it. */
bool l2_frame_tagged(const uint8_t *frame, uint32_t len);
/* FRAME without its 802.1Q tag into OUT (LEN - 4 bytes; OUT holds LEN):
 * returns the new length. A frame that is not tagged is copied. */
uint32_t l2_vlan_untag(const uint8_t *frame, uint32_t len, uint8_t *out);
/* FRAME with an 802.1Q tag for VLAN (priority 0) after its source MAC,
 * into OUT of OUT_SIZE bytes (not overlapping FRAME); a tagged frame has
 * its tag replaced. Returns
 * the new length, 0 if it does not fit or FRAME is a runt. */
uint32_t l2_vlan_tag(const uint8_t *frame, uint32_t len, uint16_t vlan, uint8_t *out,
		     uint32_t out_size);

#endif
