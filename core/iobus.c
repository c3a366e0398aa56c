/* Port/MMIO bus: a sorted array of ranges, binary search on every access. */
#include <keel/iobus.h>

static const struct io_range *io_bus_find(const struct io_bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct io_range *r = &bus->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return 0;
}

bool io_bus_claims(const struct io_bus *bus, uint64_t addr)
{
	return io_bus_find(bus, addr) != 0;
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
