/* Port/MMIO bus: a sorted array of ranges; the range of the previous access
 * is tried first, then a binary search. */
#include <keel/iobus.h>

static bool in_range(const struct io_range *r, uint64_t addr)
{
	return addr - r->base < r->len; /* below base wraps to a huge offset */
}

/* Index of the range holding ADDR, or bus->n. */
static unsigned io_bus_search(const struct io_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct io_range *r = &bus->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (!in_range(r, addr))
			lo = mid + 1;
		else
			return mid;
	}
	return bus->n;
}

static const struct io_range *io_bus_find(struct io_bus *bus, uint64_t addr)
{
	unsigned i = __atomic_load_n(&bus->hint, __ATOMIC_RELAXED);

	if (i < bus->n && in_range(&bus->r[i], addr))
		return &bus->r[i];
	i = io_bus_search(bus, addr);
	if (i == bus->n)
		return 0;
	__atomic_store_n(&bus->hint, i, __ATOMIC_RELAXED);
	return &bus->r[i];
}

bool io_bus_claims(const struct io_bus *bus, uint64_t addr)
{
	return io_bus_search(bus, addr) != bus->n;
}

int io_bus_register(struct io_bus *bus, const struct io_range *range)
{
	unsigned i;

	if (bus->n >= IO_BUS_MAX_RANGES || !range->len || range->base + range->len < range->base)
		return -1;
	for (i = 0; i < bus->n; i++) {
		const struct io_range *r = &bus->r[i];
		if (range->base < r->base + r->len && r->base < range->base + range->len)
			return -1;
		if (range->base < r->base)
			break;
	}
	for (unsigned j = bus->n; j > i; j--)
		bus->r[j] = bus->r[j - 1];
	bus->r[i] = *range;
	bus->n++;
	return 0;
}

bool io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size, uint32_t *value)
{
	const struct io_range *r = io_bus_find(bus, addr);

	if (!r || !r->read)
		return false;
	*value = r->read(r->dev, addr - r->base, size);
	return true;
}

bool io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint32_t value)
{
	const struct io_range *r = io_bus_find(bus, addr);

	if (!r)
		return false;
	if (r->write)
		r->write(r->dev, addr - r->base, size, value);
	return true;
}
