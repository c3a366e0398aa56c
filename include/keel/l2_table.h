/* The forwarding decision of Keel's virtual L2 switch, as a pure table: no
 * locks, no heap, no frames copied. A switch has up to L2_MAX_PORTS ports
 * (one per VM NIC, later one uplink). Each frame a port sends teaches the
 * table its source MAC (unicast sources only; a MAC that moves follows the
 * latest port); its destination decides where it goes: a known unicast MAC
 * to that port only (nowhere if that is the sending port), anything else
 * (broadcast, multicast, unknown unicast) to every other attached port.
 * The table holds L2_TABLE_SIZE MACs; when full, the oldest learned entry
 * is replaced. Detaching a port forgets its MACs. */
#ifndef KEEL_L2_TABLE_H
#define KEEL_L2_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#define L2_MAX_PORTS 32
#define L2_TABLE_SIZE 256
#define L2_ETH_MIN 14 /* destination, source, type */

struct l2_entry {
	uint8_t mac[6];
	uint8_t port;
	uint8_t used;
	uint32_t age; /* learn order: the smallest is replaced first */
};

struct l2_table {
	uint32_t attached; /* bitmap of ports in use */
	uint32_t clock;
	struct l2_entry e[L2_TABLE_SIZE];
};

void l2_init(struct l2_table *t);
/* A free port number, marked attached; -1 if all are taken. */
int l2_attach(struct l2_table *t);
void l2_detach(struct l2_table *t, unsigned port);
/* Learn from FRAME (LEN bytes) sent by PORT and return the bitmap of ports
 * it goes to (0: dropped, e.g. a runt or a detached sender). */
uint32_t l2_forward(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len);

#endif
