/* Named virtual switches: the registry, ports and frame delivery around
 * the pure forwarding table (core/l2_table.c). */
#include <keel/config.h>
#include <keel/heap.h>
#include <keel/l2_table.h>
#include <keel/spinlock.h>
#include <keel/string.h>
#include <keel/vswitch.h>

#define MAX_SWITCHES 16

struct vswitch {
	char name[CFG_NAME_MAX];
	spinlock_t lock;
	struct l2_table table;
	struct {
		vswitch_rx_fn rx;
		void *ctx;
	} port[L2_MAX_PORTS];
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
		switches[i] = sw; /* switches live as long as Keel */
	}
	spin_unlock(&switches_lock);
	return sw;
}

int vswitch_attach(struct vswitch *sw, vswitch_rx_fn rx, void *ctx)
{
	spin_lock(&sw->lock);
	int port = l2_attach(&sw->table);
	if (port >= 0) {
		sw->port[port].rx = rx;
		sw->port[port].ctx = ctx;
	}
	spin_unlock(&sw->lock);
	return port;
}

void vswitch_detach(struct vswitch *sw, int port)
{
	spin_lock(&sw->lock);
	l2_detach(&sw->table, (unsigned)port);
	sw->port[port].rx = NULL;
	spin_unlock(&sw->lock);
}

void vswitch_send(struct vswitch *sw, int port, const uint8_t *frame, uint32_t len)
{
	spin_lock(&sw->lock);
	uint32_t to = l2_forward(&sw->table, (unsigned)port, frame, len);
	for (unsigned p = 0; to; p++, to >>= 1)
		if ((to & 1) && sw->port[p].rx)
			sw->port[p].rx(sw->port[p].ctx, frame, len);
	spin_unlock(&sw->lock);
}
