/* Keel's virtual L2 switches (core/vswitch.c): named, created when the
 * first VM NIC joins, one port per NIC. Frames go from a port to the ports
 * the forwarding table (include/keel/l2_table.h) names: VM-to-VM traffic
 * stays inside the host. Delivery happens under the switch's lock, so a
 * port's receiver cannot go away during it (detaching takes that lock).
 * Lock order: a NIC's device lock is never held while sending. */
#ifndef KEEL_VSWITCH_H
#define KEEL_VSWITCH_H

#include <stdint.h>

struct vswitch;

/* A port's receiver: FRAME is an Ethernet frame without FCS. */
typedef void (*vswitch_rx_fn)(void *ctx, const uint8_t *frame, uint32_t len);

/* The switch called NAME, created if need be; NULL if out of switches. */
struct vswitch *vswitch_get(const char *name);
/* A new port delivering to RX(CTX); -1 if the switch is full. */
int vswitch_attach(struct vswitch *sw, vswitch_rx_fn rx, void *ctx);
void vswitch_detach(struct vswitch *sw, int port);
/* Forward a frame PORT sent. */
void vswitch_send(struct vswitch *sw, int port, const uint8_t *frame, uint32_t len);

#endif
