/* Host virtio-net NICs (virtio 1.2, "Network Device"), registered as
 * netdevs "eth0", "eth1", ... for the virtual switches' uplinks. One
 * receive and one transmit queue, no offloads, no mergeable buffers:
 * every frame is whole in one 2 KiB buffer behind the 12-byte
 * virtio_net_hdr (VERSION_1 always carries num_buffers).
 *
 * Polled, not interrupt-driven: receive is drained by netdev_poll_all(),
 * which every CPU calls from its timer path and idle loop, so a frame
 * waits at most one host tick (4 ms at HZ 250); no interrupt routing is
 * needed from the host's IOAPIC or MSI-X, which Keel leaves to its
 * guests. The receive ring holds one buffer per entry, so it absorbs a
 * whole ring of frames between polls. Transmit never waits: a frame is
 * copied into a free buffer and the device is notified; buffers the
 * device has finished with are reclaimed on the next send. */
#include <keel/console.h>
#include <keel/heap.h>
#include <keel/host_driver.h>
#include <keel/netdev.h>
#include <keel/pmm.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/virtio_host.h>

#define NET_F_MAC 5
#define CFG_MAC 0
#define HDR_LEN 12
#define BUF_SIZE 2048u /* header and the largest frame, 2 per page */
#define ETH_MIN 14
#define QUEUE_MAX 256u
#define RXQ 0
#define TXQ 1

struct vnet {
	struct netdev ndev;
	struct virtio_host vio;
	struct virtio_host_queue q[2];
	uint8_t *rx_bufs, *tx_bufs; /* QUEUE_MAX-sized arrays of BUF_SIZE */
	unsigned rx_order, tx_order;
	unsigned nrx, ntx; /* buffers: one per queue entry */
	spinlock_t tx_lock; /* the transmit queue, tx_free and tx counters */
	uint16_t tx_free[QUEUE_MAX]; /* free transmit buffers, a stack */
	unsigned ntx_free;
	/* One poller at a time, the others skip: not a lock anyone waits on,
	 * so the receive callback may run while it is held. */
	bool polling;
	bool rx_broken, tx_broken; /* the device broke a ring: logged once */
};

static unsigned nnics;

static uint64_t phys(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity-mapped */
}

/* Under tx_lock: take back the buffers the device has sent. */
static void reclaim_tx(struct vnet *v)
{
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vqdrv_get_used(&v->q[TXQ].vq, &token, &len)) > 0)
		v->tx_free[v->ntx_free++] = (uint16_t)(((uint8_t *)token - v->tx_bufs) / BUF_SIZE);
	if (rc < 0 && !v->tx_broken) {
		v->tx_broken = true;
		klog("%s: the device broke the transmit queue; sending stops", v->ndev.name);
	}
}

static int vnet_send(struct netdev *n, const void *frame, uint32_t len)
{
	struct vnet *v = n->priv;
	int rc = -1;

	spin_lock(&v->tx_lock);
	reclaim_tx(v);
	if (len >= ETH_MIN && len <= NETDEV_MTU_FRAME && v->ntx_free && !v->tx_broken) {
		uint8_t *buf = v->tx_bufs + (size_t)v->tx_free[--v->ntx_free] * BUF_SIZE;
		memset(buf, 0, HDR_LEN); /* no checksum or segmentation offload */
		memcpy(buf + HDR_LEN, frame, len);
		struct vqdrv_seg seg = {phys(buf), HDR_LEN + len};
		if (vqdrv_add(&v->q[TXQ].vq, &seg, 1, 0, buf) >= 0) {
			virtio_host_kick(&v->q[TXQ]);
			rc = 0;
		} else {
			v->ntx_free++; /* the buffer is still ours */
		}
	}
	if (rc)
		n->tx_dropped++; /* a bad length, or the ring is full: the device is behind */
	else
		n->tx_frames++;
	spin_unlock(&v->tx_lock);
	return rc;
}

/* Offer receive buffer BUF (BUF_SIZE bytes) to the device. */
static void post_rx(struct vnet *v, uint8_t *buf)
{
	struct vqdrv_seg seg = {phys(buf), BUF_SIZE};

	vqdrv_add(&v->q[RXQ].vq, &seg, 0, 1, buf); /* fails only on a broken ring */
}

