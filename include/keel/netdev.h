/* Host network devices (drivers/netdev.c keeps the list): what a host NIC
 * driver (virtio-net) offers and the virtual switch's uplink uses. Frames
 * are whole Ethernet frames without FCS, 14 to NETDEV_MTU_FRAME bytes. */
#ifndef KEEL_NETDEV_H
#define KEEL_NETDEV_H

#include <stdint.h>

#define NETDEV_NAME_MAX 16
#define NETDEV_MTU_FRAME 1518 /* 1500-byte payload + header + one VLAN tag */
#define NETDEV_MAX 4

struct netdev;

/* Called by the driver for each frame received, with no driver lock held
 * (the receiver may send on any device). */
typedef void (*netdev_rx_fn)(struct netdev *n, const void *frame, uint32_t len, void *ctx);

struct netdev_ops {
	/* Queue FRAME for sending: 0, or -1 when it was dropped (ring full,
	 * device error). Returns without waiting for the wire. */
	int (*send)(struct netdev *n, const void *frame, uint32_t len);
	/* Hand every frame received since the last poll to n->rx. */
	void (*poll)(struct netdev *n);
};

struct netdev {
	char name[NETDEV_NAME_MAX]; /* "eth0": for the config's uplink */
	uint8_t mac[6];
	const struct netdev_ops *ops;
	void *priv;
	netdev_rx_fn rx;
	void *rx_ctx;
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

int netdev_register(struct netdev *n);
unsigned netdev_count(void);
struct netdev *netdev_get(unsigned i);
struct netdev *netdev_find(const char *name);
/* Poll every device (from a CPU's timer path or idle loop). */
void netdev_poll_all(void);

#endif
