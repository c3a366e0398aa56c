/* The MSI-X table and pending bit array of a PCI function (see
 * include/keel/msi.h for the model). Entries are kept as read: reserved
 * bits are dropped on write, so a read needs no masking. */
#include <stdbool.h>
#include <stdint.h>

#include <keel/msi.h>
#include <keel/string.h>

_Static_assert(MSIX_MAX_VECTORS <= 32, "the PBA is one dword");

static uint16_t cap_ctrl(const uint8_t *cap)
{
	return (uint16_t)(cap[MSIX_CAP_CTRL] | cap[MSIX_CAP_CTRL + 1] << 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void msix_cap_init(uint8_t *cap, unsigned nvec, uint8_t next, unsigned bir, uint32_t table,
		   uint32_t pba)
{
	cap[0] = MSIX_CAP_ID;
	cap[1] = next;
	cap[MSIX_CAP_CTRL] = (uint8_t)(nvec - 1); /* table size N - 1, bits 10:0 */
	cap[MSIX_CAP_CTRL + 1] = (uint8_t)(((nvec - 1) >> 8) & 7);
	put32(cap + 4, (table & ~7u) | (bir & 7));
	put32(cap + 8, (pba & ~7u) | (bir & 7));
}

uint8_t msix_cap_wmask(unsigned off)
{
	return off == MSIX_CAP_CTRL + 1 ? (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8 : 0;
}

bool msix_cap_enabled(const uint8_t *cap)
{
	return cap_ctrl(cap) & MSIX_CTRL_ENABLE;
}

bool msix_cap_open(const uint8_t *cap)
{
	return (cap_ctrl(cap) & (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK)) == MSIX_CTRL_ENABLE;
}

void msix_init(struct msix *m, unsigned nvec)
{
	memset(m, 0, sizeof(*m));
	m->nvec = nvec < 1 ? 1 : nvec > MSIX_MAX_VECTORS ? MSIX_MAX_VECTORS : nvec;
	for (unsigned v = 0; v < m->nvec; v++)
		m->entry[v].vctrl = MSIX_VCTRL_MASK;
}

uint32_t msix_read(const struct msix *m, uint32_t off)
{
	const struct msix_entry *e;

	if (off / MSIX_ENTRY_SIZE >= m->nvec)
		return 0;
	e = &m->entry[off / MSIX_ENTRY_SIZE];
	switch (off % MSIX_ENTRY_SIZE) {
	case 0:
		return e->addr_lo;
	case 4:
		return e->addr_hi;
	case 8:
		return e->data;
	case 12:
		return e->vctrl;
	default: /* not a dword: the caller's contract */
		return 0;
	}
}

void msix_write(struct msix *m, uint32_t off, uint32_t value)
{
	struct msix_entry *e;

	if (off / MSIX_ENTRY_SIZE >= m->nvec)
		return;
	e = &m->entry[off / MSIX_ENTRY_SIZE];
	switch (off % MSIX_ENTRY_SIZE) {
	case 0:
		e->addr_lo = value & ~3u;
		break;
	case 4:
		e->addr_hi = value;
		break;
	case 8:
		e->data = value;
		break;
	case 12:
		e->vctrl = value & MSIX_VCTRL_MASK;
		break;
	default:
		break;
	}
}

uint32_t msix_pba_read(const struct msix *m, uint32_t off)
{
	return off == 0 ? m->pba : 0;
}

static void message(const struct msix *m, unsigned v, uint64_t *addr, uint32_t *data)
{
	*addr = (uint64_t)m->entry[v].addr_hi << 32 | m->entry[v].addr_lo;
	*data = m->entry[v].data;
}

static bool may_send(const struct msix *m, unsigned v, bool open)
{
	return open && !(m->entry[v].vctrl & MSIX_VCTRL_MASK);
}

bool msix_fire(struct msix *m, unsigned v, bool open, uint64_t *addr, uint32_t *data)
{
	if (v >= m->nvec)
		return false;
	if (!may_send(m, v, open)) {
		m->pba |= 1u << v;
		return false;
	}
	message(m, v, addr, data);
	return true;
}

bool msix_take_pending(struct msix *m, bool open, uint64_t *addr, uint32_t *data)
{
	if (!open)
		return false;
	for (unsigned v = 0; v < m->nvec; v++) {
		if (((m->pba >> v) & 1) && may_send(m, v, open)) {
			m->pba &= ~(1u << v);
			message(m, v, addr, data);
			return true;
		}
	}
	return false;
}

bool msix_state_valid(const struct msix *m)
{
	if (m->nvec < 1 || m->nvec > MSIX_MAX_VECTORS)
		return false;
	if (m->nvec < 32 && (m->pba >> m->nvec))
		return false;
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
		const struct msix_entry *e = &m->entry[v];

		if (v >= m->nvec ? e->addr_lo || e->addr_hi || e->data || e->vctrl
				 : (e->addr_lo & 3) || (e->vctrl & ~MSIX_VCTRL_MASK))
			return false;
	}
	return true;
}