static void vnet_poll(struct netdev *n)
{
	struct vnet *v = n->priv;
	bool posted = false;

	if (__atomic_exchange_n(&v->polling, true, __ATOMIC_ACQUIRE))
		return; /* another CPU is at it */
	/* At most a ring's worth per poll: a flood cannot keep a CPU here. */
	for (unsigned i = 0; i < v->nrx; i++) {
		void *token;
		uint32_t len;
		int rc = vqdrv_get_used(&v->q[RXQ].vq, &token, &len);
		if (rc < 0 && !v->rx_broken) {
			v->rx_broken = true;
			klog("%s: the device broke the receive queue; receiving stops", n->name);
		}
		if (rc <= 0)
			break;
		uint8_t *buf = token;
		uint32_t frame_len = len > HDR_LEN ? len - HDR_LEN : 0;
		netdev_rx_fn rx = __atomic_load_n(&n->rx, __ATOMIC_ACQUIRE);
		if (frame_len < ETH_MIN || frame_len > NETDEV_MTU_FRAME || !rx) {
			n->rx_dropped++; /* a runt, a giant, or nobody listening yet */
		} else {
			n->rx_frames++;
			rx(n, buf + HDR_LEN, frame_len, n->rx_ctx);
		}
		post_rx(v, buf);
		posted = true;
	}
	if (posted)
		virtio_host_kick(&v->q[RXQ]);
	__atomic_store_n(&v->polling, false, __ATOMIC_RELEASE);
}

static const struct netdev_ops vnet_ops = {.send = vnet_send, .poll = vnet_poll};

static bool vnet_match(const struct hostpci_dev *d)
{
	return d->vendor == VIRTIO_HOST_VENDOR && d->device == VIRTIO_HOST_DEVICE_NET;
}

static unsigned order_for(size_t bytes)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

/* The MAC the device reports, or a locally administered one of ours. */
static void read_mac(struct vnet *v)
{
	if ((v->vio.features & (1ull << NET_F_MAC)) &&
	    !virtio_host_read_config(&v->vio, CFG_MAC, v->ndev.mac, 6, 1))
		return;
	static const uint8_t local[6] = {0x02, 0x4b, 0x65, 0x65, 0x6c, 0x00};
	memcpy(v->ndev.mac, local, 6);
	v->ndev.mac[5] = (uint8_t)nnics;
}

static void free_buffers(struct vnet *v)
{
	if (v->rx_bufs)
		page_free(v->rx_bufs, v->rx_order);
	if (v->tx_bufs)
		page_free(v->tx_bufs, v->tx_order);
}

static int vnet_probe(struct hostpci_dev *d)
{
	struct vnet *v = kzalloc(sizeof(*v));

	if (!v)
		return -1;
	snprintf(v->ndev.name, sizeof(v->ndev.name), "eth%u", nnics);
	if (nnics >= NETDEV_MAX ||
	    virtio_host_start(&v->vio, d, v->ndev.name, 0, 1ull << NET_F_MAC) ||
	    virtio_host_queue_setup(&v->vio, &v->q[RXQ], RXQ, QUEUE_MAX) ||
	    virtio_host_queue_setup(&v->vio, &v->q[TXQ], TXQ, QUEUE_MAX))
		goto fail;
	v->nrx = v->q[RXQ].vq.size;
	v->ntx = v->q[TXQ].vq.size;
	v->rx_order = order_for((size_t)v->nrx * BUF_SIZE);
	v->tx_order = order_for((size_t)v->ntx * BUF_SIZE);
	v->rx_bufs = page_alloc_zeroed(v->rx_order);
	v->tx_bufs = page_alloc_zeroed(v->tx_order);
	if (!v->rx_bufs || !v->tx_bufs) {
		klog("%s: out of memory for packet buffers", v->ndev.name);
		goto fail;
	}
	for (unsigned i = 0; i < v->ntx; i++)
		v->tx_free[v->ntx_free++] = (uint16_t)i;
	read_mac(v);
	v->ndev.ops = &vnet_ops;
	v->ndev.priv = v;
	/* Buffers are offered once the device is live (notifying before
	 * DRIVER_OK is not allowed). */
	virtio_host_ready(&v->vio);
	for (unsigned i = 0; i < v->nrx; i++)
		post_rx(v, v->rx_bufs + (size_t)i * BUF_SIZE);
	virtio_host_kick(&v->q[RXQ]);
	if (netdev_register(&v->ndev)) /* it logged why */
		goto fail;
	nnics++;
	const uint8_t *m = v->ndev.mac;
	klog("%s: virtio-net, MAC %02x:%02x:%02x:%02x:%02x:%02x%s", v->ndev.name, m[0], m[1], m[2],
	     m[3], m[4], m[5],
	     v->vio.features & (1ull << NET_F_MAC) ? "" : " (chosen by Keel: the device has none)");
	return 0;
fail:
	if (virtio_host_fail(&v->vio, v->q, 2) == 0) {
		free_buffers(v);
		kfree(v);
	}
	return -1;
}

HOST_DRIVER(virtio_net_host_driver) = {
    .name = "virtio-net", .match = vnet_match, .probe = vnet_probe};
