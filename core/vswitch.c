/* Named virtual switches: the registry, ports, uplinks and frame delivery
 * around the pure forwarding table (core/l2_table.c). */
#include <keel/config.h>
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/l2_table.h>
#include <keel/netdev.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/vswitch.h>

#define MAX_SWITCHES 16
/* The largest frame a port hands over (a VM NIC's 1522 bytes) plus a tag. */
#define FRAME_BUF (1522 + L2_VLAN_TAG_LEN)

struct vswitch {
	char name[CFG_NAME_MAX];
	spinlock_t lock;
	struct l2_table table;
	struct {
		vswitch_rx_fn rx;
		void *ctx;
	} port[L2_MAX_PORTS];
	int uplink_port; /* -1: none */
	/* Under the lock: a frame re-encoded for some of its receivers. */
	uint8_t untagged[FRAME_BUF], tagged[FRAME_BUF];
};

static struct vswitch *switches[MAX_SWITCHES];
static spinlock_t switches_lock = SPINLOCK_INIT;

struct vswitch *vswitch_get(const char *name)
{
	struct vswitch *sw = NULL;

	spin_lock(&switches_lock);
	for (unsigned i = 0; i < MAX_SWITCHES && !sw; i++)
		if (switches[i] && !strcmp(switches[i]->name, name))
			sw = switches[i];
	for (unsigned i = 0; i < MAX_SWITCHES && !sw; i++) {
		if (switches[i])
			continue;
		sw = kzalloc(sizeof(*sw));
		if (!sw)
			break;
		for (unsigned k = 0; k < sizeof(sw->name) - 1 && name[k]; k++)
			sw->name[k] = name[k];
		l2_init(&sw->table);
		sw->uplink_port = -1;
		switches[i] = sw; /* switches live as long as Keel */
	}
	spin_unlock(&switches_lock);
	return sw;
}

static int attach(struct vswitch *sw, int port, vswitch_rx_fn rx, void *ctx)
{
	if (port >= 0) {
		sw->port[port].rx = rx;
		sw->port[port].ctx = ctx;
	}
	return port;
}

int vswitch_attach(struct vswitch *sw, uint16_t vlan, vswitch_rx_fn rx, void *ctx)
{
	spin_lock(&sw->lock);
	int port = attach(sw, l2_attach_access(&sw->table, vlan), rx, ctx);
	spin_unlock(&sw->lock);
	return port;
}

void vswitch_detach(struct vswitch *sw, int port)
{
	spin_lock(&sw->lock);
	l2_detach(&sw->table, (unsigned)port);
	sw->port[port].rx = NULL;
	if (port == sw->uplink_port)
		sw->uplink_port = -1;
	spin_unlock(&sw->lock);
}

static void deliver(struct vswitch *sw, uint32_t to, const uint8_t *frame, uint32_t len)
{
	for (unsigned p = 0; to; p++, to >>= 1)
		if ((to & 1) && sw->port[p].rx)
			sw->port[p].rx(sw->port[p].ctx, frame, len);
}

void vswitch_send(struct vswitch *sw, int port, const uint8_t *frame, uint32_t len)
{
	uint16_t vlan = 0;

	spin_lock(&sw->lock);
	uint32_t to = l2_forward_vlan(&sw->table, (unsigned)port, frame, len, &vlan);
	/* Trunks get the frame tagged, unless it is in VLAN 0; every other
	 * receiver gets it untagged. Each form is built at most once. */
	uint32_t to_tagged = vlan ? to & sw->table.trunks : 0, to_untagged = to & ~to_tagged;
	bool tagged = l2_frame_tagged(frame, len);
	if (to_untagged && tagged && len <= FRAME_BUF) {
		uint32_t n = l2_vlan_untag(frame, len, sw->untagged);
		deliver(sw, to_untagged, sw->untagged, n);
	} else if (to_untagged && !tagged) {
		deliver(sw, to_untagged, frame, len);
	}
	if (to_tagged && tagged) {
		deliver(sw, to_tagged, frame, len); /* trunk to trunk: same VLAN */
	} else if (to_tagged) {
		uint32_t n = l2_vlan_tag(frame, len, vlan, sw->tagged, sizeof(sw->tagged));
		if (n)
			deliver(sw, to_tagged, sw->tagged, n);
	}
	spin_unlock(&sw->lock);
}

/* The switch's side of the uplink: a frame for the wire. The NIC counts
 * what it drops. */
static void uplink_transmit(void *ctx, const uint8_t *frame, uint32_t len)
{
	struct netdev *n = ctx;

	n->ops->send(n, frame, len);
}

/* The NIC's side: a frame from the wire, with no driver lock held. */
static void uplink_receive(struct netdev *n, const void *frame, uint32_t len, void *ctx)
{
	struct vswitch *sw = ctx;
	int port = __atomic_load_n(&sw->uplink_port, __ATOMIC_ACQUIRE);

	(void)n;
	if (port >= 0)
		vswitch_send(sw, port, frame, len);
}

int vswitch_attach_uplink(struct vswitch *sw, struct netdev *n)
{
	int port = -1;

	spin_lock(&sw->lock);
	if (sw->uplink_port < 0 && !n->rx) {
		port = attach(sw, l2_attach_trunk(&sw->table), uplink_transmit, n);
		__atomic_store_n(&sw->uplink_port, port, __ATOMIC_RELEASE);
	}
	spin_unlock(&sw->lock);
	if (port < 0)
		return -1;
	/* The context first: a CPU polling the NIC reads rx, then rx_ctx. */
	n->rx_ctx = sw;
	__atomic_store_n(&n->rx, uplink_receive, __ATOMIC_RELEASE);
	return 0;
}

const char *vswitch_setup_uplink(const struct cfg *cfg)
{
	if (!cfg->uplink_switch[0])
		return NULL;
	struct netdev *n = netdev_find(cfg->uplink_dev);
	if (!n)
		return "no host NIC of that name (the boot log lists them: virtio-net)";
	struct vswitch *sw = vswitch_get(cfg->uplink_switch);
	if (!sw)
		return "out of memory or of switches";
	if (vswitch_attach_uplink(sw, n))
		return "the NIC is an uplink already, or the switch has no free port";
	const uint8_t *m = n->mac;
	klog("switch %s: uplink %s (MAC %02x:%02x:%02x:%02x:%02x:%02x), an 802.1Q trunk",
	     cfg->uplink_switch, n->name, m[0], m[1], m[2], m[3], m[4], m[5]);
	return NULL;
}
