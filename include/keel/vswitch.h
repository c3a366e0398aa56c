/* Keel's virtual L2 switches (core/vswitch.c): named, created when the
 * first VM NIC joins, one port per NIC, and optionally one uplink: a host
 * NIC (include/keel/netdev.h) attached as an 802.1Q trunk. Frames go from
 * a port to the ports the forwarding table (include/keel/l2_table.h)
 * names, within their VLAN: VM-to-VM traffic stays inside the host, and
 * frames from the uplink are learned like any port's. Delivery happens
 * under the switch's lock, so a port's receiver cannot go away during it
 * (detaching takes that lock).
 * Lock order: switch lock, then a receiving NIC's device lock (a VM NIC's,
 * or the uplink's transmit lock). A NIC's device lock is never held while
 * sending into the switch; the uplink's frames enter with no driver lock
 * held (netdev_rx_fn). */
#ifndef KEEL_VSWITCH_H
#define KEEL_VSWITCH_H

#include <stdint.h>

struct vswitch;
struct netdev;
struct cfg;

/* A port's receiver: FRAME is an Ethernet frame without FCS. */
typedef void (*vswitch_rx_fn)(void *ctx, const uint8_t *frame, uint32_t len);

/* The switch called NAME, created if need be; NULL if out of switches. */
struct vswitch *vswitch_get(const char *name);
/* A new access port in VLAN (0: untagged, 1-4094) delivering to RX(CTX);
 * its frames are untagged both ways. -1 if the switch is full. */
int vswitch_attach(struct vswitch *sw, uint16_t vlan, vswitch_rx_fn rx, void *ctx);
void vswitch_detach(struct vswitch *sw, int port);
/* Forward a frame PORT sent. */
void vswitch_send(struct vswitch *sw, int port, const uint8_t *frame, uint32_t len);

/* Make host NIC N the switch's uplink (a trunk port): N's received frames
 * enter the switch, frames for the uplink leave through N. -1 if the
 * switch has an uplink already, N is another switch's, or no port is free. */
int vswitch_attach_uplink(struct vswitch *sw, struct netdev *n);
/* The configuration's `uplink = SWITCH DEVICE`, if any: NULL when done (or
 * nothing to do), else why not, for the caller to log. Call once, after
 * the host drivers probed. */
const char *vswitch_setup_uplink(const struct cfg *cfg);

#endif
