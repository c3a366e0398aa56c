/* Per-VM I/O bus: devices register port (or MMIO) ranges with read/write callbacks;
 * the exit dispatcher routes each access with a binary search over a sorted
 * array built when the VM is created (no lock on the exit path), after a
 * look at the range the previous access hit. */
#ifndef KEEL_IOBUS_H
#define KEEL_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BUS_MAX_RANGES 16

struct vm;

struct io_range {
	uint64_t base, len;
	void *dev;
	uint32_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint32_t value);
};

struct io_bus {
	unsigned n;
	/* The index the last access found: a guest uses one device many times
	 * in a row (a UART's status and data ports). Any vCPU may overwrite it
	 * at any time, so it is a hint, checked against the range before use. */
	unsigned hint;
	struct io_range r[IO_BUS_MAX_RANGES];
};

/* Returns 0, or -1 when the range overlaps another or the bus is full. */
int io_bus_register(struct io_bus *bus, const struct io_range *range);
/* False when no device claims ADDR. */
bool io_bus_claims(const struct io_bus *bus, uint64_t addr);
bool io_bus_read(struct io_bus *bus, uint64_t addr, unsigned size, uint32_t *value);
bool io_bus_write(struct io_bus *bus, uint64_t addr, unsigned size, uint32_t value);

#endif
