/* Forwarding decisions of the virtual switch (include/keel/l2_table.h). */
#include <keel/l2_table.h>
#include <keel/string.h>

#define ETH_TYPE_OFF 12
#define TPID_8021AD 0x88A8
#define TPID_QINQ_OLD 0x9100
#define VID_MASK 0x0FFF
#define VID_RESERVED 0x0FFF

void l2_init(struct l2_table *t)
{
	memset(t, 0, sizeof(*t));
}

static int attach(struct l2_table *t, uint16_t vlan, bool trunk)
{
	for (unsigned p = 0; p < L2_MAX_PORTS; p++) {
		if (!(t->attached & (1u << p))) {
			t->attached |= 1u << p;
			if (trunk)
				t->trunks |= 1u << p;
			t->vlan[p] = vlan;
			return (int)p;
		}
	}
	return -1;
}

int l2_attach(struct l2_table *t)
{
	return attach(t, 0, false);
}

int l2_attach_access(struct l2_table *t, uint16_t vlan)
{
	return vlan > L2_VLAN_MAX ? -1 : attach(t, vlan, false);
}

int l2_attach_trunk(struct l2_table *t)
{
	return attach(t, 0, true);
}

void l2_detach(struct l2_table *t, unsigned port)
{
	if (port >= L2_MAX_PORTS)
		return;
	t->attached &= ~(1u << port);
	t->trunks &= ~(1u << port);
	t->vlan[port] = 0;
	for (unsigned i = 0; i < L2_TABLE_SIZE; i++)
		if (t->e[i].used && t->e[i].port == port)
			t->e[i].used = 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

bool l2_frame_tagged(const uint8_t *frame, uint32_t len)
{
	return len >= L2_ETH_MIN + L2_VLAN_TAG_LEN && be16(frame + ETH_TYPE_OFF) == L2_TPID_8021Q;
}

/* The VLAN of FRAME as PORT sent it, or -1 to drop it. */
static int classify(const struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len)
{
	uint16_t type = be16(frame + ETH_TYPE_OFF);

	if (t->trunks & (1u << port)) {
		if (type != L2_TPID_8021Q)
			return 0;
		if (len < L2_ETH_MIN + L2_VLAN_TAG_LEN)
			return -1; /* a tag cut short */
		uint16_t vid = be16(frame + ETH_TYPE_OFF + 2) & VID_MASK;
		return vid == VID_RESERVED ? -1 : vid;
	}
	if (type == L2_TPID_8021Q || type == TPID_8021AD || type == TPID_QINQ_OLD)
		return -1; /* no VLAN hopping from an access port */
	return t->vlan[port];
}

static struct l2_entry *lookup(struct l2_table *t, uint16_t vlan, const uint8_t *mac)
{
	for (unsigned i = 0; i < L2_TABLE_SIZE; i++)
		if (t->e[i].used && t->e[i].vlan == vlan && !memcmp(t->e[i].mac, mac, 6))
			return &t->e[i];
	return NULL;
}

static void learn(struct l2_table *t, uint16_t vlan, const uint8_t *mac, unsigned port)
{
	struct l2_entry *e = lookup(t, vlan, mac), *victim = &t->e[0];

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
		e->vlan = vlan;
		e->used = 1;
	}
	e->port = (uint8_t)port;
	e->age = ++t->clock;
}

/* The ports VLAN reaches: its access ports and every trunk. */
static uint32_t members(const struct l2_table *t, uint16_t vlan)
{
	uint32_t m = t->trunks;

	for (unsigned p = 0; p < L2_MAX_PORTS; p++)
		if ((t->attached & ~t->trunks & (1u << p)) && t->vlan[p] == vlan)
			m |= 1u << p;
	return m;
}

uint32_t l2_forward_vlan(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len,
			 uint16_t *vlan_out)
{
	const uint8_t *dst = frame, *src = frame + 6;

	if (port >= L2_MAX_PORTS || !(t->attached & (1u << port)) || len < L2_ETH_MIN)
		return 0;
	int vlan = classify(t, port, frame, len);
	if (vlan < 0)
		return 0;
	if (vlan_out)
		*vlan_out = (uint16_t)vlan;
	if (!(src[0] & 1)) /* a multicast source is bogus: never learned */
		learn(t, (uint16_t)vlan, src, port);
	if (!(dst[0] & 1)) {
		const struct l2_entry *e = lookup(t, (uint16_t)vlan, dst);
		if (e && (t->attached & (1u << e->port)))
			return e->port == port ? 0 : 1u << e->port;
	}
	return members(t, (uint16_t)vlan) & ~(1u << port);
}

uint32_t l2_forward(struct l2_table *t, unsigned port, const uint8_t *frame, uint32_t len)
{
	return l2_forward_vlan(t, port, frame, len, NULL);
}

uint32_t l2_vlan_untag(const uint8_t *frame, uint32_t len, uint8_t *out)
{
	if (!l2_frame_tagged(frame, len)) {
		memmove(out, frame, len);
		return len;
	}
	memmove(out, frame, ETH_TYPE_OFF);
	memmove(out + ETH_TYPE_OFF, frame + ETH_TYPE_OFF + L2_VLAN_TAG_LEN,
		len - ETH_TYPE_OFF - L2_VLAN_TAG_LEN);
	return len - L2_VLAN_TAG_LEN;
}

uint32_t l2_vlan_tag(const uint8_t *frame, uint32_t len, uint16_t vlan, uint8_t *out,
		     uint32_t out_size)
{
	uint32_t skip = l2_frame_tagged(frame, len) ? L2_VLAN_TAG_LEN : 0;
	uint32_t new_len = len - skip + L2_VLAN_TAG_LEN;

	if (len < L2_ETH_MIN || new_len > out_size || vlan > L2_VLAN_MAX)
		return 0;
	memcpy(out + ETH_TYPE_OFF + L2_VLAN_TAG_LEN, frame + ETH_TYPE_OFF + skip,
	       len - ETH_TYPE_OFF - skip);
	memcpy(out, frame, ETH_TYPE_OFF);
	out[ETH_TYPE_OFF] = L2_TPID_8021Q >> 8;
	out[ETH_TYPE_OFF + 1] = L2_TPID_8021Q & 0xFF;
	out[ETH_TYPE_OFF + 2] = (uint8_t)(vlan >> 8); /* priority 0, DEI 0 */
	out[ETH_TYPE_OFF + 3] = (uint8_t)vlan;
	return new_len;
}
