/* Forwarding decisions of the virtual switch (include/keel/l2_table.h). */
#include <keel/l2_table.h>
#include <keel/string.h>

void l2_init(struct l2_table *t)
{
	memset(t, 0, sizeof(*t));
}

int l2_attach(struct l2_table *t)
{
	for (unsigned p = 0; p < L2_MAX_PORTS; p++) {
		if (!(t->attached & (1u << p))) {
			t->attached |= 1u << p;
			return (int)p;
		}
	}
	return -1;
}

void l2_detach(struct l2_table *t, unsigned port)
{
	if (port >= L2_MAX_PORTS)
		return;
	t->attached &= ~(1u << port);
	for (unsigned i = 0; i < L2_TABLE_SIZE; i++)
		if (t->e[i].used && t->e[i].port == port)
			t->e[i].used = 0;
}

static struct l2_entry *lookup(struct l2_table *t, const uint8_t *mac)
{
	for (unsigned i = 0; i < L2_TABLE_SIZE; i++)
		if (t->e[i].used && !memcmp(t->e[i].mac, mac, 6))
			return &t->e[i];
	return NULL;
}

static void learn(struct l2_table *t, const uint8_t *mac, unsigned port)
{
	struct l2_entry *e = lookup(t, mac), *victim = &t->e[0];

	if (!e) {
		for (unsigned i = 0; i < L2_TABLE_SIZE; i++) {
			if (!t->e[i].used) {
				victim = &t->e[i];
				break;
			}
			if (t->e[i].age < victim->age)
				victim = &t->e[i];
		}
		e = victim;
		memcpy(e->mac, mac, 6);
		e->used = 1;
	}
	e->port = (uint8_t)port;
	e->age = ++t->clock;
}

uint32_t l2_forward(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len)
{
	const uint8_t *dst = frame, *src = frame + 6;

	if (port >= L2_MAX_PORTS || !(t->attached & (1u << port)) || len < L2_ETH_MIN)
		return 0;
	if (!(src[0] & 1)) /* a multicast source is bogus: never learned */
		learn(t, src, port);
	if (!(dst[0] & 1)) {
		const struct l2_entry *e = lookup(t, dst);
		if (e && (t->attached & (1u << e->port)))
			return e->port == port ? 0 : 1u << e->port;
	}
	return t->attached & ~(1u << port);
}
