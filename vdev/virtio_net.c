/* virtio-net (virtio 1.2, "Network Device"): one receive and one transmit
 * queue, a MAC address in the device configuration, no offloads (every
 * frame whole, checksummed by the guest). The NIC is a port of the virtual
 * switch its VM names with `net = NAME`; its MAC comes from `mac =` or from
 * the VM's name. Frames the guest sends leave through the switch once the
 * device lock is dropped; frames the switch delivers land in the guest's
 * next receive buffer, or are dropped (counted) when it has none. */
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/string.h>
#include <keel/vdev.h>
#include <keel/virtio_dev.h>
#include <keel/vswitch.h>

#define VIRTIO_ID_NET 1
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define NET_DEVFN 0x20 /* 00:04.0 */
#define NET_BAR0 0xE0004000u /* after virtio-rng's */
#define NET_INTX_IRQ 10
#define NET_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1
#define HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define FRAME_MAX 1522 /* 1500 bytes of payload, an Ethernet and a VLAN header */
#define TX_BATCH 16

struct net {
	struct virtio_dev *dev;
	spinlock_t tx_lock; /* one transmitter at a time: the batch below is its */
	volatile bool tx_kicked; /* the driver notified the transmit queue */
	struct vswitch *sw;
	int port;
	uint8_t mac[6];
	unsigned ntx;
	bool tx_more; /* the transmit ring may hold more than one batch */
	uint32_t txlen[TX_BATCH];
	uint8_t tx[TX_BATCH][FRAME_MAX];
	uint8_t rx_hdr[HDR_LEN];
	uint64_t tx_dropped, rx_dropped;
};

/* Under the device lock: take up to a batch of frames from the ring. */
static void take_tx(struct virtio_dev *d)
{
	struct net *n = d->model_state;

	n->tx_more = false;
	while (n->ntx < TX_BATCH) {
		int rc = virtio_dev_pop(d, TXQ);
		if (rc <= 0)
			return;
		uint64_t len = d->chain.read_len;
		if (len > HDR_LEN && len - HDR_LEN <= FRAME_MAX &&
		    virtio_dev_read(d, HDR_LEN, n->tx[n->ntx], (uint32_t)(len - HDR_LEN)) ==
			(int64_t)(len - HDR_LEN))
			n->txlen[n->ntx++] = (uint32_t)(len - HDR_LEN);
		else
			n->tx_dropped++; /* too short, too long (no offloads), or a fault */
		virtio_dev_push(d, TXQ, 0);
	}
	n->tx_more = true;
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct net *n = d->model_state;

	if (q == TXQ)
		n->tx_kicked = true; /* taken in net_flush, once the lock is dropped */
	/* RXQ: new receive buffers; they are used as frames arrive. */
}

/* The device lock dropped: take the transmit ring's frames a batch at a
 * time and hand them to the switch (which takes other NICs' locks). */
static void net_flush(struct virtio_dev *d)
{
	struct net *n = d->model_state;

	if (!n->tx_kicked)
		return;
	spin_lock(&n->tx_lock);
	n->tx_kicked = false;
	do {
		virtio_dev_begin(d);
		take_tx(d);
		virtio_dev_end(d);
		for (unsigned i = 0; i < n->ntx; i++)
			vswitch_send(n->sw, n->port, n->tx[i], n->txlen[i]);
		n->ntx = 0;
	} while (n->tx_more);
	spin_unlock(&n->tx_lock);
}

/* From the switch (under its lock): a frame for this NIC. */
static void net_rx(void *ctx, const uint8_t *frame, uint32_t len)
{
	struct net *n = ctx;
	struct virtio_dev *d = n->dev;

	virtio_dev_begin(d);
	if (!virtio_dev_live(d) || virtio_dev_pop(d, RXQ) <= 0) {
		n->rx_dropped++;
	} else if (d->chain.write_len < HDR_LEN + len) {
		n->rx_dropped++; /* a buffer too small for the frame */
		virtio_dev_push(d, RXQ, 0);
	} else {
		n->rx_hdr[10] = 1; /* num_buffers; flags, GSO and checksum fields 0 */
		virtio_dev_write(d, 0, n->rx_hdr, HDR_LEN);
		virtio_dev_write(d, HDR_LEN, frame, len);
		virtio_dev_push(d, RXQ, HDR_LEN + len);
	}
	virtio_dev_end(d);
}

/* Device configuration: the MAC (6 bytes); nothing else is offered. */
static uint32_t net_cfg_read(void *dev, unsigned off, unsigned size)
{
	const struct net *n = dev;
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		if (off + i < 6)
			v |= (uint32_t)n->mac[off + i] << (8 * i);
	return v;
}

static void net_cfg_write(void *dev, unsigned off, unsigned size, uint32_t value)
{
	(void)dev, (void)off, (void)size, (void)value; /* read-only without CTRL_MAC_ADDR */
}

static const struct virtio_pci_device_ops net_cfg_ops = {net_cfg_read, net_cfg_write};
static const struct virtio_model net_model = {
    .name = "virtio-net", .notify = net_notify, .flush = net_flush};

/* 52:54:00 and three bytes of a hash of the VM's name: stable across boots. */
static void derive_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16), mac[4] = (uint8_t)(h >> 8), mac[5] = (uint8_t)h;
}

static void net_destroy(struct vm *vm)
{
	struct net *n = vm->net;

	if (!n)
		return;
	if (n->rx_dropped || n->tx_dropped)
		klog(
		    "vm %s: virtio-net: %lu frames dropped on receive (no guest buffer), %lu on send",
		    vm->name, n->rx_dropped, n->tx_dropped);
	if (n->port >= 0)
		vswitch_detach(n->sw, n->port); /* no frame reaches it after this */
	if (n->dev)
		virtio_dev_destroy(n->dev);
	kfree(n);
	vm->net = NULL;
}

static int net_create(struct vm *vm)
{
	const struct cfg_vm *cfg = vm->cfg;
	static const uint8_t zero[6];

	if (!cfg->net[0])
		return 0;
	struct net *n = kzalloc(sizeof(*n));
	if (!n)
		return -1;
	vm->net = n;
	n->port = -1;
	if (memcmp(cfg->mac, zero, 6))
		memcpy(n->mac, cfg->mac, 6);
	else
		derive_mac(vm->name, n->mac);
	n->sw = vswitch_get(cfg->net);
	const struct virtio_pci_params params = {
	    .device_id = VIRTIO_ID_NET,
	    .class_code = 0x020000, /* Ethernet controller */
	    .features = VIRTIO_NET_F_MAC | VQ_F_EVENT_IDX | VQ_F_INDIRECT_DESC,
	    .num_queues = 2,
	    .queue_size = NET_QUEUE_SIZE,
	    .cfg_len = 6,
	    .ops = &net_cfg_ops,
	    .dev = n,
	};
	n->dev = virtio_dev_create(vm, NET_DEVFN, NET_BAR0, NET_INTX_IRQ, params, &net_model, n);
	if (n->sw && n->dev)
		n->port = vswitch_attach(n->sw, cfg->vlan, net_rx, n);
	if (n->port < 0) {
		klog("vm %s: cannot join virtual switch '%s' (%s)", vm->name, cfg->net,
		     !n->sw || !n->dev ? "out of memory" : "it has no free port");
		net_destroy(vm);
		return -1;
	}
	return 0;
}

const struct vdev_type vdev_virtio_net = {
    .name = "virtio-net",
    .create = net_create,
    .destroy = net_destroy,
};
